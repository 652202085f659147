"""Web pages of the enterprise register: the filtered list (keyset pagination, approximate totals)
and the enterprise page (一企一档) with masked personal data and the audit history."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Callable
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from yingshang.core.access import (
    REGISTER_READERS,
    REGISTER_WRITERS,
    access_enterprise,
    in_scope,
    scope_prefix,
    visible_enterprises,
)
from yingshang.core.errors import shorten
from yingshang.core.models import AuditLog, Region, RegionLevel, Role
from yingshang.enterprises import industries, personal
from yingshang.enterprises.models import (
    FIGURE_FIELDS,
    FIGURE_LABELS,
    PERSONAL_FIELDS,
    CertificationKind,
    CreditListing,
    CreditListKind,
    Enterprise,
    EnterpriseStatus,
    Size,
    Tag,
)

PAGE_SIZE = 20
EXACT_COUNT_LIMIT = 1000  # up to this many matches the total is counted exactly
ESTIMATE_TRUSTED = 5 * EXACT_COUNT_LIMIT  # planner estimates above this skip the bounded count
AUDIT_PAGE_SIZE = 10
UNKNOWN_SIZE = "unknown"
OPTIONS_TTL = 600  # seconds: the county list of a scope changes only with the region table


# ---------------------------------------------------------------- filters
@dataclass
class Filters:
    county: str = ""
    street: str = ""
    industry: str = ""
    size: str = ""
    tag: str = ""
    cert: str = ""
    status: str = ""
    q: str = ""
    errors: list[str] = field(default_factory=list)

    def params(self) -> dict[str, str]:
        """The non-empty filter values, for building shareable URLs."""
        names = ("county", "street", "industry", "size", "tag", "cert", "status", "q")
        return {n: getattr(self, n) for n in names if getattr(self, n)}

    @property
    def region(self) -> str:
        return self.street or self.county


def _region_ok(user, code: str, level: str) -> bool:
    """The region exists at that level and lies in the user's scope (or contains it)."""
    region = Region.objects.filter(code=code, level=level).first()
    if region is None:
        return False
    return in_scope(user, region.code) or user.scope_prefix.startswith(region.prefix)


def _pick(params, name: str, valid: Callable[[str], bool], message: str, errors: list[str]) -> str:
    value = (params.get(name) or "").strip()
    if value and not valid(value):
        errors.append(message.format(value=shorten(value)))
        return ""
    return value


def parse_filters(user, params) -> Filters:
    """Read and check the filter parameters; invalid ones are dropped with a Chinese message."""
    f, e = Filters(), []
    f.county = _pick(params, "county", lambda v: _region_ok(user, v, RegionLevel.COUNTY),
                     "县区“{value}”不存在或不在您的管辖范围内,已忽略", e)
    f.street = _pick(params, "street", lambda v: _region_ok(user, v, RegionLevel.STREET),
                     "乡镇街道“{value}”不存在或不在您的管辖范围内,已忽略", e)
    if f.street and f.county and not f.street.startswith(f.county):
        f.street = ""  # the county was changed after the street was picked: the street no longer applies
    f.industry = _pick(params, "industry", lambda v: getattr(industries.table().get(v.upper()), "level", "") in
                       ("section", "division"), "行业“{value}”不是有效的门类或大类代码,已忽略", e).upper()
    f.size = _pick(params, "size", lambda v: v in Size.values or v == UNKNOWN_SIZE, "企业规模“{value}”无效,已忽略", e)
    f.tag = _pick(params, "tag", lambda v: Tag.objects.filter(code=v).exists(), "标签“{value}”不存在,已忽略", e)
    f.cert = _pick(params, "cert", lambda v: v in CertificationKind.values, "资质类别“{value}”无效,已忽略", e)
    f.status = _pick(params, "status", lambda v: v in EnterpriseStatus.values, "登记状态“{value}”无效,已忽略", e)
    f.q = _pick(params, "q", lambda v: len(v) <= 60, "关键词过长(最多 60 个字符),已忽略", e)
    f.errors = e
    return f


