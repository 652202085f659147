"""The escalation sweep: fires the timers stored in ``Appeal.next_escalation_at``, each step exactly once.

Levels (clock.py): 1 reminder to the lead department's handlers, 2 提示 to its handlers and leader,
3 督办 to its leader copied to the dispatchers of the case's region, 4 约谈/问责 to the same people —
the AppealEscalation rows of level 4 are the 约谈/问责 list.

Safe with several workers: on PostgreSQL the batch is claimed with ``FOR UPDATE SKIP LOCKED`` (two
sweeps take disjoint rows); SQLite's IMMEDIATE transactions serialise writers. Whatever happens, a
step only counts — event, audit row, notifications — when its AppealEscalation row was actually
inserted (``ON CONFLICT DO NOTHING RETURNING``), and notification keys are unique per step, so a retried
or overlapping sweep adds nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from yingshang.appeals import clock, deadlines
from yingshang.appeals.models import Appeal, AppealEscalation, AppealEvent
from yingshang.core import audit, notify
from yingshang.core.bulk import update_rows
from yingshang.core.models import AuditAction, Role, User
from yingshang.workcal.calendar import get_calendar

log = logging.getLogger(__name__)

RETRY_BROKEN = dt.timedelta(hours=1)  # a case whose clock data is inconsistent is retried, not dropped
INSERT_CHUNK = 500
CHANNELS = {1: ("inbox", "email"), 2: ("inbox", "email", "sms"), 3: ("inbox", "email", "sms"),
            4: ("inbox", "email", "sms")}
TITLES = {1: "诉求即将到期提醒:{number}", 2: "诉求已到办理期限(提示):{number}",
          3: "督办通知:诉求 {number} 已超期", 4: "约谈/问责:诉求 {number}"}


@dataclass
class Fired:
    appeal: Appeal
    level: int
    previous: int


# ---------------------------------------------------------------- claiming
def _claim(now: dt.datetime, batch: int) -> list[Appeal]:
    """Lock up to ``batch`` due cases this worker alone will process, with their clock data."""
    due = Appeal.objects.escalation_due(now).order_by("next_escalation_at")
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    ids = list(due.values_list("pk", flat=True)[:batch])
    return list(deadlines.with_clock_data(Appeal.objects.filter(pk__in=ids)).select_related("department"))


def _plan(appeal: Appeal, now: dt.datetime, cal) -> tuple[clock.CaseTimes | None, int]:
    """The case's clock input and the level that should have fired by ``now``."""
    times = deadlines.case_times(appeal, now)
    if times is None or appeal.status not in deadlines.HOLDING_STATUSES or times.is_paused:
        return times, appeal.escalation_level
    return times, max(appeal.escalation_level, clock.level_at(times, cal, deadlines.policy(appeal.grade), now))


# ---------------------------------------------------------------- inserting the steps
def _insert_steps(rows: list[tuple]) -> set[tuple[int, int]]:
    """INSERT the (appeal, round, level) rows; return the (appeal id, level) pairs actually created."""
    q, table = connection.ops.quote_name, AppealEscalation._meta.db_table
    created: set[tuple[int, int]] = set()
    for i in range(0, len(rows), INSERT_CHUNK):
        part = rows[i:i + INSERT_CHUNK]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
        sql = (f"INSERT INTO {q(table)} (appeal_id, round, level, fired_at, department_id) VALUES {values} "
               f"ON CONFLICT DO NOTHING RETURNING appeal_id, level")
        with connection.cursor() as cursor:
            cursor.execute(sql, [v for row in part for v in row])
            created.update((int(a), int(lv)) for a, lv in cursor.fetchall())
    return created


