"""The monthly 通报 draft on 诉求 handling (DOMAIN §2B, §2C 通报: praise and criticism of departments).

For a month and a region scope it gathers:

* headline figures for the whole scope: the KPIs of ``kpis.compute`` added over the departments
  (``kpi_report.total_row``), the rounds first dispatched in the month, and the counts of the lists below;
* the ranking of lead departments by a composite stated in ``COMPOSITE_TEXT``: the mean of 按期办结率 and
  满意率 (按期办结率 alone when nobody rated the department's answers); departments with fewer than
  ``MIN_ROUNDS`` rounds due in the month are listed but not ranked (too few cases to compare);
* 表扬: the ranked departments in the first ``PRAISE_TOP`` places scoring at least ``PRAISE_MIN_SCORE``;
* 批评: rounds still open past their deadline at the month end and rounds replied late in the month (both
  with the holding department and the working days overdue), cases rated 不满意 in the month, and the
  督办 / 约谈问责 escalation steps fired in the month (``AppealEscalation`` rows).

"At the month end" is reconstructed from the stored times, so a draft of a past month says what was true
then: pauses resumed later count as open, extensions approved later do not count. For the running month
the cut-off is now and the draft is marked provisional. Rounds nobody held at the cut-off (the last lead
task was returned and not yet re-dispatched) are left out of the department criticism, as in the
按期办结率 (``kpis``). Overdue working days = working days in (due date, reply date] for late replies and
(due date, cut-off date] for open rounds (0 when only non-working days have passed). Cases appear by
number and title only: never contact data.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import asdict, dataclass, field

from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from yingshang.appeals import clock, kpi_access, kpis
from yingshang.appeals.kpi_report import pct, total_row
from yingshang.appeals.models import (AppealEscalation, AppealEvent, AppealExtension, AppealPause, AppealTask,
                                      EscalationLevel, ExtensionStatus, Satisfaction, Status, TaskRole)
from yingshang.core.errors import ValidationFailed
from yingshang.core.redact import redact
from yingshang.workcal.calendar import get_calendar

log = logging.getLogger(__name__)

MIN_ROUNDS = 3
PRAISE_TOP = 3
PRAISE_MIN_SCORE = 90.0
CRITICISED_LEVELS = (EscalationLevel.SUPERVISE, EscalationLevel.ACCOUNTABILITY)
COMPOSITE_TEXT = (f"综合得分 =(按期办结率 + 满意率)÷ 2 × 100,当月无评价的单位取按期办结率 × 100;"
                  f"当月到期的办理轮次少于 {MIN_ROUNDS} 件的单位不参与排名。")
PRAISE_TEXT = f"排名前 {PRAISE_TOP} 位且综合得分不低于 {PRAISE_MIN_SCORE:g} 分的单位予以通报表扬。"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# ---------------------------------------------------------------- the draft's parts
@dataclass
class RankedUnit:
    key: str
    label: str
    on_time: kpis.Ratio
    satisfied: kpis.Ratio
    score: float | None
    rank: int | None = None

    @property
    def rounds(self) -> int:
        """Rounds due in the month (the 按期办结率 denominator): the size of the unit's sample."""
        return self.on_time.denominator


@dataclass
class LateCase:
    appeal_id: int
    number: str
    round: int  # 办理轮次: a reopened case can be late in two rounds
    title: str
    department: str
    due_date: dt.date
    replied_on: dt.date | None  # None: still open at the cut-off
    overdue_workdays: int


@dataclass
class UnsatisfiedCase:
    appeal_id: int
    number: str
    title: str
    department: str
    rated_on: dt.date
    resolved: bool


@dataclass
class EscalatedCase:
    appeal_id: int
    number: str
    title: str
    department: str
    level: int
    level_label: str
    fired_on: dt.date