def apply_filters(qs, f: Filters):
    """Narrow an Enterprise queryset by the parsed filters."""
    if f.region:
        qs = qs.filter(region__code__startswith=f.region)  # no join: compiles to region_id LIKE
    if f.industry:
        qs = qs.in_industry(f.industry)
    if f.size:
        qs = qs.filter(size__isnull=True) if f.size == UNKNOWN_SIZE else qs.filter(size=f.size)
    if f.tag:
        qs = qs.with_tag(f.tag)
    if f.cert:
        qs = qs.with_certification(f.cert)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.q:
        # An 18-character keyword is looked up as a USCC; otherwise it is a name prefix (indexed).
        qs = qs.filter(uscc=f.q.upper()) if len(f.q) == 18 and f.q.isalnum() else qs.filter(name__startswith=f.q)
    return qs


# ---------------------------------------------------------------- keyset pagination
@dataclass
class KeysetPage:
    rows: list
    has_prev: bool
    has_next: bool


def _int_param(params, name: str) -> int | None:
    value = params.get(name) or ""
    return int(value) if value.isdigit() and len(value) < 19 else None


def keyset_page(qs, params, size: int = PAGE_SIZE) -> KeysetPage:
    """One page of ``qs`` ordered by id descending: first page, ``after=<id>`` (older rows),
    ``before=<id>`` (newer rows) or ``last=1``. Cost is independent of the page's depth."""
    after, before = _int_param(params, "after"), _int_param(params, "before")
    if after is not None:
        rows = list(qs.filter(id__lt=after).order_by("-id")[: size + 1])
        has_next, rows = len(rows) > size, rows[:size]
        return KeysetPage(rows, qs.filter(id__gte=after).exists(), has_next)
    if before is not None:
        rows = list(qs.filter(id__gt=before).order_by("id")[: size + 1])
        has_prev, rows = len(rows) > size, rows[:size][::-1]
        return KeysetPage(rows, has_prev, qs.filter(id__lte=before).exists())
    if params.get("last") == "1":
        rows = list(qs.order_by("id")[:size])[::-1]
        has_prev = bool(rows) and qs.filter(id__gt=rows[0].id).exists()
        return KeysetPage(rows, has_prev, False)
    rows = list(qs.order_by("-id")[: size + 1])
    return KeysetPage(rows[:size], False, len(rows) > size)


def approximate_count(qs) -> tuple[int, str]:
    """``(count, kind)`` with kind ``exact``, ``estimate`` (PostgreSQL's planner estimate) or ``at_least``
    (the planner guessed fewer than the bounded count found). Exact up to EXACT_COUNT_LIMIT matches:
    a full count over a million rows would cost more than the page itself."""
    if connection.vendor == "postgresql":
        estimate = planner_estimate(qs)
        if estimate > ESTIMATE_TRUSTED:
            return estimate, "estimate"  # clearly large: even a bounded count would scan many rows
        n = qs.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if n <= EXACT_COUNT_LIMIT:
            return n, "exact"
        return (estimate, "estimate") if estimate >= n else (EXACT_COUNT_LIMIT, "at_least")
    return qs.count(), "exact"  # the embedded SQLite database is city-sized: counting is cheap


def planner_estimate(qs) -> int:
    """The number of rows PostgreSQL's planner expects ``qs`` to return (EXPLAIN, not executed)."""
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def total_label(count: int, kind: str) -> str:
    """“共 N 家”, “约 N 家” (estimates rounded to three significant digits) or “N 家以上”."""
    if kind == "exact":
        return f"共 {count:,} 家"
    if kind == "at_least":
        return f"{count:,} 家以上"
    digits = max(len(str(count)) - 3, 0)
    rounded = round(count, -digits) if digits else count
    return f"约 {rounded:,} 家"