def _fire(plans: list[tuple[Appeal, int]], now: dt.datetime) -> list[Fired]:
    """Insert every step from the stored level up to the target; the steps that were new."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [(a.pk, a.round, lv, stamp, a.department_id)
            for a, target in plans for lv in range(a.escalation_level + 1, target + 1)]
    created = _insert_steps(rows) if rows else set()
    return [Fired(a, lv, lv - 1) for a, target in plans for lv in range(a.escalation_level + 1, target + 1)
            if (a.pk, lv) in created]


# ---------------------------------------------------------------- the case timeline and the audit log
def _reason(f: Fired) -> str:
    a = f.appeal
    due = a.due_date.isoformat() if a.due_date else "未定"
    if f.level == clock.ACCOUNTABILITY and a.reopen_count >= deadlines.policy(a.grade).reopen_accountability:
        return f"{clock.LEVEL_LABELS[f.level]}:重办 {a.reopen_count} 次,列入约谈/问责名单"
    return f"{clock.LEVEL_LABELS[f.level]}:办理期限 {due}"


def _record(fired: list[Fired], now: dt.datetime) -> None:
    """One timeline event per step, and the audit rows (one bulk insert per level)."""
    AppealEvent.objects.bulk_create(
        [AppealEvent(appeal_id=f.appeal.pk, at=now, action="escalate", department_id=f.appeal.department_id,
                     reason=_reason(f), data={"level": f.level}) for f in fired], batch_size=1000)
    by_level: dict[int, list] = defaultdict(list)
    for f in fired:
        by_level[f.level].append(("appeals.appeal", str(f.appeal.pk), str(f.appeal),
                                  {"escalation_level": [f.previous, f.level]}))
    for level, rows in sorted(by_level.items()):
        audit.record_bulk(None, AuditAction.UPDATE, rows, reason=f"自动升级:{clock.LEVEL_LABELS[level]}", at=now)


# ---------------------------------------------------------------- recipients and notifications
class Recipients:
    """The people of each level, loaded once per batch (two queries, whatever the batch size)."""

    def __init__(self, department_ids: set[int]):
        staff = User.objects.filter(is_active=True, department_id__in=department_ids,
                                    role__in=[Role.HANDLER, Role.DEPT_LEADER])
        self.staff: dict[tuple[int, str], list[User]] = defaultdict(list)
        for user in staff:
            self.staff[(user.department_id, user.role)].append(user)
        self.dispatchers = list(User.objects.filter(is_active=True, role=Role.DISPATCHER)
                                .select_related("region", "department__region"))

    def covering(self, region_code: str) -> list[User]:
        """Dispatchers whose region scope covers the case's region."""
        return [u for u in self.dispatchers if region_code.startswith(u.scope_prefix)]

    def of(self, appeal: Appeal, level: int) -> list[User]:
        """Who hears of this step; the region's dispatchers when the department has nobody."""
        dept = appeal.department_id
        handlers, leaders = self.staff.get((dept, Role.HANDLER), []), self.staff.get((dept, Role.DEPT_LEADER), [])
        if level == clock.REMINDER:
            people = handlers
        elif level == clock.PROMPT:
            people = handlers + leaders
        else:  # 督办 and 约谈/问责: the leader, copied to the dispatchers
            return leaders + self.covering(appeal.region_id)
        return people or leaders or self.covering(appeal.region_id)


def _message(f: Fired) -> tuple[str, str, str]:
    a = f.appeal
    dept = a.department.name if a.department_id else "未指定单位"
    body = f"《{a.title[:60]}》({dept})— {_reason(f)}。"
    return TITLES[f.level].format(number=a.number), body, f"/appeals/{a.pk}/"


def _notify(fired: list[Fired]) -> int:
    """Inbox and outbox rows for every new step, keyed ``appeal:{id}:esc:{round}:{level}`` per recipient."""
    if not fired:
        return 0
    people = Recipients({f.appeal.department_id for f in fired if f.appeal.department_id})
    messages = []
    for f in fired:
        title, body, link = _message(f)
        key = f"appeal:{f.appeal.pk}:esc:{f.appeal.round}:{f.level}"
        messages.append(notify.Message(list(people.of(f.appeal, f.level)), key, title, body, link,
                                       "appeal_escalation", CHANNELS[f.level]))
    return notify.do_notify_many(messages).inbox


# ---------------------------------------------------------------- the sweep
def _advance(cases: list[Appeal], targets: dict[int, int], now: dt.datetime, cal) -> None:
    """Store the reached level and the next timer of every claimed case (one batch of UPDATEs)."""
    for appeal in cases:
        appeal.escalation_level = targets.get(appeal.pk, appeal.escalation_level)
        try:
            deadlines.recompute(appeal, now, cal=cal)
        except ValueError:
            log.exception("诉求 %s 的时钟数据有误,%s 后重试", appeal.number, RETRY_BROKEN)
            appeal.next_escalation_at = now + RETRY_BROKEN
    update_rows(cases, ["escalation_level", *deadlines.CLOCK_FIELDS])


def _targets(cases: list[Appeal], now: dt.datetime, cal) -> dict[int, int]:
    targets = {}
    for appeal in cases:
        try:
            targets[appeal.pk] = _plan(appeal, now, cal)[1]
        except ValueError:  # logged by _advance, which meets the same error
            continue
    return targets


def sweep(now: dt.datetime | None = None, batch: int = 1000) -> int:
    """Fire the escalation steps due by ``now`` for up to ``batch`` cases; the number of cases claimed."""
    now = now or timezone.now()
    cal = get_calendar()
    with transaction.atomic():
        cases = _claim(now, batch)
        if not cases:
            return 0
        targets = _targets(cases, now, cal)
        fired = _fire([(a, targets[a.pk]) for a in cases if a.pk in targets], now)
        if fired:
            _record(fired, now)
            _notify(fired)
        _advance(cases, targets, now, cal)
    return len(cases)


def sweep_all(now: dt.datetime | None = None, batch: int = 1000, max_rounds: int = 1000) -> int:
    """Sweep batch after batch until fewer than a batch were due; the number of cases processed."""
    total = 0
    for _ in range(max_rounds):
        claimed = sweep(now, batch)
        total += claimed
        if claimed < batch:
            break
    return total


def escalation_list(department=None):
    """The 约谈/问责 list: level-4 steps, newest first (optionally of one department)."""
    qs = AppealEscalation.objects.filter(level=clock.ACCOUNTABILITY).select_related("appeal", "department")
    return (qs.filter(department=department) if department is not None else qs).order_by("-fired_at", "-id")
