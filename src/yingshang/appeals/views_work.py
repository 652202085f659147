"""Staff work pages of 诉求闭环: the role router, the pool (问题池) with bulk dispatch and 月月清零.

The queue, escalations, 我的诉求 and 回头看 pages live in ``views_work_lists``; both modules share the
helpers here (lenient query parameters, row decoration, scope options). Views parse input, check access,
call at most ONE action, render. Filters reuse ``queries.filter_pool`` so the pages and the API agree.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from yingshang.appeals import access, actions, deadlines
from yingshang.appeals.clock import SHANGHAI
from yingshang.appeals.models import Appeal, Channel, Grade, OPEN_STATUSES, Status
from yingshang.appeals.queries import (MAX_PAGE, RUNNING, STATUS_CSS, countdown, department_groups, department_options,
                                       due_soon_limit, filter_pool, is_overdue, page_of, parse_id)
from yingshang.core.access import access_role, scope_prefix
from yingshang.core.errors import DomainError, shorten
from yingshang.core.models import Region, RegionLevel, Role

ROW_RELATED = ("region", "grade", "department")
POOL_ROLES = (Role.DISPATCHER, Role.LEADER, Role.EVALUATOR, Role.ADMIN)
DISPATCH_ROLES = (Role.DISPATCHER, Role.ADMIN)
# Waiting for the dispatcher: 月月清零 counts these as "未交办" (a returned case awaits a new dispatch).
UNDISPATCHED = (Status.SUBMITTED, Status.GRADED, Status.RETURNED)
YES_NO = {"1": True, "0": False}


# ---------------------------------------------------------------- lenient query parameters
class Params:
    """Query parameters read leniently: a bad value is ignored and reported in Chinese, naming the field."""

    def __init__(self, data):
        self.data, self.errors, self.values = data, {}, {}

    def _raw(self, name: str) -> str:
        return str(self.data.get(name, "") or "").strip()

    def choice(self, name: str, label: str, allowed) -> str:
        """The value if empty or one of ``allowed``; otherwise '' and an error naming ``label``."""
        value = self._raw(name)
        if value and value not in allowed:
            self.errors[label] = f"取值「{shorten(value, 20)}」无效"
            value = ""
        self.values[name] = value
        return value

    def text(self, name: str, label: str, limit: int = 100) -> str:
        """Free text cut to ``limit`` characters (a longer one is reported)."""
        value = self._raw(name)
        if len(value) > limit:
            self.errors[label] = f"不能超过 {limit} 个字符(已截断)"
            value = value[:limit]
        self.values[name] = value
        return value

    def page(self) -> int:
        """The page number (1 … MAX_PAGE); a bad one falls back to 1."""
        value = self._raw("page") or "1"
        if not (value.isascii() and value.isdigit() and len(value) <= 6 and 1 <= int(value) <= MAX_PAGE):
            self.errors["页码"] = f"取值「{shorten(value, 20)}」无效"
            return 1
        return int(value)

    def query(self, **override) -> str:
        """The kept filters as a query string (empty values left out), for pager and sort links."""
        kept = {k: v for k, v in {**self.values, **override}.items() if v not in ("", None)}
        return urlencode(kept)


def yes_no(params: Params, name: str, label: str) -> bool | None:
    """A "1"/"0" filter as True/False; empty → None."""
    return YES_NO.get(params.choice(name, label, YES_NO))


def is_htmx_for(request: HttpRequest, target: str) -> bool:
    """True when HTMX asks for the list part only (the filters swap ``#target``)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == target


# ---------------------------------------------------------------- rows
def countdown_text(remaining: int | None, overdue: bool) -> str:
    """倒计时 in words: days left, due today or days overdue."""
    if remaining is None:
        return "已逾期" if overdue else ""
    if remaining < 0:
        return f"逾期 {-remaining} 个工作日"
    if overdue:
        return "已逾期"
    return "今日到期" if remaining == 0 else f"剩 {remaining} 个工作日"


def decorate(rows, now: dt.datetime) -> list[Appeal]:
    """Attach the clock display (countdown, overdue, due soon, CSS) to each case of a page."""
    soon = due_soon_limit(now)
    for a in rows:
        a.remaining, a.late = countdown(a), is_overdue(a, now)
        a.soon = not a.late and a.status in RUNNING and a.due_at is not None and a.due_at <= soon
        a.countdown = countdown_text(a.remaining, a.late)
        a.due_css = "badge-bad" if a.late else "badge-warn" if a.soon else "badge-computed"
        a.status_css = STATUS_CSS.get(a.status, "")
        a.is_open = a.status in OPEN_STATUSES
    return rows


def paged_rows(qs, params: Params) -> dict:
    """One page of any ordered queryset (``queries.page_of``), past-the-end pages showing the last one."""
    result = page_of(qs, params.page(), lambda row: row)
    if result["page"] > result["pages"]:  # the filters narrowed the list below the page asked for
        result = page_of(qs, result["pages"], lambda row: row)
    result.update(has_previous=result["page"] > 1, has_next=result["page"] < result["pages"],
                  previous=result["page"] - 1, next=result["page"] + 1)
    return result


def paged(qs, params: Params) -> dict:
    """One page of cases with their clock data loaded (3 queries) and the countdown attached."""
    result = paged_rows(deadlines.with_clock_data(qs.select_related(*ROW_RELATED)), params)
    result["items"] = decorate(result["items"], timezone.now())
    return result


def by_due(qs):
    """Sooner deadline first, cases without a deadline last."""
    return qs.order_by(F("due_at").asc(nulls_last=True), "id")


# ---------------------------------------------------------------- scope options
def county_options(user) -> list[Region]:
    """The counties of the user's scope (the region filter)."""
    return list(Region.objects.filter(level=RegionLevel.COUNTY).within(scope_prefix(user)).order_by("code"))


def grade_options() -> list[Grade]:
    return list(Grade.objects.filter(is_active=True))


# ---------------------------------------------------------------- /appeals/: the role router
HOME_BY_ROLE = {Role.DISPATCHER: "appeals:pool", Role.ADMIN: "appeals:pool", Role.LEADER: "appeals:pool",
                Role.EVALUATOR: "appeals:pool", Role.HANDLER: "appeals:queue",
                Role.DEPT_LEADER: "appeals:escalations", Role.SUPERVISOR: "appeals:mine",
                Role.STEWARD: "appeals:mine", Role.ENTERPRISE: "appeals:mine"}


def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its work page; the public (and roles without one) to the public board."""
    user = request.user
    if not user.is_authenticated:
        return redirect("/appeals/board/")
    name = "appeals:pool" if user.is_superuser else HOME_BY_ROLE.get(user.role)
    return redirect(name) if name else redirect("/appeals/board/")


# ---------------------------------------------------------------- the pool
def _pool_filters(params: Params, user) -> dict:
    statuses = (*Status.values, "open")
    if "status" not in params.data:  # first visit: the cases still to be done (全部 is one click away)
        params.values["status"] = "open"
    status = params.choice("status", "状态", statuses) if "status" in params.data else "open"
    return {"status": status,
            "overdue": yes_no(params, "overdue", "逾期"),
            "due_soon": params.choice("due_soon", "即将到期", ("1",)) == "1",
            "grade": params.choice("grade", "等级", [g.code for g in Grade.objects.all()]),
            "channel": params.choice("channel", "来源渠道", Channel.values),
            "department": params.choice("department", "主办单位",
                                        [d.code for d in department_options(user, active_only=False)]),
            "region": params.choice("region", "县区", [r.code for r in county_options(user)])}


def pool_queryset(user, params: Params):
    """The pool in the user's scope, filtered and sorted as the parameters say."""
    f = _pool_filters(params, user)
    qs = filter_pool(access.visible_appeals(user, Appeal.objects.all()), f["status"], f["overdue"], f["due_soon"],
                     f["grade"], f["channel"], f["department"], f["region"])
    q = params.text("q", "关键词")
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(title__icontains=q))
    order = params.choice("order", "排序", ("due", "new")) or "due"
    return by_due(qs) if order == "due" else qs.order_by("-created_at", "-id")


