"""Pages: the public board (诉求公开栏) — disclosed cases, redacted by ``public.py``, searchable, no login.

Nothing here reads contact data or the enterprise's identity into a template: rows carry only the
fields listed below, and every free text goes through ``public.scrubber`` / ``public.public_out``.
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from yingshang.appeals import public
from yingshang.appeals.numbering import PREFIX as NUMBER_PREFIX
from yingshang.appeals.models import Appeal, Category, Result, Status
from yingshang.appeals.queries import label, page_number, page_of
from yingshang.core.models import Region, RegionLevel

PER_PAGE = 20
MAX_Q = 50


def _row(a: Appeal) -> dict:
    """One board row: redacted title and the non-personal facts of the case."""
    return {"number": a.number, "title": public.scrubber(a)(a.title), "category": label(Category, a.category),
            "region": a.region.name, "department": a.department.name if a.department_id else "",
            "status": label(Status, a.status), "status_code": a.status, "created_at": a.created_at,
            "result": label(Result, a.result)}


def _filters(request: HttpRequest, counties) -> dict:
    """The query string's filters; an unknown category or county is ignored (and said so)."""
    g = request.GET
    q, category, county = g.get("q", "").strip()[:MAX_Q], g.get("category", ""), g.get("county", "")
    notes = []
    if category and category not in Category.values:
        notes.append("类别无效,已忽略")
        category = ""
    if county and county not in {c.code for c in counties}:
        notes.append("县区无效,已忽略")
        county = ""
    return {"q": q, "category": category, "county": county, "notes": notes}


def _query(f: dict):
    qs = public.public_qs()
    if f["category"]:
        qs = qs.filter(category=f["category"])
    if f["county"]:
        qs = qs.filter(region__code__startswith=f["county"])
    if f["q"].upper().startswith(NUMBER_PREFIX):  # a case number (the confirmation page tells people to keep it)
        qs = qs.filter(number__istartswith=f["q"])
    elif f["q"]:
        qs = public.search(qs, f["q"])
    return qs.order_by("-created_at", "-id")


@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """诉求公开栏: disclosed cases with search (q), category and county filters, paginated."""
    counties = list(Region.objects.filter(level=RegionLevel.COUNTY).order_by("code"))
    f = _filters(request, counties)
    qs = _query(f)
    result = page_of(qs, page_number(request.GET.get("page")), _row, per_page=PER_PAGE)
    if result["page"] > result["pages"]:  # past the end: the last page
        result = page_of(qs, result["pages"], _row, per_page=PER_PAGE)
    base = {k: f[k] for k in ("q", "category", "county") if f[k]}
    ctx = {"f": f, "result": result, "rows": result["items"], "counties": counties,
           "categories": Category.choices, "query": urlencode(base)}
    partial = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "board-list"
    return render(request, "appeals/public/_list.html" if partial else "appeals/public/board.html", ctx)


@require_GET
def board_detail(request: HttpRequest, number: str) -> HttpResponse:
    """One disclosed case: redacted content, public steps, result, reply and satisfaction."""
    appeal = public.public_qs().filter(number=number[:24]).first()
    if appeal is None:
        raise Http404("该诉求不存在或未公开")
    return render(request, "appeals/public/detail.html", {"case": public.public_out(appeal)})