# ---------------------------------------------------------------- list page
@lru_cache(maxsize=1)
def industry_groups() -> list[dict]:
    """GB/T 4754 sections with their divisions, from the shipped table (no query)."""
    groups: dict[str, dict] = {}
    for entry in sorted(industries.table().values(), key=lambda e: e.code):
        if entry.level == "section":
            groups[entry.code] = {"section": entry, "divisions": []}
    for entry in sorted(industries.table().values(), key=lambda e: e.code):
        if entry.level == "division" and entry.parent in groups:
            groups[entry.parent]["divisions"].append(entry)
    return [groups[k] for k in sorted(groups)]


def _counties(prefix: str) -> list[tuple[str, str]]:
    key = f"ys:counties:{prefix or 'all'}"
    found = cache.get(key)
    if found is None:
        qs = Region.objects.filter(level=RegionLevel.COUNTY)
        qs = qs.filter(prefix=prefix[:6]) if len(prefix) >= 6 else qs.filter(code__startswith=prefix)
        found = list(qs.values_list("code", "name"))
        cache.set(key, found, OPTIONS_TTL)
    return found


def _filter_options(user, f: Filters) -> dict:
    prefix = scope_prefix(user)
    county = f.county or (prefix[:6] if len(prefix) >= 6 else "")
    streets = (Region.objects.filter(level=RegionLevel.STREET, parent_id=county, code__startswith=prefix)
               .values_list("code", "name") if county else [])
    return {"counties": _counties(prefix), "streets": list(streets), "industry_groups": industry_groups(),
            "sizes": Size.choices, "tags": list(Tag.objects.values_list("code", "name")),
            "certs": CertificationKind.choices, "statuses": EnterpriseStatus.choices}


def _page_links(base: dict[str, str], page: KeysetPage) -> dict[str, str | None]:
    def url(**extra) -> str:
        return "?" + urlencode({**base, **extra})

    first_id = page.rows[0].id if page.rows else None
    last_id = page.rows[-1].id if page.rows else None
    return {"first": url() if page.has_prev else None,
            "prev": url(before=first_id) if page.has_prev and first_id else None,
            "next": url(after=last_id) if page.has_next and last_id else None,
            "last": url(last=1) if page.has_next else None}


def _access_register(user) -> None:
    if not (user.is_superuser or user.role in REGISTER_READERS or user.role == Role.ENTERPRISE):
        raise PermissionDenied("当前角色无权查看企业档案")


@login_required
def enterprise_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _access_register(user)
    f = parse_filters(user, request.GET)
    qs = apply_filters(visible_enterprises(user, Enterprise.objects.all()), f)
    page = keyset_page(qs.select_related("region").defer("business_scope", "figure_sources"), request.GET)
    for ent in page.rows:
        ent.industry_label = industries.label(ent.industry_code)
    count, kind = approximate_count(qs)
    ctx = {"filters": f, "page": page, "links": _page_links(f.params(), page), "total": total_label(count, kind),
           "total_count": count, "can_write_register": user.is_superuser or user.role in REGISTER_WRITERS,
           **_filter_options(user, f)}
    partial = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "enterprise-list"
    return render(request, "enterprises/_list_body.html" if partial else "enterprises/list.html", ctx)


# ---------------------------------------------------------------- enterprise page
# Later issues add sections (policies, appeals, visits) to the enterprise page by registering a
# function ``(user, enterprise) -> {"template": ..., "title": ..., **context} | None``; None = not shown.
DetailSection = Callable[[object, Enterprise], dict | None]
DETAIL_SECTIONS: list[DetailSection] = []


def register_detail_section(func: DetailSection) -> DetailSection:
    """Add a section to the enterprise page (usable as a decorator)."""
    DETAIL_SECTIONS.append(func)
    return func


def fmt_figure(value) -> str:
    """A figure for display: thousands separators, at most 4 decimals, no trailing zeros."""
    if value is None or value == "":
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def figure_rows(ent: Enterprise) -> list[dict]:
    """Each figure with its value, data source and as-of date (from ``figure_sources``)."""
    sources = ent.figure_sources or {}
    rows = []
    for name in FIGURE_FIELDS:
        value = getattr(ent, name)
        if value and Enterprise._meta.get_field(name).choices:
            value = getattr(ent, f"get_{name}_display")()
        src = sources.get(name) or {}
        rows.append({"field": name, "label": FIGURE_LABELS[name], "value": fmt_figure(value),
                     "source": src.get("source", ""), "as_of": src.get("as_of", "")})
    return rows


