"""The engine against the State Council notices of 2024, 2025 and 2026 (expected dates counted by hand
from the notices' text, not produced by the code under test)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yingshang.workcal import seed
from yingshang.workcal.engine import WorkCalendar

D = dt.date.fromisoformat

# 国办发明电〔2023〕7号 (2024), 国办发明电〔2024〕12号 (2025), 国办发明电〔2025〕7号 (2026).
NOTICE_HOLIDAYS = {
    2024: [("2024-01-01", "2024-01-01"), ("2024-02-10", "2024-02-17"), ("2024-04-04", "2024-04-06"),
           ("2024-05-01", "2024-05-05"), ("2024-06-10", "2024-06-10"), ("2024-09-15", "2024-09-17"),
           ("2024-10-01", "2024-10-07")],
    2025: [("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
           ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08")],
    2026: [("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
           ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
           ("2026-10-01", "2026-10-07")],
}
NOTICE_WORKDAYS = {
    2024: ["2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14", "2024-09-29",
           "2024-10-12"],
    2025: ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    2026: ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
}
# Weekdays of the year − holidays falling on weekdays + adjusted working days, counted from the notices.
WORKDAYS_IN_YEAR = {2024: 262 - 19 + 8, 2025: 261 - 18 + 5, 2026: 261 - 19 + 6}


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return seed.package_calendar()


def _days(first: str, last: str):
    day = D(first)
    while day <= D(last):
        yield day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_every_notice_holiday_is_a_holiday(cal, year):
    for first, last in NOTICE_HOLIDAYS[year]:
        for day in _days(first, last):
            info = cal.day_info(day)
            assert info.kind == "holiday" and not info.is_workday and info.name, day


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_adjusted_weekend_days_are_working_days(cal, year):
    for day in map(D, NOTICE_WORKDAYS[year]):
        assert day.weekday() >= 5
        info = cal.day_info(day)
        assert info.kind == "adjusted_workday" and info.is_workday and cal.is_workday(day), day


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_working_days_in_the_year(cal, year):
    result = cal.between(dt.date(year - 1, 12, 31), dt.date(year, 12, 31))
    # The count is final; 2026's last week stays provisional until the 2027 notice is entered.
    assert result == (WORKDAYS_IN_YEAR[year], year + 1 not in cal.official_years)


def test_ordinary_days(cal):
    assert cal.day_info(D("2025-09-27")).kind == "weekend"  # Saturday, not worked
    assert cal.day_info(D("2025-09-26")).kind == "workday"
    # 除夕 2024 (Friday 02-09): the notice only "encourages" leave; it stays a working day.
    assert cal.day_info(D("2024-02-09")).kind == "workday"


def test_domain_example_national_day_2025(cal):
    # DOMAIN.md §3: accepted Friday 2025-09-26, 15 working days → Thursday 2025-10-23.
    assert cal.add(D("2025-09-26"), 15) == (D("2025-10-23"), False)
    assert cal.between(D("2025-09-26"), D("2025-10-23")) == (15, False)
    assert cal.between(D("2025-10-23"), D("2025-09-26")) == (-15, False)


@pytest.mark.parametrize("start,n,expected", [
    ("2025-01-24", 1, "2025-01-26"),  # Sun 01-26 worked before 春节
    ("2025-01-24", 2, "2025-01-27"),
    ("2025-01-24", 3, "2025-02-05"),  # 01-28..02-04 off
    ("2024-09-27", 1, "2024-09-29"),  # Sun 09-29 worked
    ("2024-09-27", 3, "2024-10-08"),
    ("2024-10-08", 4, "2024-10-12"),  # Sat 10-12 worked
    ("2026-09-18", 1, "2026-09-20"),  # Sun 2026-09-20 worked
    ("2026-09-18", 5, "2026-09-24"),
    ("2026-09-18", 6, "2026-09-28"),  # 中秋 09-25..27 off
    ("2026-09-30", 1, "2026-10-08"),  # 国庆 10-01..07 off
    ("2026-09-30", 3, "2026-10-10"),  # Sat 10-10 worked
])
def test_counts_across_notice_holidays(cal, start, n, expected):
    assert cal.add(D(start), n) == (D(expected), False)


@pytest.mark.parametrize("start,n,expected", [
    ("2025-10-03", 1, "2025-10-09"),  # start inside 国庆: counting begins with the first working day after
    ("2025-10-03", 3, "2025-10-11"),
    ("2026-02-18", 1, "2026-02-24"),  # start inside 春节 2026
    ("2026-01-01", 1, "2026-01-04"),  # start on 元旦 2026 → Sunday 01-04 worked
])
def test_start_on_a_holiday(cal, start, n, expected):
    assert cal.add(D(start), n).date == D(expected)


@pytest.mark.parametrize("start,n,expected", [
    ("2026-02-14", 1, "2026-02-24"),  # start on Sat 02-14 (worked) — 02-15..23 off
    ("2026-02-14", 5, "2026-02-28"),  # Sat 02-28 worked
    ("2025-09-28", 1, "2025-09-29"),
    ("2025-09-28", 3, "2025-10-09"),
])
def test_start_on_an_adjusted_working_day(cal, start, n, expected):
    assert cal.add(D(start), n).date == D(expected)


def test_year_boundary(cal):
    assert cal.add(D("2025-12-31"), 1).date == D("2026-01-04")  # 01-01..03 off, Sun 01-04 worked
    assert cal.add(D("2025-12-31"), 2).date == D("2026-01-05")
    assert cal.add(D("2024-12-31"), 1).date == D("2025-01-02")
    assert cal.between(D("2025-12-31"), D("2026-01-05")) == (2, False)


@pytest.mark.parametrize("start,n,expected", [
    ("2025-10-09", -1, "2025-09-30"),
    ("2025-10-09", -3, "2025-09-28"),
    ("2026-01-05", -1, "2026-01-04"),
    ("2026-01-05", -2, "2025-12-31"),
    ("2025-10-23", -15, "2025-09-26"),  # 10-22…10-09 (11, incl. Sat 10-11), 09-30, 09-29, Sun 09-28, Fri 09-26
])
def test_negative_n_counts_backwards(cal, start, n, expected):
    assert cal.add(D(start), n).date == D(expected)


def test_zero_returns_the_start_even_on_a_holiday(cal):
    assert cal.add(D("2025-10-01"), 0) == (D("2025-10-01"), False)


def test_provisional_year_uses_the_weekday_rule(cal):
    assert max(cal.official_years) == 2026 and cal.is_provisional_year(2027)
    assert cal.add(D("2026-12-21"), 3) == (D("2026-12-24"), False)
    assert cal.add(D("2026-12-28"), 3) == (D("2026-12-31"), True)  # late December: 2027 notice missing
    # 2027-01-01 is a Friday: by the weekday rule a working day, flagged provisional.
    assert cal.add(D("2026-12-30"), 5) == (D("2027-01-06"), True)
    assert cal.between(D("2026-12-31"), D("2027-01-01")) == (1, True)
    assert cal.between(D("2026-12-01"), D("2026-12-24")).provisional is False
    assert cal.between(D("2026-12-01"), D("2026-12-31")).provisional is True
    assert cal.day_info(D("2027-01-01")).provisional is True


def test_far_dates_extend_the_window(cal):
    # 2101-01-03 is a Monday; the precomputed window ends in 2100 and must widen by itself.
    assert cal.add(D("2100-12-31"), 1) == (D("2101-01-03"), True)
    assert cal.add(D("2000-01-03"), -1) == (D("1999-12-31"), True)


def test_next_workday(cal):
    assert cal.next_workday(D("2025-09-30")) == D("2025-10-09")


def test_package_years_are_read_from_its_data():
    import chinese_calendar.constants as k

    assert seed.last_known_year() == max(d.year for d in k.holidays if d.month == 1)
    assert seed.package_years()[0] == 2004


def test_agrees_with_chinese_calendar_on_every_known_day(cal):
    import chinese_calendar

    day = dt.date(2004, 1, 1)
    while day.year <= seed.last_known_year():
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_cross_year_adjusted_day_is_honoured(cal):
    # The 2019 notice made Saturday 2018-12-29 a working day for 元旦.
    assert cal.add(D("2018-12-28"), 1).date == D("2018-12-29")


days_in_range = st.dates(min_value=dt.date(2003, 1, 1), max_value=dt.date(2030, 12, 31))


@settings(max_examples=300, deadline=None)
@given(day=days_in_range, n=st.integers(min_value=1, max_value=800))
def test_between_inverts_add(cal, day, n):
    result = cal.add(day, n)
    assert result.date > day and cal.is_workday(result.date)
    assert cal.between(day, result.date).workdays == n
    assert cal.between(day, result.date - dt.timedelta(days=1)).workdays == n - 1


@settings(max_examples=300, deadline=None)
@given(day=days_in_range, n=st.integers(min_value=1, max_value=800))
def test_backwards_counts_n_working_days_before(cal, day, n):
    result = cal.add(day, -n).date
    # Working days in [result, day): result counted, day itself not.
    counted = cal.between(result, day).workdays - cal.is_workday(day) + cal.is_workday(result)
    assert result < day and cal.is_workday(result) and counted == n


def test_conflicting_data_is_refused():
    with pytest.raises(ValueError):
        WorkCalendar([2030], {D("2030-01-05"): "x"}, {D("2030-01-05"): "y"})


def test_late_december_is_provisional_while_the_next_years_notice_is_missing():
    # The 2019 notice made Saturday 2018-12-29 a working day: the last days of a year are only final
    # once the next year's notice is in. Here 2026 is official and 2027 is not.
    cal = WorkCalendar({2026}, {}, {})
    assert cal.between(D("2026-12-01"), D("2026-12-24")).provisional is False
    assert cal.between(D("2026-12-20"), D("2026-12-31")).provisional is True
    assert cal.add(D("2026-12-18"), 1) == (D("2026-12-21"), False)
    assert cal.add(D("2026-12-23"), 2) == (D("2026-12-25"), True)
    both = WorkCalendar({2026, 2027}, {}, {})
    assert both.between(D("2026-12-20"), D("2026-12-31")).provisional is False
