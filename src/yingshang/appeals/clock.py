"""The case clock of an appeal (pure Python, no Django): deadlines, countdown and escalation timers.

Semantics (the KPIs and the UI rely on them exactly):

* **Dates.** Every datetime must be timezone-aware; its *date* is the Asia/Shanghai local date. All
  counting is in working days of the given ``WorkCalendar`` ("N working days after D" = the N-th working
  day strictly after D, 次日起算; dispatched on a holiday, the count starts with the first working day
  after it). Returned datetimes are aware, in Asia/Shanghai.
* **Start.** The clock starts at *dispatch* (派单), not at sign-off, so a case bouncing between units
  keeps running. For a reopened case pass the dispatch of the current round.
* **Due date.** ``due = calendar.add(dispatch_date, grade_days + paused + extensions)`` where
  ``paused`` = Σ over completed pauses of the working days in (pause date, resume date] — a pause and
  resume on the same date add 0, the pause date itself never counts, the resume date does — and
  ``extensions`` = Σ of the approved extensions (working days, applied after the pauses; adding in
  one step is the same as adding in turn). The *deadline moment* is the end of the due date, i.e. 00:00
  local of the next calendar day; a reply before that moment is on time.
* **Open pause** (the last pause with ``resumed_at=None``): the clock is frozen, the due date is not
  fixed (``Due(date=None, paused=True)``); the countdown is frozen at its value on the pause date,
  overdue/escalation keep what they had reached by the pause moment, and no further timer runs.
* **Provisional.** ``True`` when any calendar answer used (the add, or a pause's count) touched a year
  without an official holiday notice; recompute when the notice is entered.
* **Countdown** (``remaining_workdays``) = working days in (today, due]: N on the dispatch date (for a
  case without pauses and extensions), 1 on the last working day before the due date, 0 on the due date
  (and on non-working days right after it), −k on the k-th working day after it. Use ``overdue`` for the
  yes/no question: it compares ``now`` with the deadline moment.
* **Sign-off / first response** limits count from the dispatch date; pauses and extensions do not apply.
* **Handling time** (KPI "average handling working days") = working days in (dispatch date, reply
  date] minus the paused working days (each pause's (pause date, resume date], a pause still open at
  the reply ending at the reply, pauses after the reply ignored). Replying on the dispatch date = 0.
* **Escalation ladder** (timers, separate from case states; levels 0 none, 1 reminder to the handler,
  2 提示 to the department, 3 督办, 4 约谈/问责):

  - 1 at the start (00:00) of the working day ``reminder_days_before`` working days before the due date
    (0 = the due date itself), but never before the dispatch;
  - 2 at the deadline moment;
  - 3 at the end of the ``supervise_after_days``-th working day after the due date;
  - 4 at the end of the ``accountability_after_days``-th working day after the due date, or at the
    dispatch (at once) when ``reopen_count >= reopen_accountability``.

  Pauses shift the timers with the due date; a level reached before a pause stays reached; a timer
  falling inside a pause fires no earlier than the resumption. The ladder is climbed one step at a time:
  a level is due no later than any higher one (a reopened case climbs 1→4 at once), so
  ``next_escalation(current)`` always answers ``current + 1`` with a non-decreasing time — store it in
  an indexed due-time column and let a periodic sweep fire it; ``level_at(now)`` is the level that
  should have fired by ``now`` (firing is idempotent by level). When the case is replied or closed the
  caller clears the timer.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from yingshang.workcal.engine import BetweenResult, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ONE_DAY = dt.timedelta(days=1)

NONE, REMINDER, PROMPT, SUPERVISE, ACCOUNTABILITY = 0, 1, 2, 3, 4
LEVEL_LABELS = {NONE: "无", REMINDER: "到期提醒", PROMPT: "提示", SUPERVISE: "督办", ACCOUNTABILITY: "约谈/问责"}
TOP_LEVEL = ACCOUNTABILITY

Pause = tuple[dt.datetime, dt.datetime | None]


class Grade(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    COMPLEX = "complex"
    COMPLAINT = "complaint"


GRADE_LABELS = {Grade.URGENT: "紧急", Grade.NORMAL: "一般", Grade.COMPLEX: "复杂", Grade.COMPLAINT: "投诉"}
DEFAULT_GRADE_DAYS = {Grade.URGENT: 1, Grade.NORMAL: 3, Grade.COMPLEX: 5, Grade.COMPLAINT: 15}


def _check_days(value, name: str, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}必须是不小于 {minimum} 的整数(工作日)")


@dataclass(frozen=True)
class Policy:
    """Deadline and escalation settings, all in working days."""

    grade_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_GRADE_DAYS))
    sign_days: int = 1
    response_days: int = 1
    reminder_days_before: int = 1
    supervise_after_days: int = 2
    accountability_after_days: int = 5
    reopen_accountability: int = 2

    def __post_init__(self):
        for grade, days in self.grade_days.items():
            _check_days(days, f"办理时限({grade})", 1)
        for name in ("sign_days", "response_days", "reminder_days_before", "supervise_after_days",
                     "accountability_after_days"):
            _check_days(getattr(self, name), name)
        _check_days(self.reopen_accountability, "reopen_accountability", 1)

    def days_for(self, grade: str) -> int:
        """Working days allowed for a grade."""
        try:
            return self.grade_days[str(grade)]
        except KeyError:
            raise ValueError(f"未知的诉求等级: {grade}") from None


DEFAULT_POLICY = Policy()


def _aware(moment: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}必须是带时区的时间")
    return moment


def _check_pauses(start: dt.datetime, pauses: Iterable[Pause]) -> tuple[Pause, ...]:
    """Pauses in order, none before ``start``, none overlapping, only the last one open."""
    out: tuple[Pause, ...] = tuple((p, r) for p, r in pauses)
    previous_end = start
    for i, (paused_at, resumed_at) in enumerate(out):
        _aware(paused_at, "暂停时间")
        if paused_at < previous_end:
            raise ValueError("暂停时间不能早于派单时间或上一次恢复时间")
        if resumed_at is None:
            if i != len(out) - 1:
                raise ValueError("只有最后一次暂停可以尚未恢复")
            break
        if _aware(resumed_at, "恢复时间") < paused_at:
            raise ValueError("恢复时间不能早于暂停时间")
        previous_end = resumed_at
    return out


@dataclass(frozen=True)
class CaseTimes:
    """What the clock needs to know about one case (one dispatch round)."""

    dispatched_at: dt.datetime
    grade_days: int
    pauses: Sequence[Pause] = ()
    extensions: Sequence[int] = ()
    reopen_count: int = 0
    now: dt.datetime | None = None

    def __post_init__(self):
        _aware(self.dispatched_at, "派单时间")
        _check_days(self.grade_days, "办理时限", 1)
        _check_days(self.reopen_count, "重办次数")
        for days in self.extensions:
            _check_days(days, "延期工作日数", 1)
        object.__setattr__(self, "extensions", tuple(self.extensions))
        object.__setattr__(self, "pauses", _check_pauses(self.dispatched_at, self.pauses))
        if self.now is not None:
            _aware(self.now, "当前时间")

    @property
    def is_paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None


class Due(NamedTuple):
    date: dt.date | None  # None while the clock is paused
    provisional: bool
    paused: bool

    @property
    def deadline(self) -> dt.datetime | None:
        """The deadline moment: the end of the due date (00:00 local of the next day)."""
        return None if self.date is None else end_of_day(self.date)


# ---------------------------------------------------------------- local dates and moments
def local_date(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar date of an aware datetime."""
    return _aware(moment, "时间").astimezone(SHANGHAI).date()


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)


