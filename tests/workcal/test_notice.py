"""Entering a State Council notice: the table, the cache, the recompute hook, validation, audit."""
from __future__ import annotations

import datetime as dt

import pytest

from yingshang.core.errors import Conflict, ValidationFailed
from yingshang.core.models import AuditLog
from yingshang.workcal import hooks
from yingshang.workcal.actions import do_enter_notice
from yingshang.workcal.calendar import get_calendar
from yingshang.workcal.models import CalendarDay, HolidayNotice
from tests.workcal.conftest import example_2027_holidays, example_2027_workdays

D = dt.date.fromisoformat
pytestmark = pytest.mark.django_db


def _enter_2027(user=None, **kw):
    return do_enter_notice(user, 2027, "【示例】2027年部分节假日安排", "示例-非官方", D("2026-11-01"),
                           example_2027_holidays(), example_2027_workdays(), **kw)


def test_migration_seeds_every_known_year():
    assert CalendarDay.objects.filter(year=2024).count() == 366
    assert CalendarDay.objects.filter(year=2026).count() == 365
    assert CalendarDay.objects.get(date=D("2025-09-28")).kind == "adjusted_workday"
    assert CalendarDay.objects.get(date=D("2026-02-17")).name == "春节"
    assert HolidayNotice.objects.filter(source="chinese_calendar").count() == 2026 - 2004 + 1
    assert not CalendarDay.objects.filter(year=2027).exists()


def test_db_calendar_matches_the_notices():
    cal = get_calendar()
    assert cal.add(D("2025-09-26"), 15) == (D("2025-10-23"), False)
    assert cal.is_provisional_year(2027) and not cal.is_provisional_year(2026)


def test_entering_2027_turns_provisional_results_into_official_ones(org):
    before = get_calendar().add(D("2026-12-30"), 5)
    assert before == (D("2027-01-06"), True)
    _enter_2027(org.users["admin"])
    # Counted from the example notice: 12-31 (1), 01-01..03 off, 01-04 (2), 05 (3), 06 (4), 07 (5).
    assert get_calendar().add(D("2026-12-30"), 5) == (D("2027-01-07"), False)
    assert get_calendar().add(D("2027-01-29"), 1).date == D("2027-01-31")  # Sunday worked (example)
    assert CalendarDay.objects.filter(year=2027).count() == 365
    assert CalendarDay.objects.get(date=D("2027-02-10")).kind == "holiday"
    notice = HolidayNotice.objects.get(year=2027)
    assert notice.source == "notice" and notice.entered_by == org.users["admin"]
    assert AuditLog.objects.filter(object_type="workcal.holidaynotice", object_id=str(notice.pk)).exists()


def test_registered_hook_and_signal_receive_the_year(org):
    seen, signalled = [], []

    def recompute(years):
        seen.append(years)
        # the hook already sees the new calendar
        assert get_calendar().is_provisional_year(2027) is False

    def receiver(sender, years, **kw):
        signalled.append(years)

    hooks.register_recompute(recompute)
    hooks.calendar_changed.connect(receiver)
    try:
        _enter_2027(org.users["admin"])
    finally:
        hooks.unregister_recompute(recompute)
        hooks.calendar_changed.disconnect(receiver)
    assert seen == [{2027}] and signalled == [{2027}]


def test_a_failing_hook_rolls_everything_back(org):
    def broken(years):
        raise RuntimeError("recompute failed")

    hooks.register_recompute(broken)
    try:
        with pytest.raises(RuntimeError):
            _enter_2027(org.users["admin"])
    finally:
        hooks.unregister_recompute(broken)
    assert not HolidayNotice.objects.filter(year=2027).exists()
    assert not CalendarDay.objects.filter(year=2027).exists()
    assert get_calendar().is_provisional_year(2027)