def region_path(region: Region) -> list[Region]:
    """The region and its ancestors, top-down, fetched in one query from the code prefixes."""
    codes = {region.code}
    for width in (2, 4, 6):
        if len(region.prefix) > width:
            codes.add(region.code[:width].ljust(6, "0"))
    return sorted(Region.objects.filter(code__in=codes), key=lambda r: len(r.prefix))


def certification_rows(ent: Enterprise, today: dt.date) -> list[dict]:
    rows = []
    for cert in ent.certifications.order_by("kind"):
        if cert.valid_to and cert.valid_to < today:
            state, css = "已过期", "badge-bad"
        elif cert.valid_from and cert.valid_from > today:
            state, css = "未生效", "badge-warn"
        else:
            state, css = "有效", "badge-ok"
        rows.append({"cert": cert, "state": state, "css": css})
    return rows


def _audit_value(name: str, value, masked: bool) -> str:
    if value is None or value == "":
        return "(空)"
    if name == "steward_id":
        return _user_label(value)
    if masked and name in PERSONAL_FIELDS:
        return personal.mask(name, value)
    try:
        model_field = Enterprise._meta.get_field(name.removesuffix("_id"))
    except Exception:
        model_field = None
    if getattr(model_field, "choices", None):
        return str(dict(model_field.choices).get(value, value))
    if name == "certifications" and isinstance(value, list):
        return "、".join(_cert_text(str(v)) for v in value) or "(空)"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "(空)"
    return str(value)


def _cert_text(token: str) -> str:
    """An audited certification (“high_tech:2024-01-01~2026-12-31:GR…”) with its Chinese name."""
    kind, sep, rest = token.partition(":")
    return str(dict(CertificationKind.choices).get(kind, kind)) + sep + rest


def _field_label(name: str) -> str:
    if name in FIGURE_LABELS:
        return FIGURE_LABELS[name]
    try:
        return str(Enterprise._meta.get_field(name.removesuffix("_id")).verbose_name)
    except Exception:
        return {"certifications": "资质", "tags": "标签", "figure_sources": "数据来源",
                "credit_listing": "信用名单"}.get(name, name)


def _user_label(pk) -> str:
    """A user id in the audit history as “姓名(用户名)” (the id itself if the user is gone)."""
    from yingshang.core.models import User

    user = User.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    return f"{user.display_name or user.username}({user.username})" if user else str(pk)


def audit_changes(entry: AuditLog, masked: bool) -> list[dict]:
    """An audit row's field changes as readable (label, old, new) rows."""
    rows = []
    for name, change in (entry.changes or {}).items():
        old, new = (change + [None, None])[:2] if isinstance(change, list) else (None, change)
        if name == "figure_sources":
            rows += _source_changes(old or {}, new or {})
            continue
        rows.append({"label": _field_label(name), "old": _audit_value(name, old, masked),
                     "new": _audit_value(name, new, masked), "created": old is None})
    return rows


def _source_text(meta: dict | None) -> str:
    if not meta:
        return "(空)"
    return f"{meta.get('source') or '来源未注明'}(截至 {meta.get('as_of') or '—'})"


def _source_changes(old: dict, new: dict) -> list[dict]:
    """One row per figure whose data source or as-of date changed."""
    return [{"label": f"{_field_label(name)} · 数据来源", "old": _source_text(old.get(name)),
             "new": _source_text(new.get(name)), "created": name not in old}
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]


def audit_page(user, ent: Enterprise, number) -> object:
    page = Paginator(AuditLog.objects.for_object(ent), AUDIT_PAGE_SIZE).get_page(number)
    masked = not personal.sees_unmasked(user, ent)
    for entry in page:
        entry.readable_changes = audit_changes(entry, masked)
    return page


