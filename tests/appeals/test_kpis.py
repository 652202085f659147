"""KPIs match hand counts on a fixture of 10 cases around the 2025 国庆 holiday.

Calendar (State Council 2025): 10-01..10-08 off; Sunday 09-28 and Saturday 10-11 worked. Grades:
urgent 1, normal 3, complex 5, complaint 15 working days; sign-off and first-response limit 1 working day.
Department A = SCJG (周口市市场监督管理局), B = FG-SCJG (扶沟县市场监督管理局). Period 2025-10.

Case table (dates 2025, times Asia/Shanghai):
  C1  A normal  川汇  disp 09-30 (before the period)  due 10-11  replied 10-10 on time  rated 10-12 satisfied+resolved
                handling (09-30, 10-10] = 10-09, 10-10 = 2
  C2  A urgent  川汇  disp 10-09  signed 10-10 17:00 (limit 10-10: on time)  contact 10-10 (on time)
                due 10-10  replied 10-13 LATE  rated 10-14 basically satisfied, not resolved  handling 10-10,10-11,10-13 = 3
  C3  A normal  street 411602001  disp 09-30  pause 10-09→10-10 (+1)  due 10-13 (10-11 without the pause)
                replied 10-13 on time  closed unrated 10-20  handling 4 - 1 paused = 3
  C4  A complex 川汇  disp 10-09  signed 10-11 LATE (limit 10-10)  contact 10-11 LATE  extension +2 approved
                due 10-17 (10-15 without it)  replied 10-17 20:00 on time  rated 10-20 unsatisfied  handling 7
  C5  扶沟 normal  disp to A 10-13 09:00, returned by A 11:00, re-dispatched to B 14:00; B signed 10-14 (limit
                10-14 from B's dispatch: on time), contact 10-14 on time; round due 10-16, B replied 10-16 on time;
                rated 10-17 satisfied+resolved; handling (10-13, 10-16] = 3
  C6  B urgent  扶沟  round 1 disp 09-26 replied 09-28 rated 09-29 (all before the period); reopened 10-09 →
                round 2 disp 10-09, signed 10-09 on time, never contacted, due 10-10, not replied
  C7  B complaint 扶沟, anonymous (no response needed)  disp 10-20  signed 10-22 LATE (limit 10-21)  due 11-10
  C8  A normal  川汇  round 1 disp 09-22 replied 09-24 rated 10-09 satisfied+resolved; reopened 10-10 → round 2
                disp 10-10 signed+contact 10-10 on time, due 10-14, replied 10-11 on time, rated 10-13 basically
                satisfied+resolved; handling round 2 = 1
  C9  A normal  川汇  disp 10-31 15:00, not signed yet (limit 11-03), due 11-05
  C10 B urgent  扶沟  disp 10-16 signed 09:30 contact 09:40 on time, paused 10-16 10:00 still open (no due date)
"""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.test import override_settings

from yingshang.appeals import kpis
from yingshang.appeals.clock import SHANGHAI
from yingshang.appeals.models import (Appeal, AppealEvent, AppealExtension, AppealPause, AppealTask,
                                      ExtensionStatus, Grade, Status)
from yingshang.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2025-{text}").replace(tzinfo=SHANGHAI)


def case(org, grade, region, dept, status, *, anonymous=False, **kw) -> Appeal:
    return Appeal.objects.create(
        number=f"KPI{next(_numbers):05d}", title="用地审批", content="厂房用地审批迟迟未办。",
        category="factor_supply", region=region, department=dept, grade=Grade.objects.get(code=grade),
        status=status, enterprise=None if anonymous else org.enterprise,
        contact_phone="" if anonymous else "13800000000", **kw)


def task(appeal, dept, disp, *, round=1, signed=None, replied=None, returned=None):
    return AppealTask.objects.create(appeal=appeal, department=dept, role="lead", round=round,
                                     dispatched_at=at(disp), signed_at=signed and at(signed),
                                     replied_at=replied and at(replied), returned_at=returned and at(returned))


