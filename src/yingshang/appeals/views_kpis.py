"""Pages: the 诉求 KPI page (table, bar and trend charts), the cases behind a figure, and the monthly 通报
draft with its XLSX/PDF downloads.

Views parse the query string, check access, call one query or action, render. Bad input is answered
with the page and a Chinese message naming the field (status 400); a role without access gets 403.
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from yingshang.appeals import bulletin, bulletin_export, kpi_access, kpi_report, kpis
from yingshang.appeals.kpi_report import RATE_KPIS, pct
from yingshang.core.errors import DomainError

PER_PAGE = 50
MAX_PARAM = 40  # no valid value is longer; a longer one is echoed back cut short
PARTS = {"numerator": "分子", "denominator": "分母"}
FIELD_LABELS = {"period": "统计周期", "group_by": "分组方式", "unit": "趋势单位", "key": "单位", "kpi": "指标",
                "part": "分子/分母", "format": "导出格式"}


def _param(request: HttpRequest, name: str, default: str = "") -> str:
    return (request.GET.get(name) or default).strip()[:MAX_PARAM]


def _error(exc: DomainError) -> dict:
    """The page's error block: the message and each field's reason."""
    return {"error": exc.plain_message,
            "error_fields": [(FIELD_LABELS.get(name, name), reason) for name, reason in exc.fields.items()]}


# ---------------------------------------------------------------- the KPI page
def _cases_url(period: str, group_by: str, key: str, kpi: str, part: str) -> str:
    query = urlencode({"period": period, "group_by": group_by, "key": key, "kpi": kpi, "part": part})
    return f"{reverse('appeals:kpi_cases')}?{query}"


def _cells(report: kpi_report.KpiReport, row: kpis.Row, links: bool = True) -> list[dict]:
    """The eight figures of a row, each with the links to the cases behind its numerator and denominator."""
    cells = []
    for kpi in RATE_KPIS:
        ratio = getattr(row, kpi)
        url = (lambda part, k=kpi: _cases_url(report.period, report.group_by, row.key, k, part)) if links else None
        cells.append({"kpi": kpi, "label": kpis.KPI_LABELS[kpi], "pct": pct(ratio), "num": ratio.numerator,
                      "den": ratio.denominator, "num_url": url and url("numerator"),
                      "den_url": url and url("denominator")})
    url = _cases_url(report.period, report.group_by, row.key, "handling", "denominator") if links else None
    cells.append({"kpi": "handling", "label": kpis.KPI_LABELS["handling"], "avg": row.avg_handling_workdays,
                  "den": row.handled, "den_url": url})
    return cells


def _report_context(report: kpi_report.KpiReport) -> dict:
    rows = [{"key": r.key, "label": r.label, "cells": _cells(report, r)} for r in report.rows]
    chart = {"bars": report.bars, "trend": report.trend, "labels": kpis.KPI_LABELS, "rates": list(RATE_KPIS)}
    return {"report": report, "rows": rows, "total": {"label": "合计", "cells": _cells(report, report.total, False)},
            "chart": chart, "units": [(r.key, r.label) for r in report.rows]}


@login_required
def kpi_page(request: HttpRequest) -> HttpResponse:
    """Eight figures per unit for a month or quarter, the comparison bars and a six-month trend."""
    kpi_access.access_kpis(request.user)
    today = timezone.localdate()
    period = _param(request, "period", kpi_report.previous_month(today))
    group_by, unit = _param(request, "group_by", "department"), _param(request, "unit")
    ctx = {"period": period, "group_by": group_by, "unit": unit, "groups": kpi_report.GROUP_LABELS,
           "labels": [kpis.KPI_LABELS[k] for k in kpis.KPIS],
           "dept_bound": kpi_access.department_bound(request.user),
           "period_choices": kpi_report.period_choices(today, period if kpi_report.valid_period(period) else "")}
    try:
        report = kpi_report.kpi_report(request.user, period, group_by, unit)
    except DomainError as exc:
        return render(request, "appeals/kpis/page.html", {**ctx, **_error(exc)}, status=400)
    ctx.update(_report_context(report), period_label=kpi_report.period_label(period))
    return render(request, "appeals/kpis/page.html", ctx)


# ---------------------------------------------------------------- the cases behind a figure
@login_required
def kpi_cases_page(request: HttpRequest) -> HttpResponse:
    """The cases counted in one unit's figure (numerator or denominator), each linking to its case page."""
    kpi_access.access_kpis(request.user)
    p = {name: _param(request, name, default) for name, default in
         (("period", ""), ("group_by", "department"), ("key", ""), ("kpi", ""), ("part", "denominator"))}
    ctx = {**p, "kpi_label": kpis.KPI_LABELS.get(p["kpi"], p["kpi"]), "part_label": PARTS.get(p["part"], p["part"]),
           "back": f"{reverse('appeals:kpis')}?{urlencode({'period': p['period'], 'group_by': p['group_by']})}"}
    try:
        qs = kpi_report.kpi_cases(request.user, p["period"], p["group_by"], p["key"], p["kpi"], p["part"])
    except DomainError as exc:
        return render(request, "appeals/kpis/cases.html", {**ctx, **_error(exc)}, status=400)
    qs = qs.select_related("department", "region").order_by("-created_at", "-id")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in p.items()})
    ctx.update(page=page, query=query, unit_label=kpi_report.unit_label(p["group_by"], p["key"]),
               period_label=kpi_report.period_label(p["period"]))
    return render(request, "appeals/kpis/cases.html", ctx)


# ---------------------------------------------------------------- the 通报 draft
def _bulletin_ctx(request: HttpRequest) -> dict:
    today = timezone.localdate()
    period = _param(request, "period", kpi_report.previous_month(today))
    current = period if bulletin.is_month(period) else ""
    return {"period": period, "period_choices": kpi_report.period_choices(today, current, quarters=0)}


@login_required
def bulletin_page(request: HttpRequest) -> HttpResponse:
    """The month's 通报 draft in HTML with the XLSX and PDF download buttons."""
    kpi_access.access_bulletin(request.user)
    ctx = _bulletin_ctx(request)
    try:
        draft = bulletin.bulletin_for(request.user, ctx["period"])
    except DomainError as exc:
        return render(request, "appeals/kpis/bulletin.html", {**ctx, **_error(exc)}, status=400)
    query = urlencode({"period": draft.period})
    ctx.update(bulletin_export.context(draft), links=True,
               xlsx_url=f"{reverse('appeals:bulletin_xlsx')}?{query}", pdf_url=f"{reverse('appeals:bulletin_pdf')}?{query}")
    return render(request, "appeals/kpis/bulletin.html", ctx)


def _download(request: HttpRequest, fmt: str) -> HttpResponse:
    kpi_access.access_bulletin(request.user)
    ctx = _bulletin_ctx(request)
    try:
        export = bulletin_export.do_export_bulletin(request.user, ctx["period"], fmt)
    except DomainError as exc:
        return render(request, "appeals/kpis/bulletin.html", {**ctx, **_error(exc)}, status=400)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = bulletin_export.disposition(export)
    return response


@login_required
def bulletin_xlsx(request: HttpRequest) -> HttpResponse:
    """The draft as an XLSX workbook (audited export)."""
    return _download(request, "xlsx")


@login_required
def bulletin_pdf(request: HttpRequest) -> HttpResponse:
    """The draft as an A4 PDF (audited export)."""
    return _download(request, "pdf")
