"""Staff work pages of 诉求闭环, continued: the department's queue (办理队列), escalations (督办 and the
约谈/问责名单), 我的诉求 of supervisors, stewards and enterprises, and the 回头看 samples.

Read-only pages: the steps themselves (sign, reply, rate, review …) are forms on the case page."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, F, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from yingshang.appeals import access, escalation
from yingshang.appeals.actions_followup import CO_WORKING
from yingshang.appeals.models import (Appeal, AppealEscalation, AppealReview, AppealTask, EscalationLevel,
                                      OPEN_STATUSES, Status, TaskRole)
from yingshang.appeals.queries import RUNNING, filter_pool
from yingshang.appeals.views_work import (STATUS_CSS, Params, department_options, is_htmx_for, paged, paged_rows,
                                          yes_no)
from yingshang.core.access import access_role
from yingshang.core.models import Role

# The lead department holds these (a returned case is back with the dispatcher; a replied one awaits rating).
QUEUE_STATUSES = (Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS, Status.PAUSED, Status.REPLIED)
ESCALATION_ROLES = (Role.DEPT_LEADER, Role.DISPATCHER, Role.LEADER, Role.ADMIN)
MINE_ROLES = (Role.SUPERVISOR, Role.STEWARD, Role.ENTERPRISE)
REVIEW_ROLES = (Role.DISPATCHER, Role.ADMIN)
CO_TASK_LIMIT = 200
RECENT_REVIEWS = 50


def _department_of(user) -> int:
    """The user's department id; a department role without one may not see department pages."""
    if not user.department_id:
        raise PermissionDenied("您的账号未关联承办单位,无法查看单位的诉求")
    return user.department_id


# ---------------------------------------------------------------- 办理队列
def queue_cases(user, status: str, overdue: bool | None):
    """The department's open lead cases, overdue ones first, then by deadline (none last)."""
    base = Appeal.objects.filter(department_id=_department_of(user), status__in=QUEUE_STATUSES)
    qs = filter_pool(access.visible_appeals(user, base), status, overdue, False, "", "", "", "")
    late = When(status__in=RUNNING, due_at__lt=timezone.now(), then=Value(0))
    qs = qs.annotate(late_rank=Case(late, default=Value(1), output_field=IntegerField()))
    return qs.order_by("late_rank", F("due_at").asc(nulls_last=True), "id")


def co_tasks(user) -> list[AppealTask]:
    """The department's co-handling sub-tasks of the current round not yet answered, soonest due first."""
    qs = (AppealTask.objects.filter(department_id=_department_of(user), role=TaskRole.CO, round=F("appeal__round"),
                                    replied_at__isnull=True, returned_at__isnull=True,
                                    appeal__status__in=CO_WORKING)
          .select_related("appeal", "appeal__department").order_by(F("due_date").asc(nulls_last=True), "id"))
    today = timezone.localdate()
    rows = list(qs[:CO_TASK_LIMIT])
    for t in rows:
        t.late = t.due_date is not None and t.due_date < today
    return rows


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """办理队列: my department's lead cases with countdowns, and its co-handling sub-tasks."""
    user = request.user
    access_role(user, Role.HANDLER, Role.DEPT_LEADER)
    params = Params(request.GET)
    status = params.choice("status", "状态", [s.value for s in QUEUE_STATUSES])
    overdue = yes_no(params, "overdue", "逾期")
    all_open = queue_cases(user, "", None)
    late = filter_pool(all_open, "", True, False, "", "", "", "")
    ctx = {"params": params, "f": params.values, "result": paged(queue_cases(user, status, overdue), params),
           "query": params.query(page=None), "statuses": [(s.value, s.label) for s in QUEUE_STATUSES],
           "open_total": all_open.count(), "overdue_total": late.count(),
           "tasks": co_tasks(user), "task_limit": CO_TASK_LIMIT, "department": user.department}
    template = "appeals/work/_queue_list.html" if is_htmx_for(request, "queue-list") else "appeals/work/queue.html"
    return render(request, template, ctx)