@login_required
def pool(request: HttpRequest) -> HttpResponse:
    """问题池: every case of the user's region scope, with filters, countdowns and (dispatchers) bulk dispatch."""
    user = request.user
    access_role(user, *POOL_ROLES)
    params = Params(request.GET)
    result = paged(pool_queryset(user, params), params)
    can_dispatch = user.is_superuser or user.role in DISPATCH_ROLES
    ctx = {"result": result, "params": params, "f": params.values, "query": params.query(page=None),
           "can_dispatch": can_dispatch, "statuses": Status.choices, "channels": Channel.choices,
           "grades": grade_options(), "departments": department_options(user, active_only=False),
           "counties": county_options(user), "here": f"{request.path}?{params.query()}",
           "sort_due": params.query(order="due", page=None), "sort_new": params.query(order="new", page=None),
           "dispatch_groups": department_groups(department_options(user)) if can_dispatch else []}
    ctx["partial"] = is_htmx_for(request, "pool-list")
    return render(request, "appeals/work/_pool_list.html" if ctx["partial"] else "appeals/work/pool.html", ctx)


def _ids(values) -> list[int] | None:
    """Checkbox values as positive ids; None when one is not a number."""
    ids = [parse_id(v) for v in values]
    return None if None in ids else ids


def _bulk_input(request: HttpRequest) -> tuple[list[int], str] | str:
    """(ids, lead department) from the form, or a Chinese message naming the bad field."""
    ids = _ids(request.POST.getlist("ids"))
    if ids is None:
        return "所选诉求:编号无效,请刷新页面后重新勾选"
    if not ids:
        return "所选诉求:请先勾选要交办的诉求"
    department = request.POST.get("department", "").strip()
    if not department:
        return "主办单位:请选择主办单位"
    return ids, department