@dataclass
class Bulletin:
    period: str
    region_name: str
    prefix: str
    cutoff: dt.datetime  # the month end, or now for the running month
    provisional: bool
    total: kpis.Row
    dispatched: int
    ranking: list[RankedUnit] = field(default_factory=list)
    unranked: list[RankedUnit] = field(default_factory=list)
    open_overdue: list[LateCase] = field(default_factory=list)
    late_replies: list[LateCase] = field(default_factory=list)
    unsatisfied: list[UnsatisfiedCase] = field(default_factory=list)
    escalations: list[EscalatedCase] = field(default_factory=list)

    @property
    def month_label(self) -> str:
        year, month = self.period.split("-")
        return f"{year}年{int(month)}月"

    @property
    def title(self) -> str:
        return f"{self.region_name}优化营商环境诉求办理情况通报({self.month_label})"

    @property
    def praised(self) -> list[RankedUnit]:
        return [u for u in self.ranking if u.rank <= PRAISE_TOP and u.score >= PRAISE_MIN_SCORE]

    def escalation_count(self, level: int) -> int:
        return sum(1 for e in self.escalations if e.level == level)

    @property
    def headline(self) -> list[tuple[str, str]]:
        """(label, value) pairs of the whole scope's figures, in the order the 通报 states them."""
        t = self.total
        rows = [("交办诉求(办理轮次,含重办)", f"{self.dispatched} 件"), ("答复诉求", f"{t.handled} 件")]
        rows += [(kpis.KPI_LABELS[k], _ratio_text(getattr(t, k))) for k in kpis.KPIS[:-1]]
        rows += [("平均办理工作日", "—" if t.avg_handling_workdays is None else f"{t.avg_handling_workdays} 个工作日"),
                 ("月末超期未办结", f"{len(self.open_overdue)} 件"), ("逾期答复", f"{len(self.late_replies)} 件"),
                 ("企业评价不满意", f"{len(self.unsatisfied)} 件"),
                 ("督办", f"{self.escalation_count(EscalationLevel.SUPERVISE)} 次"),
                 ("约谈/问责", f"{self.escalation_count(EscalationLevel.ACCOUNTABILITY)} 次")]
        return rows

    @property
    def summary(self) -> str:
        """The opening paragraph: the scope's month in one sentence per topic."""
        t = self.total
        rates = ",".join(f"{kpis.KPI_LABELS[k]} {_rate_text(getattr(t, k))}"
                         for k in ("sign", "response", "on_time", "resolved", "satisfied", "returned", "reopened"))
        days = "" if t.avg_handling_workdays is None else f",平均办理 {t.avg_handling_workdays} 个工作日"
        return (f"{self.month_label},{self.region_name}共交办诉求 {self.dispatched} 件(办理轮次,含重办),答复 "
                f"{t.handled} 件;{rates}{days}。月末超期未办结 {len(self.open_overdue)} 件,逾期答复 "
                f"{len(self.late_replies)} 件,企业评价不满意 {len(self.unsatisfied)} 件;本月启动督办 "
                f"{self.escalation_count(EscalationLevel.SUPERVISE)} 次、约谈/问责 "
                f"{self.escalation_count(EscalationLevel.ACCOUNTABILITY)} 次。")

    @property
    def praise_text(self) -> str:
        names = "、".join(u.label for u in self.praised)
        if names:
            return f"{PRAISE_TEXT}本月予以表扬的单位:{names}。"
        return f"{PRAISE_TEXT}本月没有单位达到表扬条件。"

    def as_dict(self) -> dict:
        """JSON-ready: every section, dates as ISO strings, ratios as {numerator, denominator, rate}."""
        out = {"period": self.period, "title": self.title, "region_name": self.region_name,
               "cutoff": self.cutoff.isoformat(), "provisional": self.provisional, "summary": self.summary,
               "composite": COMPOSITE_TEXT, "praise_rule": PRAISE_TEXT, "dispatched": self.dispatched,
               "total": self.total.as_dict(), "praised": [u.key for u in self.praised]}
        for name in ("ranking", "unranked", "open_overdue", "late_replies", "unsatisfied", "escalations"):
            out[name] = [_plain(asdict(item)) for item in getattr(self, name)]
        return out


