"""诉求 KPIs per unit (lead department or county) and period (month ``2026-11`` or quarter ``2026-Q4``).

Definitions (DOMAIN §3; every figure is a (numerator, denominator, rate) with rate None when the
denominator is 0; the period is [start, end) in Asia/Shanghai; working days come from the platform
calendar through ``clock``). The *unit of dispatch* is a lead ``AppealTask``: each dispatch to a lead
department (re-routing after a 退单 and each reopened round create a new one). A *round* is one
handling round of a case: its clock starts at the round's first lead dispatch and keeps running
through returns (``clock`` semantics); it belongs to the department holding it last (its last lead task).

* 按时签收率 = lead tasks dispatched in the period and signed before the end of the grade's sign limit
  (``sign_days`` working days after *that task's* dispatch date, ``clock.sign_due``/``clock.in_time``)
  ÷ lead tasks dispatched in the period. A task returned instead of signed counts as not signed.
* 响应率 = lead tasks dispatched in the period whose first ``contact`` event (by that department, before
  the case's next lead dispatch) is before the end of the response limit (``response_days`` working
  days after the task's dispatch) ÷ lead tasks dispatched in the period *needing response*: not
  returned, and the case has a contact phone or an enterprise to contact.
* 按期办结率 = rounds whose due date (``clock.due``: grade days + that round's completed pauses +
  approved extensions) falls in the period and whose reply came before the deadline moment ÷ rounds
  due in the period. Left out: rounds with an open pause (no due date), rounds nobody holds (the last
  lead task was returned), rounds of merged/referred-out cases never replied, and rounds dispatched
  more than ``LOOKBACK_DAYS`` calendar days before the period (bounds the scan).
* 解决率 = ``rate`` events in the period with resolved=yes ÷ ``rate`` events in the period.
* 满意率 = (satisfied + w × basically satisfied) ÷ rated, w = setting
  ``YINGSHANG_APPEAL_BASIC_SATISFIED_WEIGHT`` (default 1.0). A case closed without a rating after the
  rating window (``close`` event) counts as setting ``YINGSHANG_APPEAL_UNRATED_AS``: None (default)
  excludes it, or ``{"resolved": bool, "satisfaction": "satisfied|basically_satisfied|unsatisfied"}``
  counts it as that rating.
* 退单率 = lead tasks returned (``returned_at``, one per 退单 event) in the period ÷ lead tasks
  dispatched in the period, both attributed to the department the task went to.
* 重办率 = ``reopen`` events in the period ÷ closures (``rate`` + ``close`` events) in the period, both
  attributed to the event's department (a reopened case goes back to the same department).
* Average handling working days = mean of ``clock.handling_workdays`` (round dispatch → reply, the
  round's paused working days excluded) over lead tasks replied in the period.

Grouping: ``department`` = the department of the task/round/event (key: department code); ``region`` =
the county, i.e. the first 6 digits of the case's region code. ``prefix`` limits everything to cases whose
region code starts with it (the caller's scope). A running period's figures are provisional (tasks
whose limits have not yet passed count as not yet signed/contacted).

Cost: 5 queries whatever the number of cases (tasks, appeals, pauses+extensions, events, labels);
the rest is Python with the in-memory calendar.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.db.models import F, Q, QuerySet

from yingshang.appeals import clock
from yingshang.appeals.clock import SHANGHAI
from yingshang.appeals.models import (Appeal, AppealEvent, AppealExtension, AppealPause, AppealTask,
                                      ExtensionStatus, Satisfaction, Status, TaskRole)
from yingshang.core.errors import ValidationFailed
from yingshang.core.models import Department, Region
from yingshang.workcal.calendar import get_calendar

KPIS = ("sign", "response", "on_time", "resolved", "satisfied", "returned", "reopened", "handling")
KPI_LABELS = {"sign": "按时签收率", "response": "响应率", "on_time": "按期办结率", "resolved": "解决率",
              "satisfied": "满意率", "returned": "退单率", "reopened": "重办率", "handling": "平均办理工作日"}
GROUPS = ("department", "region")
LOOKBACK_DAYS = 183
MIN_YEAR, MAX_YEAR = 2000, 2100  # the platform's records and calendar; also keeps date arithmetic in range
_PERIOD = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


class Ratio(NamedTuple):
    numerator: float
    denominator: int
    rate: float | None


@dataclass
class Row:
    key: str
    label: str
    sign: Ratio
    response: Ratio
    on_time: Ratio
    resolved: Ratio
    satisfied: Ratio
    returned: Ratio
    reopened: Ratio
    avg_handling_workdays: float | None
    handled: int  # cases behind the average

    def as_dict(self) -> dict:
        """JSON-ready: each KPI as {numerator, denominator, rate}."""
        out = {"key": self.key, "label": self.label, "avg_handling_workdays": self.avg_handling_workdays,
               "handled": self.handled}
        for name in KPIS[:-1]:
            out[name] = getattr(self, name)._asdict()
        return out


@dataclass
class _Acc:
    """Per unit and KPI: appeal ids in the numerator / denominator and the numerator's weighted sum."""

    num: dict = field(default_factory=lambda: defaultdict(list))
    den: dict = field(default_factory=lambda: defaultdict(list))
    weight: dict = field(default_factory=lambda: defaultdict(float))
    days: list = field(default_factory=list)

    def add(self, kpi: str, appeal_id: int, hit: bool, weight: float = 1.0) -> None:
        self.den[kpi].append(appeal_id)
        if hit and weight:
            self.num[kpi].append(appeal_id)
            self.weight[kpi] += weight

    def hit(self, kpi: str, appeal_id: int) -> None:
        """A numerator without its own denominator row (退单, 重办 count against other events)."""
        self.num[kpi].append(appeal_id)
        self.weight[kpi] += 1

    def ratio(self, kpi: str) -> Ratio:
        num, den = self.weight[kpi], len(self.den[kpi])
        num = int(num) if float(num).is_integer() else round(num, 4)
        return Ratio(num, den, round(num / den, 4) if den else None)


