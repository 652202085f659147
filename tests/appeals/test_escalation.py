"""The escalation sweep: each step fires exactly once, notifies the right people, is audited and on the case.

Ladder of a normal-grade case dispatched Friday 2025-09-26 (due 09-30, hand-counted on the 2025 notice):
reminder 09-29 00:00, 提示 10-01 00:00, 督办 10-11 00:00 (10-09, 10-10), 约谈/问责 10-15 00:00
(10-09, 10-10, 10-11 Saturday worked, 10-13, 10-14)."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from yingshang import jobs
from yingshang.appeals import escalation
from yingshang.appeals.models import Appeal, AppealEscalation, AppealEvent, Status
from yingshang.core.models import AuditLog, Notification, OutboxMessage
from tests.appeals.support_actions import ensure_grades
from tests.appeals.test_deadlines import at, make_appeal, pause

pg_only = pytest.mark.skipif("connection.vendor != 'postgresql'",
                             reason="threads with their own connections need a server database (PostgreSQL)")


def fired_levels(appeal) -> list[int]:
    return sorted(AppealEscalation.objects.filter(appeal=appeal).values_list("level", flat=True))


def event_levels(appeal) -> list[int]:
    return sorted(e.data["level"] for e in AppealEvent.objects.filter(appeal=appeal, action="escalate"))


def recipients(appeal, level) -> set[str]:
    prefix = f"appeal:{appeal.pk}:esc:{appeal.round}:{level}:"
    return set(Notification.objects.filter(key__startswith=prefix).values_list("user__username", flat=True))


def audit_rows(appeal) -> list[list[int]]:
    rows = AuditLog.objects.filter(object_type="appeals.appeal", object_id=str(appeal.pk)).order_by("id")
    return [r.changes["escalation_level"] for r in rows]


def snapshot() -> tuple[int, ...]:
    return (AppealEscalation.objects.count(), AppealEvent.objects.count(), AuditLog.objects.count(),
            Notification.objects.count(), OutboxMessage.objects.count())


@pytest.mark.django_db
def test_successive_sweeps_climb_the_ladder_one_step_each(org):
    appeal = make_appeal(org)
    steps = [("2025-09-28 23:59", 0), ("2025-09-29 08:00", 1), ("2025-09-30 23:00", 1), ("2025-10-01 09:00", 2),
             ("2025-10-10 23:00", 2), ("2025-10-11 09:00", 3), ("2025-10-14 12:00", 3), ("2025-10-15 09:00", 4)]
    for moment, level in steps:
        escalation.sweep(at(moment))
        appeal.refresh_from_db()
        assert (moment, appeal.escalation_level) == (moment, level)
        assert fired_levels(appeal) == list(range(1, level + 1))
    assert appeal.next_escalation_at is None  # the top of the ladder
    assert event_levels(appeal) == [1, 2, 3, 4]
    assert audit_rows(appeal) == [[0, 1], [1, 2], [2, 3], [3, 4]]


@pytest.mark.django_db
def test_each_step_reaches_its_people(org):
    appeal = make_appeal(org)
    escalation.sweep(at("2025-10-20 09:00"))
    assert recipients(appeal, 1) == {"t_handler"}
    assert recipients(appeal, 2) == {"t_handler", "t_dept_leader"}
    # 督办 and 约谈/问责: the leader, copied to the city dispatcher (whose scope covers 川汇区);
    # the 扶沟县 dispatcher's scope does not cover the case's region
    assert recipients(appeal, 3) == {"t_dept_leader", "t_dispatcher"}
    assert recipients(appeal, 4) == {"t_dept_leader", "t_dispatcher"}
    assert escalation.escalation_list(org.market).filter(appeal=appeal).count() == 1


@pytest.mark.django_db
def test_a_late_sweep_fires_every_missed_step_once(org):
    appeal = make_appeal(org)
    assert escalation.sweep(at("2025-10-20 09:00")) == 1
    appeal.refresh_from_db()
    assert appeal.escalation_level == 4 and fired_levels(appeal) == [1, 2, 3, 4]
    assert event_levels(appeal) == [1, 2, 3, 4]


@pytest.mark.django_db
def test_running_the_sweep_again_at_the_same_time_adds_nothing(org):
    handler = org.users["handler"]
    handler.email, handler.phone = "handler@scjg.example.cn", "13800000001"
    handler.save()
    appeal = make_appeal(org)
    escalation.sweep(at("2025-10-01 09:00"))
    before = snapshot()
    assert OutboxMessage.objects.filter(key=f"appeal:{appeal.pk}:esc:1:2:{handler.pk}:sms").count() == 1
    # a stale timer (as after a crash between two writes) must not fire anything twice either
    Appeal.objects.filter(pk=appeal.pk).update(next_escalation_at=at("2025-09-01 00:00"))
    assert escalation.sweep(at("2025-10-01 09:00")) == 1
    assert snapshot() == before
    keys = Counter(Notification.objects.values_list("key", flat=True))
    assert keys and set(keys.values()) == {1}


@pytest.mark.django_db
def test_a_step_already_recorded_is_not_acted_on_again(org):
    appeal = make_appeal(org)
    AppealEscalation.objects.create(appeal=appeal, round=1, level=1, department=org.market)
    escalation.sweep(at("2025-10-01 09:00"))
    appeal.refresh_from_db()
    assert appeal.escalation_level == 2
    assert event_levels(appeal) == [2]  # only the step this sweep inserted
    assert recipients(appeal, 1) == set()


@pytest.mark.django_db
def test_a_paused_case_does_not_escalate(org):
    appeal = make_appeal(org, dispatched="2025-09-22 09:00", status=Status.PAUSED)
    pause(appeal, org, "2025-09-23 10:00")
    Appeal.objects.filter(pk=appeal.pk).update(next_escalation_at=at("2025-09-24 00:00"))  # a stale timer
    escalation.sweep(at("2025-10-20 09:00"))
    appeal.refresh_from_db()
    assert fired_levels(appeal) == [] and appeal.escalation_level == 0
    assert appeal.next_escalation_at is None


@pytest.mark.django_db
def test_a_replied_case_stops_escalating(org):
    appeal = make_appeal(org)
    escalation.sweep(at("2025-09-29 09:00"))
    Appeal.objects.filter(pk=appeal.pk).update(status=Status.REPLIED)
    escalation.sweep(at("2025-10-20 09:00"))
    appeal.refresh_from_db()
    assert fired_levels(appeal) == [1] and appeal.next_escalation_at is None


@pytest.mark.django_db
def test_a_repeatedly_reopened_case_is_listed_for_accountability_at_once(org):
    appeal = make_appeal(org, dispatched="2025-10-20 09:00", round=3, reopen_count=2)
    escalation.sweep(at("2025-10-20 09:05"))
    appeal.refresh_from_db()
    assert appeal.escalation_level == 4
    assert sorted(AppealEscalation.objects.filter(appeal=appeal, round=3).values_list("level", flat=True)) == [1, 2, 3, 4]
    assert "重办 2 次" in AppealEvent.objects.get(appeal=appeal, data__level=4).reason


@pytest.mark.django_db
def test_the_periodic_job_sweeps_batch_after_batch(org):
    cases = [make_appeal(org) for _ in range(5)]
    assert jobs.lookup("appeals.escalation_sweep").every == 60
    assert escalation.sweep_all(at("2025-10-01 09:00"), batch=2) == 5
    assert all(fired_levels(c) == [1, 2] for c in cases)
    jobs.run_now("appeals.escalation_sweep")  # now: long after every step
    assert all(fired_levels(c) == [1, 2, 3, 4] for c in cases)


@pg_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_fire_each_step_once(org):
    ensure_grades()  # a transactional test starts from flushed tables: the migration's grades are gone
    cases = [make_appeal(org) for _ in range(30)]
    barrier, errors, claimed = threading.Barrier(2), [], []

    def worker():
        try:
            barrier.wait()
            claimed.append(escalation.sweep_all(at("2025-10-20 09:00"), batch=4))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sum(claimed) == 30  # disjoint claims: no case was processed twice
    assert AppealEvent.objects.filter(action="escalate").count() == 30 * 4
    assert all(fired_levels(c) == [1, 2, 3, 4] for c in cases)
    assert set(Counter(Notification.objects.values_list("key", flat=True)).values()) == {1}


@pytest.mark.django_db
def test_a_sweep_costs_the_same_number_of_queries_for_a_few_or_many_cases(org):
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    def queries_for(n: int, moment: str) -> int:
        for _ in range(n):
            make_appeal(org)
        with CaptureQueriesContext(conn) as ctx:
            assert escalation.sweep(at(moment)) == n
        return len(ctx.captured_queries)

    few = queries_for(2, "2025-10-01 09:00")  # steps 1 and 2 of two cases
    many = queries_for(12, "2025-10-02 09:00")  # the same steps of twelve new cases (the first two are done)
    assert many == few