def test_an_official_year_needs_explicit_replacement(org):
    _enter_2027(org.users["admin"])
    with pytest.raises(Conflict) as exc:
        _enter_2027(org.users["admin"])
    assert "2027 年已有正式节假日安排" in exc.value.message
    # Replace: drop the 01-31 working Sunday → 01-29 + 1 becomes Monday 02-01.
    do_enter_notice(org.users["admin"], 2027, "更正", "", None, example_2027_holidays(),
                    example_2027_workdays()[1:], replace=True)
    assert get_calendar().add(D("2027-01-29"), 1).date == D("2027-02-01")
    assert CalendarDay.objects.get(date=D("2027-01-31")).kind == "weekend"


def test_replacing_a_package_year_is_allowed(org):
    with pytest.raises(Conflict):
        do_enter_notice(org.users["admin"], 2026, "x", "", None, [(D("2026-01-01"), D("2026-01-01"), "元旦")], [])
    do_enter_notice(org.users["admin"], 2026, "x", "", None, [(D("2026-01-01"), D("2026-01-01"), "元旦")], [],
                    replace=True)
    assert get_calendar().day_info(D("2026-02-17")).kind == "workday"  # Tuesday, no longer a holiday


def test_cross_year_working_day_updates_the_previous_year(org):
    seen = []
    hooks.register_recompute(seen.append)
    try:
        do_enter_notice(org.users["admin"], 2027, "t", "", None, example_2027_holidays(),
                        [(D("2026-12-26"), "元旦调休")])  # Saturday in the previous December
    finally:
        hooks.unregister_recompute(seen.append)
    assert seen == [{2026, 2027}]
    assert CalendarDay.objects.get(date=D("2026-12-26")).kind == "adjusted_workday"
    assert get_calendar().add(D("2026-12-25"), 1).date == D("2026-12-26")


@pytest.mark.parametrize("holidays,workdays,field,text", [
    ([(D("2027-02-13"), D("2027-02-05"), "春节")], [], "holidays[0]", "早于开始日期"),
    ([(D("2028-01-01"), D("2028-01-02"), "元旦")], [], "holidays[0]", "不在 2027 年内"),
    ([(D("2027-01-01"), D("2027-01-03"), "")], [], "holidays[0]", "节日名称不能为空"),
    ([(D("2027-01-01"), D("2027-01-03"), "元旦"), (D("2027-01-03"), D("2027-01-04"), "x")], [], "holidays[1]", "重叠"),
    ([], [], "holidays", "至少应有一段放假安排"),
    (None, [(D("2027-02-15"), "春节调休")], "workdays[0]", "必须是周六或周日"),  # a Monday
    (None, [(D("2027-02-06"), "春节调休")], "workdays[0]", "不能既放假又上班"),  # Sat inside 春节
    (None, [(D("2026-06-06"), "x")], "workdays[0]", "不在 2027 年内"),
    (None, [(D("2027-01-31"), "a"), (D("2027-01-31"), "b")], "workdays[1]", "重复"),
])
def test_validation_names_the_field(org, holidays, workdays, field, text):
    holidays = example_2027_holidays() if holidays is None else holidays
    with pytest.raises(ValidationFailed) as exc:
        do_enter_notice(org.users["admin"], 2027, "t", "", None, holidays, workdays)
    assert field in exc.value.fields and text in exc.value.fields[field]
    assert not CalendarDay.objects.filter(year=2027).exists() and not HolidayNotice.objects.filter(year=2027).exists()


def test_meta_validation(org):
    with pytest.raises(ValidationFailed) as exc:
        do_enter_notice(org.users["admin"], 2027, "  ", "", dt.date.today() + dt.timedelta(days=400),
                        example_2027_holidays(), [])
    assert set(exc.value.fields) >= {"title", "published_on"}
    with pytest.raises(ValidationFailed) as exc:
        do_enter_notice(org.users["admin"], 1800, "t", "", None, example_2027_holidays(), [])
    assert "year" in exc.value.fields