def _bulk_messages(request: HttpRequest, result) -> None:
    messages.success(request, f"已交办 {len(result.done)} 件")
    if result.failed:
        messages.error(request, f"未能交办 {len(result.failed)} 件:")
        for number, reason in result.failed:
            messages.error(request, f"{number}:{reason}")


@login_required
@require_POST
def bulk_dispatch(request: HttpRequest) -> HttpResponse:
    """批量交办: one call of ``do_dispatch_many``; the cases it could not dispatch are listed with the reason."""
    access_role(request.user, *DISPATCH_ROLES)
    target = request.POST.get("next", "")
    back = redirect(target if target.startswith(reverse("appeals:pool")) else "appeals:pool")
    parsed = _bulk_input(request)
    if isinstance(parsed, str):
        messages.error(request, parsed)
        return back
    ids, department = parsed
    co = [c for c in request.POST.getlist("co_departments") if c.strip()]
    try:
        result = actions.do_dispatch_many(request.user, ids, department, co,
                                          request.POST.get("grade", "").strip() or None)
    except DomainError as exc:
        messages.error(request, exc.plain_message)
        return back
    _bulk_messages(request, result)
    return back


# ---------------------------------------------------------------- 月月清零
def month_start(year: int, month: int) -> dt.datetime:
    """00:00 Asia/Shanghai on the first of the month."""
    return dt.datetime(year, month, 1, tzinfo=SHANGHAI)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def prev_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def parse_month(params: Params) -> tuple[int, int]:
    """``month=YYYY-MM`` (2000–2100); default and fallback: the current month."""
    today = timezone.localdate()
    value = params._raw("month")
    try:
        year, month = (int(p) for p in value.split("-")) if value else (today.year, today.month)
        if not (2000 <= year <= 2100 and 1 <= month <= 12 and (not value or len(value) == 7)):
            raise ValueError
    except ValueError:
        params.errors["月份"] = f"「{shorten(value, 20)}」格式应为 YYYY-MM(显示本月)"
        year, month = today.year, today.month
    params.values["month"] = f"{year:04d}-{month:02d}"
    return year, month


def opened_in(user, year: int, month: int):
    """The user's visible cases submitted in the month and still open."""
    start, end = month_start(year, month), month_start(*next_month(year, month))
    qs = Appeal.objects.filter(created_at__gte=start, created_at__lt=end, status__in=OPEN_STATUSES)
    return access.visible_appeals(user, qs)


def department_counts(qs) -> list[dict]:
    """Open cases per lead department, most first; the undispatched ones as one "未交办" row first."""
    waiting = qs.filter(status__in=UNDISPATCHED).count()
    rows = list(qs.exclude(status__in=UNDISPATCHED).order_by().values("department__code", "department__name")
                .annotate(n=Count("id")).order_by("-n", "department__code"))
    out = [{"code": "none", "name": "未交办(含退单待重新交办)", "n": waiting}] if waiting else []
    return out + [{"code": r["department__code"], "name": r["department__name"], "n": r["n"]} for r in rows]


def _of_department(qs, code: str):
    """The cases of one row of the count table ("none" = the undispatched ones; '' = all)."""
    if code == "none":
        return qs.filter(status__in=UNDISPATCHED)
    return qs.filter(department__code=code).exclude(status__in=UNDISPATCHED) if code else qs


@login_required
def monthly(request: HttpRequest) -> HttpResponse:
    """月月清零: the month's cases still open, per department, with the list below and last month's leftovers."""
    user = request.user
    access_role(user, *POOL_ROLES)
    params = Params(request.GET)
    year, month = parse_month(params)
    qs = opened_in(user, year, month)
    counts = department_counts(qs)
    dept = params.choice("department", "主办单位", [c["code"] for c in counts])
    start, end = month_start(year, month), month_start(*next_month(year, month))
    opened = access.visible_appeals(user, Appeal.objects.filter(created_at__gte=start, created_at__lt=end)).count()
    open_total = sum(c["n"] for c in counts)
    ctx = {"params": params, "month": params.values["month"], "counts": counts, "dept": dept,
           "open_total": open_total, "opened_total": opened, "cleared_total": opened - open_total,
           "leftover": opened_in(user, *prev_month(year, month)).count(),
           "prev": "%04d-%02d" % prev_month(year, month), "next": "%04d-%02d" % next_month(year, month),
           "result": paged(by_due(_of_department(qs, dept)), params), "query": params.query(page=None)}
    return render(request, "appeals/work/monthly.html", ctx)

