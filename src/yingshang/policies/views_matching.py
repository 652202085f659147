"""Pages of 政策匹配: the 政策计算器 (an enterprise's eligible, near-miss and undecidable items, the form
to supply a missing figure, push settings), the enterprises matched by an item, and the policy section of
the enterprise page.

Views parse input, check access, call ONE action and render; a DomainError comes back as a message next
to the input, nothing written.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from yingshang.core.access import access_enterprise, access_staff, scope_prefix
from yingshang.core.errors import DomainError
from yingshang.core.models import Region, RegionLevel, Role
from yingshang.enterprises.models import Enterprise
from yingshang.enterprises.views import register_detail_section
from yingshang.policies import matching
from yingshang.policies.actions_matching import (
    SUPPLIABLE,
    access_subscription,
    do_supply_figures,
    do_update_subscription,
    subscription_of,
)
from yingshang.policies.models import BenefitType, PolicyItem

log = logging.getLogger("yingshang.policies")
PER_PAGE = 50
COUNTY_DIGITS = 6  # the breakdown's county key: the first 6 digits of a region code
# Figures an enterprise user may supply itself (the rest are the register keepers' business).
SELF_SUPPLIABLE = {"registered_capital", "employees", "operating_revenue", "total_assets", "rd_expense"}
INPUT_KIND = {"established_on": "date", "employees": "integer", "tax_credit_rating": "select",
              "taxpayer_kind": "select"}
CHOICES = {"tax_credit_rating": [(c, c) for c in "ABMCD"],
           "taxpayer_kind": [("general", "一般纳税人"), ("small_scale", "小规模纳税人")]}


# ---------------------------------------------------------------- 政策计算器
def _enterprise(user, uscc: str) -> Enterprise:
    ent = get_object_or_404(Enterprise.objects.select_related("region"), uscc=uscc.strip().upper())
    access_enterprise(user, ent)
    return ent


def _as_of(request: HttpRequest) -> tuple[dt.date | None, str]:
    text = (request.GET.get("as_of") or "").strip()
    if not text:
        return None, ""
    try:
        return dt.date.fromisoformat(text), ""
    except ValueError:
        return None, f"评估日期“{text[:20]}”格式有误,应为 YYYY-MM-DD;已按今天计算"


def _can_supply(user, field: str) -> bool:
    if field not in SUPPLIABLE:
        return False
    return user.role != Role.ENTERPRISE or field in SELF_SUPPLIABLE


def _supply_fields(user, entry: matching.Entry, errors: dict) -> list[dict]:
    """The inline inputs for an undecidable entry: one per missing figure, with its error if any."""
    return [{**fig, "input": INPUT_KIND.get(fig["field"], "decimal"), "choices": CHOICES.get(fig["field"], []),
             "editable": _can_supply(user, fig["field"]), "error": errors.get(fig["field"], "")}
            for fig in entry.missing]


def _unknown_rows(user, calc: matching.Calculator, errors: dict) -> list[dict]:
    rows = []
    for entry in calc.unknown:
        mine = errors.get(str(entry.item.pk), {})
        fields = _supply_fields(user, entry, mine)
        shown = {f["field"] for f in fields}
        general = "；".join(msg for key, msg in mine.items() if key not in shown)
        rows.append({"entry": entry, "fields": fields, "error": general,
                     "editable": any(f["editable"] for f in fields)})
    return rows


def calculator_context(request: HttpRequest, ent: Enterprise, *, errors: dict | None = None,
                       as_of: dt.date | None = None) -> dict:
    calc = matching.calculator(ent, as_of)
    unknown = _unknown_rows(request.user, calc, errors or {})
    sub = subscription_of(ent)
    return {"ent": ent, "calc": calc, "unknown_rows": unknown, "errors": errors or {},
            "subscription": sub, "benefit_types": BenefitType.choices,
            "can_edit_subscription": _allowed(access_subscription, request.user, ent),
            "own": request.user.role == Role.ENTERPRISE}


def _allowed(check, *args) -> bool:
    try:
        check(*args)
    except PermissionDenied:
        return False
    return True


@login_required
def calculator_home(request: HttpRequest) -> HttpResponse:
    """Enterprise users: their own calculator; staff: look an enterprise up by its USCC."""
    user = request.user
    if user.role == Role.ENTERPRISE and user.enterprise_id:
        return calculator_page(request, user.enterprise.uscc)
    if user.role == Role.ENTERPRISE:
        raise PermissionDenied("账号未关联企业,无法使用政策计算器")
    access_staff(user)
    uscc = (request.GET.get("uscc") or "").strip().upper()
    if uscc:
        return redirect("policies:calculator_for", uscc=uscc)
    return render(request, "policies/matching/lookup.html", {})


@login_required
def calculator_page(request: HttpRequest, uscc: str) -> HttpResponse:
    ent = _enterprise(request.user, uscc)
    as_of, problem = _as_of(request)
    if problem:
        messages.error(request, problem)
    return render(request, "policies/matching/calculator.html", calculator_context(request, ent, as_of=as_of))


@login_required
@require_POST
def calculator_supply(request: HttpRequest, uscc: str) -> HttpResponse:
    """Save the figures typed into an undecidable item's form, then answer anew (HTMX: the calculator body)."""
    ent = _enterprise(request.user, uscc)
    item_id = request.POST.get("item", "")
    values = {k: request.POST.get(k, "").strip() for k in SUPPLIABLE if k in request.POST}
    errors = {}
    try:
        do_supply_figures(request.user, ent, values)
    except DomainError as exc:
        errors = {item_id: exc.fields or {"": exc.message}, "message": exc.message}
    except PermissionDenied as exc:
        message = str(exc) or "无权修改该企业数据"
        errors = {item_id: {"": message}, "message": message}
    else:
        ent.refresh_from_db()
    if request.headers.get("HX-Request") != "true":
        if not errors:
            messages.success(request, "已保存补充的数据,计算结果已更新")
            return redirect("policies:calculator_for", uscc=ent.uscc)
        messages.error(request, errors["message"])
    ctx = calculator_context(request, ent, errors=errors)
    ctx["saved"] = not errors
    template = "policies/matching/_calculator_body.html" if request.headers.get("HX-Request") == "true" \
        else "policies/matching/calculator.html"
    return render(request, template, ctx)