def event(appeal, action, when, dept, **data):
    return AppealEvent.objects.create(appeal=appeal, action=action, at=at(when), department=dept, data=data)


def rate(appeal, when, dept, satisfaction, resolved):
    event(appeal, "rate", when, dept, satisfaction=satisfaction, resolved=resolved)


@pytest.fixture
def cases(org):
    A, B, handler = org.market, org.fugou_dept, org.users["handler"]
    Grade.objects.update(sign_days=1, response_days=1)
    c = {}
    c[1] = case(org, "normal", org.chuanhui, A, Status.CLOSED)
    task(c[1], A, "09-30 10:00", signed="09-30 11:00", replied="10-10 15:00")
    rate(c[1], "10-12 09:00", A, "satisfied", True)

    c[2] = case(org, "urgent", org.chuanhui, A, Status.CLOSED)
    task(c[2], A, "10-09 09:00", signed="10-10 17:00", replied="10-13 09:00")
    event(c[2], "contact", "10-10 17:30", A)
    rate(c[2], "10-14 09:00", A, "basically_satisfied", False)

    c[3] = case(org, "normal", org.street, A, Status.CLOSED)
    task(c[3], A, "09-30 16:00", signed="10-09 09:00", replied="10-13 16:00")
    AppealPause.objects.create(appeal=c[3], paused_at=at("10-09 10:00"), resumed_at=at("10-10 10:00"),
                               reason="等待企业补充材料", paused_by=handler)
    event(c[3], "close", "10-20 09:00", A)

    c[4] = case(org, "complex", org.chuanhui, A, Status.CLOSED)
    task(c[4], A, "10-09 09:00", signed="10-11 09:00", replied="10-17 20:00")
    event(c[4], "contact", "10-11 09:30", A)
    AppealExtension.objects.create(appeal=c[4], days=2, reason="需现场勘验", status=ExtensionStatus.APPROVED,
                                   requested_by=handler)
    AppealExtension.objects.create(appeal=c[4], days=3, reason="再延", status=ExtensionStatus.REJECTED,
                                   requested_by=handler)  # rejected: must not move the deadline
    rate(c[4], "10-20 09:00", A, "unsatisfied", False)

    c[5] = case(org, "normal", org.fugou, B, Status.CLOSED)
    task(c[5], A, "10-13 09:00", returned="10-13 11:00")
    event(c[5], "return", "10-13 11:00", A)
    task(c[5], B, "10-13 14:00", signed="10-14 09:00", replied="10-16 10:00")
    event(c[5], "contact", "10-14 10:00", B)
    rate(c[5], "10-17 09:00", B, "satisfied", True)

    c[6] = case(org, "urgent", org.fugou, B, Status.SIGNED, round=2, reopen_count=1)
    task(c[6], B, "09-26 10:00", signed="09-26 11:00", replied="09-28 10:00")
    rate(c[6], "09-29 09:00", B, "satisfied", True)
    event(c[6], "reopen", "10-09 10:00", B, round=2, previous={"satisfaction": "satisfied", "resolved": True})
    task(c[6], B, "10-09 10:00", round=2, signed="10-09 11:00")

    c[7] = case(org, "complaint", org.fugou, B, Status.SIGNED, anonymous=True)
    task(c[7], B, "10-20 09:00", signed="10-22 09:00")

    c[8] = case(org, "normal", org.chuanhui, A, Status.CLOSED, round=2, reopen_count=1)
    task(c[8], A, "09-22 09:00", signed="09-22 10:00", replied="09-24 10:00")
    rate(c[8], "10-09 09:00", A, "satisfied", True)
    event(c[8], "reopen", "10-10 09:00", A, round=2, previous={"satisfaction": "satisfied", "resolved": True})
    task(c[8], A, "10-10 09:00", round=2, signed="10-10 10:00", replied="10-11 10:00")
    event(c[8], "contact", "10-10 11:00", A)
    rate(c[8], "10-13 09:00", A, "basically_satisfied", True)

    c[9] = case(org, "normal", org.chuanhui, A, Status.DISPATCHED)
    task(c[9], A, "10-31 15:00")

    c[10] = case(org, "urgent", org.fugou, B, Status.PAUSED)
    task(c[10], B, "10-16 09:00", signed="10-16 09:30")
    event(c[10], "contact", "10-16 09:40", B)
    AppealPause.objects.create(appeal=c[10], paused_at=at("10-16 10:00"), reason="等待第三方检测",
                               paused_by=handler)
    return c