def _load(user, uscc: str) -> Enterprise:
    ent = get_object_or_404(Enterprise.objects.select_related("region", "steward"), uscc=uscc.strip().upper())
    access_enterprise(user, ent)
    return ent


def detail_context(request: HttpRequest, ent: Enterprise, revealed: dict | None = None) -> dict:
    user, today = request.user, timezone.localdate()
    own = personal.sees_unmasked(user, ent)
    rows = personal.personal_rows(ent, masked=not own and revealed is None)
    sections = [s for s in (fn(user, ent) for fn in DETAIL_SECTIONS) if s]
    return {"ent": ent, "region_path": region_path(ent.region), "industry_label": industries.label(ent.industry_code),
            "age": ent.age_years(today), "figures": figure_rows(ent), "size_explanation": ent.size_explanation(),
            "certifications": certification_rows(ent, today),
            "tags": ent.tag_links.select_related("tag").order_by("tag__kind", "tag__code"),
            "personal_rows": rows, "personal_revealed": revealed is not None, "personal_own": own,
            "can_reveal": not own and user.role != Role.ENTERPRISE,
            "audit": audit_page(user, ent, request.GET.get("audit_page")), "sections": sections,
            **steward_context(user, ent), **credit_context(user, ent, today)}


def _may_write_register(user, ent: Enterprise) -> bool:
    """Staff who may write the register in the enterprise's region (credit lists are theirs)."""
    if user.role == Role.ENTERPRISE and not user.is_superuser:
        return False
    return (user.is_superuser or user.role in REGISTER_WRITERS) and in_scope(user, ent.region_id)


def steward_context(user, ent: Enterprise, error: str = "") -> dict:
    """The steward block: who it is and, for dispatchers and admins in scope, the stewards to pick from."""
    from yingshang.enterprises.actions_steward import may_assign_steward, steward_choices

    can = may_assign_steward(user) and in_scope(user, ent.region_id)
    return {"steward": ent.steward, "can_assign_steward": can, "steward_error": error,
            "steward_options": steward_choices(ent) if can else [],
            "show_steward": user.role != Role.ENTERPRISE or user.is_superuser}


def credit_context(user, ent: Enterprise, today: dt.date, error: str = "", form: dict | None = None) -> dict:
    """Credit-list records: those in force today first, then the history; the add form for register writers."""
    rows = list(CreditListing.objects.filter(enterprise=ent))
    for row in rows:
        row.in_force = row.listed_on <= today and (row.removed_on is None or row.removed_on > today)
    return {"credit_in_force": [r for r in rows if r.in_force], "credit_history": [r for r in rows if not r.in_force],
            "can_edit_credit": _may_write_register(user, ent), "credit_kinds": CreditListKind.choices,
            "credit_error": error, "credit_form": form or {}, "today": today}


@login_required
def enterprise_detail(request: HttpRequest, uscc: str) -> HttpResponse:
    ent = _load(request.user, uscc)
    return render(request, "enterprises/detail.html", detail_context(request, ent))


@login_required
def enterprise_audit(request: HttpRequest, uscc: str) -> HttpResponse:
    """The audit-history section alone (HTMX pagination)."""
    ent = _load(request.user, uscc)
    return render(request, "enterprises/_audit.html", {"ent": ent, "audit": audit_page(request.user, ent,
                                                                                        request.GET.get("audit_page"))})


@login_required
@require_POST
def enterprise_personal(request: HttpRequest, uscc: str) -> HttpResponse:
    """Reveal the personal data (staff only; audited by ``do_read_personal``)."""
    ent = _load(request.user, uscc)
    values = personal.do_read_personal(request.user, ent)
    if request.headers.get("HX-Request") == "true":
        rows = [{"field": f, "label": personal.PERSONAL_LABELS.get(f, f), "value": v} for f, v in values.items()]
        return render(request, "enterprises/_personal.html", {"ent": ent, "personal_rows": rows,
                                                              "personal_revealed": True})
    return render(request, "enterprises/detail.html", detail_context(request, ent, revealed=values))