# ---------------------------------------------------------------- 督办 and the 约谈/问责名单
def _escalation_scope(user, params: Params):
    """A department leader: the steps fired on the department; region roles: those of their scope's cases."""
    if user.role == Role.DEPT_LEADER and not user.is_superuser:
        return AppealEscalation.objects.filter(department_id=_department_of(user)), False
    visible = access.visible_appeals(user, Appeal.objects.all()).values("pk")
    qs = AppealEscalation.objects.filter(appeal__in=visible)
    dept = params.choice("department", "单位", [d.code for d in department_options(user, active_only=False)])
    return (qs.filter(department__code=dept) if dept else qs), True


def _level_counts(qs) -> list[tuple[str, str, int]]:
    """(level, label, number of steps) for 提示, 督办 and 约谈/问责."""
    rows = qs.filter(level__gte=EscalationLevel.PROMPT).order_by().values("level").annotate(n=Count("id"))
    found = {r["level"]: r["n"] for r in rows}
    return [(str(v), str(l), found.get(v, 0)) for v, l in EscalationLevel.choices if v >= EscalationLevel.PROMPT]


@login_required
def escalations(request: HttpRequest) -> HttpResponse:
    """督办 steps (提示 and above) on my department's cases or my scope's, newest first; a 约谈/问责 tab."""
    user = request.user
    access_role(user, *ESCALATION_ROLES)
    params = Params(request.GET)
    scoped, region_view = _escalation_scope(user, params)
    tab = params.choice("tab", "名单", ("accountability",))
    if tab:  # the 约谈/问责名单 is escalation.escalation_list, kept to the user's scope
        qs = escalation.escalation_list().filter(pk__in=scoped.values("pk"))
    else:
        level = params.choice("level", "督办级别", [str(v) for v in EscalationLevel.values if v >= 2])
        qs = scoped.filter(level=int(level)) if level else scoped.filter(level__gte=EscalationLevel.PROMPT)
        qs = qs.select_related("appeal", "department").order_by("-fired_at", "-id")
    result = paged_rows(qs.select_related("appeal__department"), params)
    for e in result["items"]:
        e.is_open, e.status_css = e.appeal.status in OPEN_STATUSES, STATUS_CSS.get(e.appeal.status, "")
    ctx = {"params": params, "f": params.values, "tab": tab, "result": result, "region_view": region_view,
           "query": params.query(page=None), "levels": _level_counts(scoped),
           "departments": department_options(user, active_only=False) if region_view else []}
    return render(request, "appeals/work/escalations.html", ctx)


# ---------------------------------------------------------------- 我的诉求
@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """我的诉求: the cases a supervisor or steward submitted, or the enterprise's cases; which await rating."""
    user = request.user
    access_role(user, *MINE_ROLES)
    params = Params(request.GET)
    status = params.choice("status", "状态", (*Status.values, "open"))
    mine_qs = access.visible_appeals(user, Appeal.objects.all())
    result = paged(filter_pool(mine_qs, status, None, False, "", "", "", "").order_by("-created_at", "-id"), params)
    for a in result["items"]:
        a.awaiting_rating, a.can_rate = a.status == Status.REPLIED, access.is_appellant(user, a)
    ctx = {"params": params, "f": params.values, "result": result, "query": params.query(page=None),
           "statuses": [("open", "未办结"), *Status.choices], "total": mine_qs.count(),
           "awaiting": mine_qs.filter(status=Status.REPLIED).count()}
    return render(request, "appeals/work/mine.html", ctx)


# ---------------------------------------------------------------- 回头看
@login_required
def reviews(request: HttpRequest) -> HttpResponse:
    """回头看: the sampled closed cases of my scope still to check, and the recently checked ones."""
    user = request.user
    access_role(user, *REVIEW_ROLES)
    params = Params(request.GET)
    visible = access.visible_appeals(user, Appeal.objects.all()).values("pk")
    in_scope = AppealReview.objects.filter(appeal__in=visible).select_related("appeal", "appeal__department")
    pending = in_scope.filter(checked_at__isnull=True).order_by("sampled_at", "id")
    checked = in_scope.filter(checked_at__isnull=False).select_related("checked_by").order_by("-checked_at", "-id")
    ctx = {"params": params, "result": paged_rows(pending, params), "query": params.query(page=None),
           "checked": list(checked[:RECENT_REVIEWS]), "recent_limit": RECENT_REVIEWS}
    return render(request, "appeals/work/reviews.html", ctx)