def figures(row) -> dict:
    return {k: (getattr(row, k).numerator, getattr(row, k).denominator) for k in kpis.KPIS[:-1]}


# ---------------------------------------------------------------- the hand counts
EXPECTED_BY_DEPARTMENT = {
    "SCJG": {
        "sign": (2, 5),       # dispatched in Oct: C2 ✓, C4 ✗ late, C5 ✗ returned, C8r2 ✓, C9 ✗ not yet signed
        "response": (2, 4),   # C2 ✓, C4 ✗ late, C8r2 ✓, C9 ✗ none; C5's returned task needs no response
        "on_time": (4, 5),    # due in Oct: C1 ✓, C2 ✗, C3 ✓ (pause), C4 ✓ (extension), C8r2 ✓
        "resolved": (3, 5),   # rated in Oct: C1 ✓, C2 ✗, C4 ✗, C8r1 ✓, C8r2 ✓ (C3 unrated: excluded)
        "satisfied": (4, 5),  # C1 1 + C2 basic 1 + C4 0 + C8r1 1 + C8r2 basic 1
        "returned": (1, 5),   # C5 returned 10-13 out of 5 dispatched
        "reopened": (1, 6),   # C8 reopened; closures C1, C2, C3 (close), C4, C8r1, C8r2
    },
    "FG-SCJG": {
        "sign": (3, 4),       # C5t2 ✓ (limit from B's own dispatch), C6r2 ✓, C7 ✗ late, C10 ✓
        "response": (2, 3),   # C5t2 ✓, C6r2 ✗ never contacted, C10 ✓; C7 anonymous: not counted
        "on_time": (1, 2),    # C5 ✓ (due 10-16), C6r2 ✗ (due 10-10, open); C10 paused, C7 due in Nov
        "resolved": (1, 1),   # C5
        "satisfied": (1, 1),  # C5; C6's round-1 rating was in September
        "returned": (0, 4),
        "reopened": (1, 1),   # C6 reopened 10-09; closure C5
    },
}


def test_department_figures_match_hand_counts(cases):
    rows = {r.key: r for r in kpis.compute("2025-10", "department")}
    assert set(rows) == set(EXPECTED_BY_DEPARTMENT)
    for key, expected in EXPECTED_BY_DEPARTMENT.items():
        assert figures(rows[key]) == expected, key
    assert rows["SCJG"].label == "周口市市场监督管理局"
    assert rows["SCJG"].sign.rate == 0.4 and rows["FG-SCJG"].returned.rate == 0.0


def test_average_handling_workdays_excludes_paused_time(cases):
    rows = {r.key: r for r in kpis.compute("2025-10", "department")}
    # A replied in Oct: C1 2, C2 3, C3 3 (4 minus 1 paused), C4 7, C8r2 1 → 16 / 5
    assert (rows["SCJG"].avg_handling_workdays, rows["SCJG"].handled) == (3.2, 5)
    assert (rows["FG-SCJG"].avg_handling_workdays, rows["FG-SCJG"].handled) == (3.0, 1)  # C5