def end_of_day(day: dt.date) -> dt.datetime:
    return start_of_day(day + _ONE_DAY)


def _now(times: CaseTimes, now: dt.datetime | None) -> dt.datetime:
    moment = now if now is not None else times.now
    if moment is None:
        raise ValueError("需要当前时间")
    return _aware(moment, "当前时间")


# ---------------------------------------------------------------- deadlines
def _paused_workdays(pauses: Iterable[Pause], cal: WorkCalendar) -> BetweenResult:
    """Working days in (pause date, resume date] summed over the completed pauses."""
    total, provisional = 0, False
    for paused_at, resumed_at in pauses:
        if resumed_at is not None:
            got = cal.between(local_date(paused_at), local_date(resumed_at))
            total, provisional = total + got.workdays, provisional or got.provisional
    return BetweenResult(total, provisional)


def _due_with(times: CaseTimes, cal: WorkCalendar, pauses: Sequence[Pause]) -> Due:
    """The due date counting only the given (completed) pauses."""
    added = _paused_workdays(pauses, cal)
    got = cal.add(local_date(times.dispatched_at), times.grade_days + added.workdays + sum(times.extensions))
    return Due(got.date, got.provisional or added.provisional, False)


def _frozen_due(times: CaseTimes, cal: WorkCalendar) -> Due:
    """The due date as it stood when the open pause began (all earlier pauses counted)."""
    return _due_with(times, cal, times.pauses[:-1])


