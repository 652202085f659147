"""Storing the case clock on the Appeal row: due date, deadline moment, provisional flag, next timer.

``clock.py`` does the arithmetic; this module feeds it a case's dispatch, grade, pauses and approved
extensions of the current round and writes the answers into the indexed columns (``CLOCK_FIELDS``),
which queues sort on and the escalation sweep claims by. ``recompute`` only sets the fields — the
caller (an action inside its transaction) saves them.
"""
from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from yingshang.appeals import clock
from yingshang.appeals.models import Appeal, AppealExtension, AppealPause, ExtensionStatus, Grade, Status
from yingshang.workcal import hooks
from yingshang.workcal.calendar import get_calendar
from yingshang.workcal.engine import WorkCalendar

log = logging.getLogger(__name__)

CLOCK_FIELDS = ("due_date", "due_at", "due_provisional", "next_escalation_at")
# The department holds the case: its escalation timers run. A returned case is held by the dispatcher
# (no timers against the department that returned it), though its deadline keeps running from the
# round's first dispatch (the clock does not restart when the dispatcher re-routes it).
HOLDING_STATUSES = frozenset({Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS})
CHUNK = 500


def policy(grade: Grade | None = None) -> clock.Policy:
    """The clock policy: escalation settings from Django settings, limits from the case's grade."""
    ladder = dict(
        reminder_days_before=getattr(settings, "YINGSHANG_APPEAL_REMINDER_DAYS", 1),
        supervise_after_days=getattr(settings, "YINGSHANG_APPEAL_SUPERVISE_AFTER", 2),
        accountability_after_days=getattr(settings, "YINGSHANG_APPEAL_ACCOUNTABILITY_AFTER", 5),
        reopen_accountability=getattr(settings, "YINGSHANG_APPEAL_REOPEN_ACCOUNTABILITY", 2),
    )
    if grade is None:
        return clock.Policy(**ladder)
    return clock.Policy(grade_days={grade.code: grade.days}, sign_days=grade.sign_days,
                        response_days=grade.response_days, **ladder)


def with_clock_data(qs: QuerySet) -> QuerySet:
    """Appeals with everything ``case_times`` reads loaded in 3 queries, however many rows."""
    return qs.select_related("grade").prefetch_related(
        Prefetch("pauses", queryset=AppealPause.objects.order_by("paused_at", "id")),
        Prefetch("extensions", queryset=AppealExtension.objects.filter(status=ExtensionStatus.APPROVED)))


def _round_pauses(appeal: Appeal) -> list[clock.Pause]:
    # .all() uses the prefetch cache when present; the round filter runs in Python for the same reason.
    rows = sorted((p for p in appeal.pauses.all() if p.round == appeal.round), key=lambda p: (p.paused_at, p.id))
    return [(p.paused_at, p.resumed_at) for p in rows]


def _round_extensions(appeal: Appeal) -> list[int]:
    return [e.days for e in appeal.extensions.all()
            if e.round == appeal.round and e.status == ExtensionStatus.APPROVED]


def case_times(appeal: Appeal, now: dt.datetime | None = None) -> clock.CaseTimes | None:
    """The clock input of the case's current round; None before dispatch or without a grade."""
    if appeal.dispatched_at is None or appeal.grade_id is None:
        return None
    return clock.CaseTimes(dispatched_at=appeal.dispatched_at, grade_days=appeal.grade.days,
                           pauses=_round_pauses(appeal), extensions=_round_extensions(appeal),
                           reopen_count=appeal.reopen_count, now=now)


def _shown_due(times: clock.CaseTimes, cal: WorkCalendar) -> clock.Due:
    """The due date to store: while paused, the frozen one (as it stood when the pause began)."""
    if not times.is_paused:
        return clock.due(times, cal)
    frozen = clock.CaseTimes(dispatched_at=times.dispatched_at, grade_days=times.grade_days,
                             pauses=times.pauses[:-1], extensions=times.extensions,
                             reopen_count=times.reopen_count)
    return clock.due(frozen, cal)


def next_escalation_at(appeal: Appeal, times: clock.CaseTimes | None, cal: WorkCalendar,
                       pol: clock.Policy) -> dt.datetime | None:
    """When the level after ``appeal.escalation_level`` falls due; None unless the department holds it."""
    if times is None or appeal.status not in HOLDING_STATUSES or times.is_paused:
        return None
    nxt = clock.next_escalation(times, cal, pol, appeal.escalation_level)
    return None if nxt is None else nxt[1]


def apply_times(appeal: Appeal, times: clock.CaseTimes | None, cal: WorkCalendar) -> None:
    """Write the clock's answers for ``times`` into the appeal's CLOCK_FIELDS (not saved)."""
    if times is None:
        appeal.due_date = appeal.due_at = appeal.next_escalation_at = None
        appeal.due_provisional = False
        return
    shown = _shown_due(times, cal)
    appeal.due_date, appeal.due_at, appeal.due_provisional = shown.date, shown.deadline, shown.provisional
    appeal.next_escalation_at = next_escalation_at(appeal, times, cal, policy(appeal.grade))


def recompute(appeal: Appeal, now: dt.datetime | None = None, *, cal: WorkCalendar | None = None) -> None:
    """Set the appeal's due date, deadline moment, provisional flag and next escalation time (not saved)."""
    apply_times(appeal, case_times(appeal, now), cal or get_calendar())


def recompute_provisional(years: set[int] | None = None) -> int:
    """Recompute and save every open case with a provisional deadline (a holiday notice was entered)."""
    cal = get_calendar()  # the notice action resets the cache before firing the hooks
    base = Appeal.objects.open().filter(due_provisional=True).order_by("pk")
    done, last = 0, 0
    while True:
        chunk = list(with_clock_data(base.filter(pk__gt=last))[:CHUNK])
        if not chunk:
            return done
        for appeal in chunk:
            recompute(appeal, cal=cal)
        Appeal.objects.bulk_update(chunk, CLOCK_FIELDS)
        done, last = done + len(chunk), chunk[-1].pk


hooks.register_recompute(recompute_provisional)


def co_task_due(appeal: Appeal, now: dt.datetime) -> dt.date | None:
    """The due date of a co-handling sub-task dispatched ``now`` (``clock.co_task_due``; call after the
    case's own due date is recomputed)."""
    days = appeal.grade.days if appeal.grade_id else 1
    return clock.co_task_due(now, days, get_calendar(), appeal.due_date).date
