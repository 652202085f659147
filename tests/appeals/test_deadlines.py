"""Deadlines stored on the case: due date, deadline moment, provisional flag and the next escalation timer.

Expected dates are counted by hand on the State Council notices (2025: 国庆/中秋 10-01..10-08 off,
Sunday 09-28 and Saturday 10-11 worked)."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from yingshang.appeals import deadlines
from yingshang.appeals.clock import SHANGHAI
from yingshang.appeals.models import Appeal, AppealExtension, AppealPause, ExtensionStatus, Grade, Status
from yingshang.workcal.actions import do_enter_notice
from tests.workcal.conftest import example_2027_holidays, example_2027_workdays

D = dt.date.fromisoformat
pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def make_appeal(org, *, grade="normal", dispatched="2025-09-26 10:00", status=Status.IN_PROGRESS, **kw) -> Appeal:
    """A case built directly with the ORM, dispatched to the market bureau, clock computed and saved."""
    appeal = Appeal.objects.create(
        number=f"TD{next(_numbers):06d}", title="用电报装迟迟未办结", content="企业新厂区用电报装三个月未通电。",
        category="factor_supply", region=org.chuanhui, department=org.market, enterprise=org.enterprise,
        grade=Grade.objects.get(code=grade), status=status, dispatched_at=at(dispatched), **kw)
    deadlines.recompute(appeal)
    appeal.save()
    return appeal


def pause(appeal, org, paused, resumed=None, round=1):
    return AppealPause.objects.create(appeal=appeal, round=round, paused_at=at(paused),
                                      resumed_at=at(resumed) if resumed else None, reason="等待企业补充材料",
                                      paused_by=org.users["handler"])


def extension(appeal, org, days, status=ExtensionStatus.APPROVED, round=1):
    return AppealExtension.objects.create(appeal=appeal, round=round, days=days, reason="需现场勘验",
                                          status=status, requested_by=org.users["handler"])


def refreshed(appeal) -> Appeal:
    appeal = Appeal.objects.get(pk=appeal.pk)
    deadlines.recompute(appeal)
    return appeal


# ---------------------------------------------------------------- due dates
def test_domain_example_complaint_dispatched_friday_26_september_is_due_thursday_23_october(org):
    appeal = make_appeal(org, grade="complaint")
    appeal.refresh_from_db()
    assert appeal.due_date == D("2025-10-23")
    assert appeal.due_at == at("2025-10-24 00:00")  # the end of the due date
    assert appeal.due_provisional is False
    # the reminder is the first timer: 00:00 of the working day before the due date
    assert appeal.next_escalation_at == at("2025-10-22 00:00")


def test_normal_grade_counts_the_worked_sunday(org):
    appeal = make_appeal(org, grade="normal")  # 09-28 (Sun, worked), 09-29, 09-30
    assert appeal.due_date == D("2025-09-30")
    assert appeal.next_escalation_at == at("2025-09-29 00:00")


def test_a_year_without_a_holiday_notice_makes_the_deadline_provisional(org):
    appeal = make_appeal(org, grade="complaint", dispatched="2026-12-28 09:00")
    # weekday rule for 2027: 12-29..31 (3), 01-01 (4), 01-04..08 (9), 01-11..15 (14), 01-18 (15)
    assert appeal.due_provisional is True
    assert appeal.due_date == D("2027-01-18")


def test_a_completed_pause_adds_its_working_days_back(org):
    appeal = make_appeal(org, dispatched="2025-09-22 09:00")
    assert appeal.due_date == D("2025-09-25")
    pause(appeal, org, "2025-09-23 10:00", "2025-09-25 10:00")  # (09-23, 09-25] = 2 working days
    assert refreshed(appeal).due_date == D("2025-09-28")  # 09-22 + 5: 23, 24, 25, 26, 28 (Sunday worked)


def test_pauses_of_an_earlier_round_do_not_count(org):
    appeal = make_appeal(org, dispatched="2025-09-22 09:00", round=2)
    pause(appeal, org, "2025-09-01 10:00", "2025-09-10 10:00", round=1)
    assert refreshed(appeal).due_date == D("2025-09-25")


def test_only_approved_extensions_of_the_round_move_the_due_date(org):
    appeal = make_appeal(org, dispatched="2025-09-22 09:00")
    extension(appeal, org, 5, ExtensionStatus.PENDING)
    extension(appeal, org, 5, ExtensionStatus.REJECTED)
    assert refreshed(appeal).due_date == D("2025-09-25")
    extension(appeal, org, 2)
    moved = refreshed(appeal)
    assert moved.due_date == D("2025-09-28") and moved.due_at == at("2025-09-29 00:00")


def test_an_open_pause_freezes_the_due_date_and_stops_the_timer(org):
    appeal = make_appeal(org, dispatched="2025-09-22 09:00", status=Status.PAUSED)
    pause(appeal, org, "2025-09-23 10:00")
    frozen = refreshed(appeal)
    assert frozen.due_date == D("2025-09-25")
    assert frozen.next_escalation_at is None


@pytest.mark.parametrize("status, runs", [
    (Status.DISPATCHED, True), (Status.SIGNED, True), (Status.IN_PROGRESS, True), (Status.RETURNED, False),
    (Status.REPLIED, False), (Status.CLOSED, False), (Status.GRADED, False), (Status.MERGED, False),
])
def test_the_timer_runs_only_while_the_department_holds_the_case(org, status, runs):
    """A returned case is held by the dispatcher: no escalation against the department that returned it."""
    appeal = make_appeal(org, status=status)
    assert (appeal.next_escalation_at is not None) is runs
    assert appeal.due_date == D("2025-09-30")  # kept for the KPIs whatever the status


def test_a_case_not_yet_dispatched_has_no_deadline(org):
    appeal = Appeal(number="X1", title="t", content="c", category="other", region=org.chuanhui,
                    grade=Grade.objects.get(code="normal"), status=Status.GRADED)
    deadlines.recompute(appeal)
    assert (appeal.due_date, appeal.due_at, appeal.next_escalation_at) == (None, None, None)


def test_the_next_timer_follows_the_stored_level(org):
    appeal = make_appeal(org)
    appeal.escalation_level = 2
    deadlines.recompute(appeal)
    # 督办: end of the 2nd working day after 09-30 → 10-09, 10-10 → 10-11 00:00
    assert appeal.next_escalation_at == at("2025-10-11 00:00")
    appeal.escalation_level = 4
    deadlines.recompute(appeal)
    assert appeal.next_escalation_at is None


def test_settings_change_the_ladder_and_grades_their_limits(org, settings):
    settings.YINGSHANG_APPEAL_REMINDER_DAYS = 0
    settings.YINGSHANG_APPEAL_SUPERVISE_AFTER = 3
    grade = Grade.objects.get(code="complex")
    pol = deadlines.policy(grade)
    assert (pol.reminder_days_before, pol.supervise_after_days, pol.days_for("complex")) == (0, 3, grade.days)
    appeal = make_appeal(org)
    assert appeal.next_escalation_at == at("2025-09-30 00:00")  # reminder on the due date itself


# ---------------------------------------------------------------- holiday notice entered
def test_entering_the_notice_recomputes_provisional_open_cases(org):
    provisional = make_appeal(org, grade="complaint", dispatched="2026-12-28 09:00")
    closed = make_appeal(org, grade="complaint", dispatched="2026-12-28 09:00", status=Status.CLOSED)
    official = make_appeal(org, grade="complaint")
    do_enter_notice(org.users["admin"], 2027, "【示例】2027年部分节假日安排", "示例-非官方", None,
                    example_2027_holidays(), example_2027_workdays())
    provisional.refresh_from_db()
    closed.refresh_from_db()
    # 01-01..03 off: 12-29..31 (3), 01-04..08 (8), 01-11..15 (13), 01-18 (14), 01-19 (15)
    assert (provisional.due_date, provisional.due_provisional) == (D("2027-01-19"), False)
    assert provisional.due_at == at("2027-01-20 00:00")
    assert provisional.next_escalation_at == at("2027-01-18 00:00")
    assert (closed.due_date, closed.due_provisional) == (D("2027-01-18"), True)  # closed cases are history
    assert Appeal.objects.get(pk=official.pk).due_date == D("2025-10-23")


def test_the_hook_is_registered_with_the_calendar():
    from yingshang.workcal import hooks

    assert deadlines.recompute_provisional in hooks._recompute