@login_required
@require_POST
def calculator_subscription(request: HttpRequest, uscc: str) -> HttpResponse:
    ent = _enterprise(request.user, uscc)
    post = request.POST
    try:
        do_update_subscription(request.user, ent, opted_out=post.get("opted_out") == "1", sms=post.get("sms") == "1",
                               email=post.get("email") == "1", benefit_types=post.getlist("benefit_types"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "推送设置已保存")
    return redirect(reverse("policies:calculator_for", args=[ent.uscc]) + "#subscription")


# ---------------------------------------------------------------- the enterprises of an item
def _regions_in_scope(user) -> list[Region]:
    scope = scope_prefix(user)
    levels = (RegionLevel.CITY, RegionLevel.COUNTY)
    return list(Region.objects.filter(code__startswith=scope, level__in=levels).order_by("code")) if scope \
        else list(Region.objects.filter(level__in=levels).order_by("code"))


def _region_prefix(user, code: str) -> tuple[str, str]:
    """(prefix to filter by, selected code); a region outside the scope falls back to the whole scope."""
    scope = scope_prefix(user)
    region = Region.objects.filter(code=code).first() if code else None
    if region is None or (scope and not region.prefix.startswith(scope)):
        return scope, ""
    return region.prefix, region.code


@login_required
def item_matches_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff: the enterprises eligible / one condition away / undecidable for an item, by region, paged."""
    access_staff(request.user)
    item = get_object_or_404(PolicyItem.objects.select_related("document__region", "department"), pk=pk)
    status = request.GET.get("status") if request.GET.get("status") in matching.STATUSES else "eligible"
    prefix, region_code = _region_prefix(request.user, (request.GET.get("region") or "").strip())
    page = _page_number(request.GET.get("page"))
    rows, total = matching.item_matches(item, status, prefix, page, PER_PAGE)
    pages = max(1, math.ceil(total / PER_PAGE))
    base = {"status": status, "region": region_code}
    ctx = {"item": item, "status": status, "rows": rows, "total": total, "page": page, "pages": pages,
           "tabs": [(s, matching.STATUS_LABELS[s], urlencode({**base, "status": s})) for s in matching.STATUSES],
           "regions": _regions_in_scope(request.user), "region_code": region_code,
           "prev_query": urlencode({**base, "page": page - 1}) if page > 1 else "",
           "next_query": urlencode({**base, "page": page + 1}) if page < pages else "",
           "counts": _counts(item, scope_prefix(request.user))}
    return render(request, "policies/matching/item_matches.html", ctx)


def _page_number(text) -> int:
    try:
        return min(max(int(text or 1), 1), 10**6)
    except ValueError:
        return 1


def _counts(item: PolicyItem, scope: str = "") -> dict:
    """Stored counts per status, limited to the user's region scope (county-level staff see their county)."""
    from django.db.models import Sum

    results = item.match_results.filter(revision__gt=0)
    if not scope:
        agg = results.aggregate(eligible=Sum("eligible_count"), near_miss=Sum("near_miss_count"),
                                unknown=Sum("unknown_count"))
        return {k: v or 0 for k, v in agg.items()}
    if len(scope) <= COUNTY_DIGITS:  # a county or wider: the stored breakdown by county is exact
        out = dict.fromkeys(matching.STATUSES, 0)
        for counties in results.values_list("breakdown__county", flat=True):
            for code, counts in (counties or {}).items():
                if code.startswith(scope):
                    for status in out:
                        out[status] += int((counts or {}).get(status, 0))
        return out
    # Narrower than a county (a township): intersect the stored ids with the enterprises in the scope.
    return {status: matching.item_matches(item, status, scope, 1, 0)[1] for status in matching.STATUSES}


# ---------------------------------------------------------------- the enterprise page
@register_detail_section
def policy_section(user, ent: Enterprise) -> dict | None:
    """惠企政策 on the enterprise page: how many items it qualifies for and their estimated total."""
    if not PolicyItem.objects.published().exists():
        return None
    try:
        calc = matching.calculator(ent)
    except Exception:  # a broken engine must not take the enterprise page down with it
        log.exception("企业 %s 的政策匹配失败", ent.pk)
        return None
    return {"template": "policies/matching/_enterprise_section.html", "title": "惠企政策",
            "eligible": len(calc.eligible), "near_miss": len(calc.near_miss), "unknown": len(calc.unknown),
            "total": calc.total, "top": calc.eligible[:3],
            "link": reverse("policies:calculator_for", args=[ent.uscc])}