def _plain(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if isinstance(value, kpis.Ratio):  # dataclasses.asdict keeps named tuples as they are
            value = value._asdict()
        out[key] = value.isoformat() if isinstance(value, dt.date) else value
    return out


def _rate_text(ratio: kpis.Ratio) -> str:
    return "—" if ratio.rate is None else f"{pct(ratio)}%"


def _ratio_text(ratio: kpis.Ratio) -> str:
    return f"{_rate_text(ratio)}({ratio.numerator:g}/{ratio.denominator})"


# ---------------------------------------------------------------- the month
def is_month(value: str) -> bool:
    """True for "YYYY-MM" (the 通报 is monthly)."""
    return bool(_MONTH.match(value or ""))


def month_bounds(period: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a bulletin month "YYYY-MM"; a month that has not begun is refused."""
    if not is_month(period):
        raise ValidationFailed(f"通报月份「{(period or '')[:20]}」无效", fields={"period": "格式应为 YYYY-MM(通报按月编制)"})
    start, end = kpis.period_bounds(period)
    if start > now:
        raise ValidationFailed(f"{period} 尚未开始,不能编制通报", fields={"period": "不能晚于本月"})
    return start, end


# ---------------------------------------------------------------- ranking
def _score(row: kpis.Row) -> float | None:
    rates = [r.rate for r in (row.on_time, row.satisfied) if r.rate is not None]
    if row.on_time.rate is None:
        return None
    return round(sum(rates) / len(rates) * 100, 1)


def rank_units(rows: list[kpis.Row]) -> tuple[list[RankedUnit], list[RankedUnit]]:
    """(ranked, unranked): ranked by score, ties share a place (1, 2, 2, 4); small samples unranked."""
    units = [RankedUnit(r.key, r.label, r.on_time, r.satisfied, _score(r)) for r in rows if r.key]
    ranked = [u for u in units if u.rounds >= MIN_ROUNDS]
    ranked.sort(key=lambda u: (-u.score, -u.on_time.rate, -u.rounds, u.key))
    for unit in ranked:
        unit.rank = 1 + sum(1 for other in ranked if other.score > unit.score)
    return ranked, sorted((u for u in units if u.rounds < MIN_ROUNDS), key=lambda u: u.key)


# ---------------------------------------------------------------- overdue rounds
def _scope(prefix: str) -> Q:
    return Q(appeal__region__code__startswith=prefix) if prefix else Q()


def _held_tasks(start: dt.datetime, cutoff: dt.datetime, prefix: str) -> list[dict]:
    """Lead tasks holding their round at the cut-off and not replied before the month (a returned task
    holds nothing; merged or referred-out cases closed before the cut-off are done)."""
    done = Q(appeal__status__in=(Status.MERGED, Status.REFERRED_OUT), appeal__closed_at__lt=cutoff)
    return list(AppealTask.objects.filter(_scope(prefix), role=TaskRole.LEAD, dispatched_at__lt=cutoff)
                .filter(Q(returned_at__isnull=True) | Q(returned_at__gte=cutoff))
                .filter(Q(replied_at__isnull=True) | Q(replied_at__gte=start)).exclude(done)
                .values("appeal_id", "round", "replied_at", "department__name", "appeal__number",
                        "appeal__title", "appeal__grade__days"))


def _clock_data(ids: set[int], cutoff: dt.datetime) -> tuple[dict, dict, dict]:
    """Per (appeal, round): the first lead dispatch, the pauses and the approved extensions as of the cut-off."""
    firsts = {(a, r): first for a, r, first in AppealTask.objects.filter(role=TaskRole.LEAD, appeal_id__in=ids)
              .order_by().values("appeal_id", "round").annotate(first=Min("dispatched_at"))
              .values_list("appeal_id", "round", "first")}
    pauses: dict = {}
    for a, r, paused, resumed in AppealPause.objects.filter(appeal_id__in=ids, paused_at__lt=cutoff).order_by(
            "paused_at", "id").values_list("appeal_id", "round", "paused_at", "resumed_at"):
        pauses.setdefault((a, r), []).append((paused, resumed if resumed is not None and resumed < cutoff else None))
    decided = Q(decided_at__lt=cutoff) | Q(decided_at__isnull=True, requested_at__lt=cutoff)
    extensions: dict = {}
    for a, r, days in AppealExtension.objects.filter(decided, appeal_id__in=ids,
                                                     status=ExtensionStatus.APPROVED).values_list(
            "appeal_id", "round", "days"):
        extensions.setdefault((a, r), []).append(days)
    return firsts, pauses, extensions


def _due(task: dict, firsts: dict, pauses: dict, extensions: dict, cal) -> clock.Due | None:
    key = (task["appeal_id"], task["round"])
    if task["appeal__grade__days"] is None or key not in firsts:
        return None
    try:
        times = clock.CaseTimes(dispatched_at=firsts[key], grade_days=task["appeal__grade__days"],
                                pauses=pauses.get(key, ()), extensions=extensions.get(key, ()))
    except ValueError:  # inconsistent clock data: the case page shows it; the bulletin cannot judge it
        log.warning("诉求 %s 第 %s 轮的时钟数据有误,通报中未列入", task["appeal__number"], task["round"])
        return None
    return clock.due(times, cal)


def _late_case(task: dict, due: clock.Due, replied_on: dt.date | None, until: dt.date, cal) -> LateCase:
    return LateCase(task["appeal_id"], task["appeal__number"], task["round"], redact(task["appeal__title"]),
                    task["department__name"],
                    due.date, replied_on, cal.between(due.date, until).workdays)


def overdue_rounds(start: dt.datetime, cutoff: dt.datetime, prefix: str) -> tuple[list[LateCase], list[LateCase]]:
    """(open past the deadline at the cut-off, replied late in the month), most overdue first."""
    tasks, cal = _held_tasks(start, cutoff, prefix), get_calendar()
    firsts, pauses, extensions = _clock_data({t["appeal_id"] for t in tasks}, cutoff)
    last_day = clock.local_date(cutoff - dt.timedelta(microseconds=1))
    still_open, late = [], []
    for task in tasks:
        due = _due(task, firsts, pauses, extensions, cal)
        if due is None or due.date is None:  # paused at the cut-off: no running deadline
            continue
        replied = task["replied_at"]
        if replied is not None and replied < cutoff:
            if not clock.in_time(due, replied):
                late.append(_late_case(task, due, clock.local_date(replied), clock.local_date(replied), cal))
        elif due.deadline <= cutoff:
            still_open.append(_late_case(task, due, None, last_day, cal))
    # Criticism names cases overdue by at least one working day (a Saturday reply after a Friday deadline
    # still counts against the 按期办结率, but is not listed).
    order = lambda c: (-c.overdue_workdays, c.number, c.round)  # noqa: E731
    listed = lambda cases: sorted((c for c in cases if c.overdue_workdays > 0), key=order)  # noqa: E731
    return listed(still_open), listed(late)


# ---------------------------------------------------------------- ratings, escalations, dispatches
def unsatisfied_cases(start: dt.datetime, end: dt.datetime, prefix: str) -> list[UnsatisfiedCase]:
    """Cases rated 不满意 in the month, with the department the rating was about."""
    events = AppealEvent.objects.filter(_scope(prefix), action="rate", at__gte=start, at__lt=end,
                                        data__satisfaction=Satisfaction.UNSATISFIED)
    return [UnsatisfiedCase(e.appeal_id, e.appeal.number, redact(e.appeal.title),
                            e.department.name if e.department else "—",
                            clock.local_date(e.at), bool(e.data.get("resolved")))
            for e in events.select_related("appeal", "department").order_by("at", "id")]


def escalated_cases(start: dt.datetime, end: dt.datetime, prefix: str) -> list[EscalatedCase]:
    """督办 and 约谈/问责 steps fired in the month."""
    steps = AppealEscalation.objects.filter(_scope(prefix), level__in=CRITICISED_LEVELS, fired_at__gte=start,
                                            fired_at__lt=end)
    return [EscalatedCase(s.appeal_id, s.appeal.number, redact(s.appeal.title),
                          s.department.name if s.department else "—",
                          s.level, clock.LEVEL_LABELS[s.level], clock.local_date(s.fired_at))
            for s in steps.select_related("appeal", "department").order_by("-level", "fired_at", "id")]


def dispatched_rounds(start: dt.datetime, end: dt.datetime, prefix: str) -> int:
    """Rounds whose first lead dispatch falls in the month (re-dispatches after a 退单 are not new)."""
    earlier = AppealTask.objects.filter(role=TaskRole.LEAD, appeal_id=OuterRef("appeal_id"), round=OuterRef("round"),
                                        dispatched_at__lt=start)
    return (AppealTask.objects.filter(_scope(prefix), role=TaskRole.LEAD, dispatched_at__gte=start,
                                      dispatched_at__lt=end).filter(~Exists(earlier))
            .order_by().values("appeal_id", "round").distinct().count())


# ---------------------------------------------------------------- the draft
def build(period: str, prefix: str = "", region_name: str = kpi_access.DEFAULT_REGION_NAME,
          now: dt.datetime | None = None) -> Bulletin:
    """The 通报 draft of a month for the cases whose region code starts with ``prefix``."""
    now = now or timezone.now()
    start, end = month_bounds(period, now)
    cutoff = min(end, now)
    rows = [r for r in kpis.compute(period, "department", prefix) if r.key]
    ranked, unranked = rank_units(rows)
    still_open, late = overdue_rounds(start, cutoff, prefix)
    return Bulletin(period, region_name, prefix, cutoff, cutoff < end, total_row(rows),
                    dispatched_rounds(start, end, prefix), ranked, unranked, still_open, late,
                    unsatisfied_cases(start, end, prefix), escalated_cases(start, end, prefix))


def bulletin_for(user, period: str) -> Bulletin:
    """The draft for the reader's own region scope (dispatchers, leaders, evaluators, admins)."""
    scope = kpi_access.access_bulletin(user)
    return build(period, scope.prefix, scope.region_name)