def due(times: CaseTimes, cal: WorkCalendar, policy: Policy | None = None) -> Due:
    """The handling due date; ``date`` is None (and ``paused`` True) while a pause is open."""
    if times.is_paused:
        return Due(None, _frozen_due(times, cal).provisional, True)
    return _due_with(times, cal, times.pauses)


def _limit_due(times: CaseTimes, cal: WorkCalendar, days: int) -> Due:
    got = cal.add(local_date(times.dispatched_at), days)
    return Due(got.date, got.provisional, False)


def sign_due(times: CaseTimes, cal: WorkCalendar, policy: Policy = DEFAULT_POLICY) -> Due:
    """Sign-off (签收) due date: ``sign_days`` working days after dispatch; pauses do not apply."""
    return _limit_due(times, cal, policy.sign_days)


def response_due(times: CaseTimes, cal: WorkCalendar, policy: Policy = DEFAULT_POLICY) -> Due:
    """First-contact due date: ``response_days`` working days after dispatch; pauses do not apply."""
    return _limit_due(times, cal, policy.response_days)


def co_task_due(dispatched_at: dt.datetime, grade_days: int, cal: WorkCalendar,
                lead_due: dt.date | None = None) -> Due:
    """A co-handling department's part: due one working day before the lead's limit, so that the lead
    department can fold it into the reply — ``grade_days - 1`` working days after the sub-task's own
    dispatch, never after the working day before ``lead_due`` (a late re-dispatch), never earlier than
    the next working day after the sub-task's dispatch."""
    start = local_date(dispatched_at)
    got = cal.add(start, max(1, grade_days - 1))
    if lead_due is not None:
        before_lead = cal.add(lead_due, -1)
        if before_lead.date < got.date:
            got = before_lead
    floor = cal.add(start, 1)
    return Due(max(got.date, floor.date), got.provisional or floor.provisional, False)


def in_time(limit: Due, at: dt.datetime) -> bool:
    """True when ``at`` is before the deadline moment of ``limit`` (e.g. a sign-off or reply)."""
    if limit.date is None:
        raise ValueError("时钟暂停中,期限未定")
    return _aware(at, "时间") < limit.deadline


def remaining_workdays(times: CaseTimes, cal: WorkCalendar, now: dt.datetime | None = None) -> int:
    """Countdown: working days in (today, due]; 0 on the due date, negative when overdue; frozen while paused."""
    if times.is_paused:
        return cal.between(local_date(times.pauses[-1][0]), _frozen_due(times, cal).date).workdays
    return cal.between(local_date(_now(times, now)), due(times, cal).date).workdays