# ---------------------------------------------------------------- period
def period_bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a month "2026-11" or a quarter "2026-Q4", aware in Asia/Shanghai."""
    m = _PERIOD.match(period or "")
    if not m:
        raise ValidationFailed(f"统计周期「{period or ''}」无效", fields={"period": "格式应为 YYYY-MM 或 YYYY-Qn"})
    year = int(m.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed(f"统计周期「{period}」的年份超出范围", fields={"period": f"年份应在 {MIN_YEAR}–{MAX_YEAR} 之间"})
    first = int(m.group(2)) if m.group(2) else 3 * int(m.group(3)) - 2
    months = 1 if m.group(2) else 3
    last = first + months
    start = dt.datetime(year, first, 1, tzinfo=SHANGHAI)
    end = dt.datetime(year + (last > 12), (last - 1) % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def _check_group(group_by: str) -> None:
    if group_by not in GROUPS:
        raise ValidationFailed(f"分组方式「{group_by or ''}」无效", fields={"group_by": "可选 department 或 region"})


# ---------------------------------------------------------------- loading (few queries)
class _Data(NamedTuple):
    appeals: dict  # id → values() row
    rounds: dict  # (appeal id, round) → lead tasks sorted by dispatch
    pauses: dict  # (appeal id, round) → [(paused_at, resumed_at)]
    extensions: dict  # (appeal id, round) → [days]
    contacts: dict  # appeal id → [(at, department id)]
    events: list  # rate/close/reopen events in the period


APPEAL_FIELDS = ("id", "region_id", "status", "contact_phone", "enterprise_id", "grade__code", "grade__days",
                 "grade__sign_days", "grade__response_days")


def _touched(start: dt.datetime, end: dt.datetime) -> Q:
    """Lead tasks that can count in the period: dispatched, replied or returned in it, or dispatched in the
    look-back window in a round that can fall due in it (the current round's stored deadline in the
    period, or an earlier round) — a superset; the counting below decides exactly."""
    lookback = start - dt.timedelta(days=LOOKBACK_DAYS)
    due_here = Q(appeal__due_at__gt=start, appeal__due_at__lte=end) | Q(round__lt=F("appeal__round"))
    return (Q(dispatched_at__gte=start, dispatched_at__lt=end) | Q(replied_at__gte=start, replied_at__lt=end)
            | Q(returned_at__gte=start, returned_at__lt=end)
            | (Q(dispatched_at__gte=lookback, dispatched_at__lt=end) & due_here))


def _load(start: dt.datetime, end: dt.datetime, prefix: str) -> _Data:
    """Everything the counting needs, with subqueries (no id lists sent back and forth)."""
    scope = Q(appeal__region__code__startswith=prefix) if prefix else Q()
    ids = AppealTask.objects.filter(scope, _touched(start, end), role=TaskRole.LEAD).values("appeal_id")
    tasks = AppealTask.objects.filter(role=TaskRole.LEAD, appeal_id__in=ids).order_by("dispatched_at", "id").values(
        "id", "appeal_id", "round", "department_id", "dispatched_at", "signed_at", "replied_at", "returned_at")
    rounds: dict = defaultdict(list)
    for t in tasks:
        rounds[(t["appeal_id"], t["round"])].append(t)
    rated = AppealEvent.objects.filter(scope, at__gte=start, at__lt=end, action__in=("rate", "close", "reopen"))
    events = list(rated.values("appeal_id", "action", "department_id", "data"))
    # Two queries merged here: one OR of the two subqueries makes PostgreSQL scan every case.
    appeals = {a["id"]: a for a in Appeal.objects.filter(pk__in=ids).values(*APPEAL_FIELDS)}
    appeals.update({a["id"]: a for a in Appeal.objects.filter(pk__in=rated.values("appeal_id")).values(*APPEAL_FIELDS)})
    pauses, extensions, contacts = defaultdict(list), defaultdict(list), defaultdict(list)
    for p in AppealPause.objects.filter(appeal_id__in=ids).order_by("paused_at", "id").values_list(
            "appeal_id", "round", "paused_at", "resumed_at"):
        pauses[(p[0], p[1])].append((p[2], p[3]))
    for e in AppealExtension.objects.filter(appeal_id__in=ids, status=ExtensionStatus.APPROVED).values_list(
            "appeal_id", "round", "days"):
        extensions[(e[0], e[1])].append(e[2])
    for c in AppealEvent.objects.filter(appeal_id__in=ids, action="contact").order_by("at").values_list(
            "appeal_id", "at", "department_id"):
        contacts[c[0]].append((c[1], c[2]))
    return _Data(appeals, rounds, pauses, extensions, contacts, events)


# ---------------------------------------------------------------- counting
def _policy(appeal: dict) -> clock.Policy:
    return clock.Policy(grade_days={appeal["grade__code"]: appeal["grade__days"]},
                        sign_days=appeal["grade__sign_days"], response_days=appeal["grade__response_days"])


def _times(appeal: dict, dispatched_at: dt.datetime, key, data: _Data) -> clock.CaseTimes:
    return clock.CaseTimes(dispatched_at=dispatched_at, grade_days=appeal["grade__days"],
                           pauses=data.pauses.get(key, ()), extensions=data.extensions.get(key, ()))


def _first_contact(task: dict, until: dt.datetime | None, data: _Data) -> dt.datetime | None:
    """The department's first contact after this dispatch and before the case's next lead dispatch."""
    for at, dept in data.contacts.get(task["appeal_id"], ()):
        if at >= task["dispatched_at"] and (until is None or at < until) and dept == task["department_id"]:
            return at
    return None


def _count_task(acc: _Acc, task: dict, next_dispatch, appeal: dict, cal, data: _Data) -> None:
    """按时签收, 响应 and 退单 of one lead task dispatched in the period."""
    times = clock.CaseTimes(dispatched_at=task["dispatched_at"], grade_days=appeal["grade__days"])
    pol, aid = _policy(appeal), appeal["id"]
    signed = task["signed_at"] is not None and clock.in_time(clock.sign_due(times, cal, pol), task["signed_at"])
    acc.add("sign", aid, signed)
    acc.den["returned"].append(aid)
    if task["returned_at"] is None and (appeal["contact_phone"] or appeal["enterprise_id"]):
        contact = _first_contact(task, next_dispatch, data)
        acc.add("response", aid, contact is not None
                and clock.in_time(clock.response_due(times, cal, pol), contact))


def _count_round(units, key, tasks: list, appeal: dict, cal, data: _Data, start, end, group) -> None:
    """按期办结 and handling time of one round (its clock runs from the first lead dispatch)."""
    holder, aid = tasks[-1], appeal["id"]
    times = _times(appeal, tasks[0]["dispatched_at"], key, data)
    replied = holder["replied_at"]
    if replied is not None and start <= replied < end:
        acc = units[group(holder)]
        acc.days.append(clock.handling_workdays(times.dispatched_at, replied, times.pauses, cal).workdays)
        acc.den["handling"].append(aid)
    if holder["returned_at"] is not None or (replied is None and appeal["status"] in (Status.MERGED,
                                                                                        Status.REFERRED_OUT)):
        return
    due = clock.due(times, cal)
    if due.date is not None and start.date() <= due.date < end.date():
        units[group(holder)].add("on_time", aid, replied is not None and clock.in_time(due, replied))


def _rating(event: dict) -> dict | None:
    if event["action"] == "rate":
        return event["data"]
    return getattr(settings, "YINGSHANG_APPEAL_UNRATED_AS", None)


def _count_event(acc: _Acc, event: dict) -> None:
    """解决, 满意 (rate/close) and 重办 (reopen against closures) of one event in the period."""
    aid = event["appeal_id"]
    if event["action"] == "reopen":
        acc.hit("reopened", aid)
        return
    acc.den["reopened"].append(aid)
    rating = _rating(event)
    if not rating:
        return
    w = float(getattr(settings, "YINGSHANG_APPEAL_BASIC_SATISFIED_WEIGHT", 1.0))
    weights = {Satisfaction.SATISFIED: 1.0, Satisfaction.BASICALLY_SATISFIED: w}
    acc.add("resolved", aid, bool(rating.get("resolved")))
    acc.add("satisfied", aid, rating.get("satisfaction") in weights, weights.get(rating.get("satisfaction"), 0.0))


def _accumulate(period: str, group_by: str, prefix: str) -> dict[str, _Acc]:
    _check_group(group_by)
    start, end = period_bounds(period)
    data, cal = _load(start, end, prefix), get_calendar()
    units: dict[str, _Acc] = defaultdict(_Acc)
    if group_by == "department":
        codes = dict(Department.objects.values_list("id", "code"))
        group = lambda row: codes.get(row["department_id"], "")  # noqa: E731
    else:
        group = lambda row: data.appeals[row["appeal_id"]]["region_id"][:6]  # noqa: E731
    for key, tasks in data.rounds.items():
        appeal = data.appeals[key[0]]
        if appeal["grade__days"] is None:
            continue
        for i, task in enumerate(tasks):
            if start <= task["dispatched_at"] < end:
                nxt = _next_dispatch(data, key, i)
                _count_task(units[group(task)], task, nxt, appeal, cal, data)
            if task["returned_at"] is not None and start <= task["returned_at"] < end:
                units[group(task)].hit("returned", appeal["id"])
        _count_round(units, key, tasks, appeal, cal, data, start, end, group)
    for event in data.events:
        _count_event(units[group(event)], event)
    return units


def _next_dispatch(data: _Data, key, i: int) -> dt.datetime | None:
    """When the case was next dispatched after task ``i`` of round ``key`` (bounds its first contact)."""
    tasks = data.rounds[key]
    if i + 1 < len(tasks):
        return tasks[i + 1]["dispatched_at"]
    following = data.rounds.get((key[0], key[1] + 1))  # rounds are numbered consecutively
    return following[0]["dispatched_at"] if following else None


def _labels(group_by: str, keys) -> dict[str, str]:
    if group_by == "department":
        return dict(Department.objects.filter(code__in=keys).values_list("code", "name"))
    return dict(Region.objects.filter(code__in=keys).values_list("code", "name"))


# ---------------------------------------------------------------- public queries
def compute(period: str, group_by: str = "department", prefix: str = "") -> list[Row]:
    """KPI rows per lead department or county for a month/quarter, limited to the scope prefix."""
    units = _accumulate(period, group_by, prefix)
    labels = _labels(group_by, list(units))
    rows = []
    for key in sorted(units):
        acc = units[key]
        avg = round(sum(acc.days) / len(acc.days), 2) if acc.days else None
        rows.append(Row(key, labels.get(key, key), *(acc.ratio(k) for k in KPIS[:-1]), avg, len(acc.days)))
    return rows


def cases_behind(period: str, group_by: str, key: str, kpi: str, prefix: str = "",
                 part: str = "denominator") -> QuerySet:
    """The cases behind one figure: ``part`` "numerator" or "denominator" of ``kpi`` for the unit ``key``."""
    if kpi not in KPIS:
        raise ValidationFailed(f"指标「{kpi or ''}」无效", fields={"kpi": f"可选:{', '.join(KPIS)}"})
    if part not in ("numerator", "denominator"):
        raise ValidationFailed(f"「{part or ''}」无效", fields={"part": "可选 numerator 或 denominator"})
    acc = _accumulate(period, group_by, prefix).get(key)
    ids = [] if acc is None else (acc.num if part == "numerator" else acc.den)[kpi]
    return Appeal.objects.filter(pk__in=set(ids))