def test_region_groups_by_county_of_the_case(cases):
    rows = {r.key: r for r in kpis.compute("2025-10", "region")}
    assert set(rows) == {"411602", "411621"}  # C3's street 411602001 counts in 川汇区
    assert figures(rows["411602"])["sign"] == (2, 4)     # C2, C4, C8r2, C9
    assert figures(rows["411621"])["sign"] == (3, 5)     # C5t1 ✗, C5t2 ✓, C6r2 ✓, C7 ✗, C10 ✓
    assert figures(rows["411621"])["returned"] == (1, 5)
    assert figures(rows["411602"])["on_time"] == (4, 5)
    assert rows["411621"].label == "扶沟县"


def test_scope_prefix_limits_to_the_callers_county(cases):
    rows = {r.key: r for r in kpis.compute("2025-10", "department", prefix="411621")}
    assert figures(rows["SCJG"])["sign"] == (0, 1)  # only C5's returned task is in 扶沟
    assert figures(rows["SCJG"])["returned"] == (1, 1)
    assert figures(rows["FG-SCJG"]) == EXPECTED_BY_DEPARTMENT["FG-SCJG"]


@override_settings(YINGSHANG_APPEAL_BASIC_SATISFIED_WEIGHT=0.5)
def test_basic_satisfaction_weight_is_configurable(cases):
    row = next(r for r in kpis.compute("2025-10") if r.key == "SCJG")
    assert row.satisfied.numerator == 3  # 1 + 0.5 + 0 + 1 + 0.5
    assert row.satisfied.rate == 0.6


@override_settings(YINGSHANG_APPEAL_UNRATED_AS={"resolved": True, "satisfaction": "satisfied"})
def test_unrated_cases_count_as_configured(cases):
    row = next(r for r in kpis.compute("2025-10") if r.key == "SCJG")
    assert figures(row)["resolved"] == (4, 6)  # C3's close now counts as resolved
    assert figures(row)["satisfied"] == (5, 6)


def test_cases_behind_a_figure(cases):
    behind = kpis.cases_behind("2025-10", "department", "SCJG", "on_time", part="numerator")
    assert set(behind) == {cases[1], cases[3], cases[4], cases[8]}
    behind = kpis.cases_behind("2025-10", "department", "SCJG", "on_time")
    assert set(behind) == {cases[1], cases[2], cases[3], cases[4], cases[8]}
    assert set(kpis.cases_behind("2025-10", "department", "SCJG", "returned", part="numerator")) == {cases[5]}
    assert not kpis.cases_behind("2025-10", "department", "NOPE", "sign").exists()


def test_other_periods_see_other_cases(cases):
    rows = {r.key: r for r in kpis.compute("2025-09", "department")}
    assert figures(rows["FG-SCJG"])["sign"] == (1, 1)  # C6 round 1
    assert figures(rows["SCJG"])["sign"] == (3, 3)  # C1, C3, C8r1
    quarter = {r.key: r for r in kpis.compute("2025-Q4", "department")}
    # the same as October except C9: due 11-05 inside the quarter and never replied
    assert figures(quarter["SCJG"]) == {**EXPECTED_BY_DEPARTMENT["SCJG"], "on_time": (4, 6)}


@pytest.mark.parametrize("period, start, end", [
    ("2026-11", "2026-11-01", "2026-12-01"), ("2026-12", "2026-12-01", "2027-01-01"),
    ("2026-Q4", "2026-10-01", "2027-01-01"), ("2026-Q1", "2026-01-01", "2026-04-01")])
def test_period_bounds(period, start, end):
    got = kpis.period_bounds(period)
    assert [d.date().isoformat() for d in got] == [start, end]
    assert got[0].tzinfo is SHANGHAI


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "26-11", "", "2026-1"])
def test_bad_period_is_a_validation_error(period):
    with pytest.raises(ValidationFailed) as err:
        kpis.period_bounds(period)
    assert "period" in err.value.fields


def test_bad_group_by_is_a_validation_error(db):
    with pytest.raises(ValidationFailed) as err:
        kpis.compute("2025-10", "street")
    assert "group_by" in err.value.fields