def overdue(times: CaseTimes, cal: WorkCalendar, policy: Policy | None = None,
            now: dt.datetime | None = None) -> bool:
    """True when ``now`` (or, while paused, the pause moment) is at or past the deadline moment."""
    if times.is_paused:
        return times.pauses[-1][0] >= _frozen_due(times, cal).deadline
    return _now(times, now) >= due(times, cal).deadline


def handling_workdays(dispatched_at: dt.datetime, replied_at: dt.datetime, pauses: Iterable[Pause],
                      cal: WorkCalendar) -> BetweenResult:
    """Working days used from dispatch to reply, the paused working days excluded."""
    pauses = _check_pauses(_aware(dispatched_at, "派单时间"), pauses)
    if _aware(replied_at, "答复时间") < dispatched_at:
        raise ValueError("答复时间不能早于派单时间")
    # A pause still open at the reply ends with it; pauses after the reply never happened to the clock.
    clipped = [(p, replied_at if r is None or r > replied_at else r) for p, r in pauses if p < replied_at]
    total = cal.between(local_date(dispatched_at), local_date(replied_at))
    paused = _paused_workdays(clipped, cal)
    return BetweenResult(total.workdays - paused.workdays, total.provisional or paused.provisional)


# ---------------------------------------------------------------- escalation
def _timers(day: dt.date, cal: WorkCalendar, policy: Policy) -> dict[int, dt.datetime]:
    """The ladder's times for a given due date (before clamping to the running segment)."""
    return {
        REMINDER: start_of_day(cal.add(day, -policy.reminder_days_before).date),
        PROMPT: end_of_day(day),
        SUPERVISE: end_of_day(cal.add(day, policy.supervise_after_days).date),
        ACCOUNTABILITY: end_of_day(cal.add(day, policy.accountability_after_days).date),
    }


def _segments(times: CaseTimes, cal: WorkCalendar):
    """(start, end, due date) for each stretch the clock ran; end None for the open-ended last one."""
    start = times.dispatched_at
    for i, (paused_at, resumed_at) in enumerate(times.pauses):
        yield start, paused_at, _due_with(times, cal, times.pauses[:i]).date
        start = resumed_at
    if not times.is_paused:
        yield start, None, _due_with(times, cal, times.pauses).date


def _earlier(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else min(a, b)


def escalation_times(times: CaseTimes, cal: WorkCalendar,
                     policy: Policy = DEFAULT_POLICY) -> dict[int, dt.datetime | None]:
    """Level → the moment it becomes due (None: not scheduled, e.g. frozen by an open pause)."""
    reach: dict[int, dt.datetime | None] = dict.fromkeys(range(REMINDER, TOP_LEVEL + 1))
    for start, end, day in _segments(times, cal):
        for level, at in _timers(day, cal, policy).items():
            at = max(at, start)  # a timer never fires before the clock (re)starts
            if end is None or at <= end:
                reach[level] = _earlier(reach[level], at)
    if times.reopen_count >= policy.reopen_accountability:
        reach[ACCOUNTABILITY] = _earlier(reach[ACCOUNTABILITY], times.dispatched_at)
    for level in range(TOP_LEVEL - 1, NONE, -1):  # one step at a time: never later than a higher level
        reach[level] = _earlier(reach[level], reach[level + 1])
    return reach


def next_escalation(times: CaseTimes, cal: WorkCalendar, policy: Policy = DEFAULT_POLICY,
                    current_level: int = NONE) -> tuple[int, dt.datetime] | None:
    """The next level after ``current_level`` and the aware moment it becomes due, or None."""
    if current_level >= TOP_LEVEL:
        return None
    level = max(current_level, NONE) + 1
    at = escalation_times(times, cal, policy)[level]
    return None if at is None else (level, at.astimezone(SHANGHAI))


def level_at(times: CaseTimes, cal: WorkCalendar, policy: Policy = DEFAULT_POLICY,
             now: dt.datetime | None = None) -> int:
    """The highest level that should have fired by ``now``."""
    moment = _now(times, now)
    reached = [lv for lv, at in escalation_times(times, cal, policy).items() if at is not None and at <= moment]
    return max(reached, default=NONE)
