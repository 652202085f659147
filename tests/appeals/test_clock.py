"""The case clock against the 2025–2026 State Council notices (expected dates counted by hand from the
notices, not produced by the code under test). Database-free."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yingshang.appeals import clock
from yingshang.appeals.clock import CaseTimes, Grade, Policy
from yingshang.workcal import seed
from yingshang.workcal.engine import WorkCalendar

D = dt.date.fromisoformat
SH = clock.SHANGHAI
UTC = dt.timezone.utc
CAL = seed.package_calendar()


def at(text: str, tz=SH) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


def case(dispatched: str, days: int, **kw) -> CaseTimes:
    return CaseTimes(dispatched_at=at(dispatched), grade_days=days, **kw)


def calendar_until(last_year: int) -> WorkCalendar:
    """The package data cut at ``last_year``: later years follow the weekday rule (provisional)."""
    years = [y for y in seed.package_years() if y <= last_year]
    holidays = {d: n for d, n in seed.package_holidays().items() if d.year <= last_year}
    workdays = {d: n for d, n in seed.package_workdays().items() if d.year <= last_year}
    return WorkCalendar(years, holidays, workdays)


# ---------------------------------------------------------------- policy and grades
def test_default_grades_are_1_3_5_and_15_working_days():
    policy = Policy()
    assert [policy.days_for(g) for g in ("urgent", "normal", "complex", "complaint")] == [1, 3, 5, 15]
    assert policy.days_for(Grade.COMPLAINT) == 15


def test_unknown_grade_and_bad_settings_are_rejected_in_chinese():
    with pytest.raises(ValueError, match="未知的诉求等级"):
        Policy().days_for("slow")
    with pytest.raises(ValueError, match="整数"):
        Policy(supervise_after_days=-1)


def test_naive_datetimes_and_overlapping_pauses_are_rejected():
    with pytest.raises(ValueError, match="时区"):
        CaseTimes(dispatched_at=dt.datetime(2025, 9, 22, 9), grade_days=3)
    with pytest.raises(ValueError, match="暂停"):
        case("2025-09-22 09:00", 3, pauses=[(at("2025-09-23 10:00"), at("2025-09-25 10:00")),
                                             (at("2025-09-24 10:00"), None)])
    with pytest.raises(ValueError, match="最后一次"):
        case("2025-09-22 09:00", 3, pauses=[(at("2025-09-23 10:00"), None), (at("2025-09-24 10:00"), None)])


# ---------------------------------------------------------------- due dates
def test_domain_example_friday_plus_15_is_thursday_23_october():
    due = clock.due(case("2025-09-26 10:00", 15), CAL)
    assert due == (D("2025-10-23"), False, False)
    assert due.deadline == at("2025-10-24 00:00")


@pytest.mark.parametrize("dispatched, days, expected", [
    ("2025-09-26 10:00", 1, "2025-09-28"),  # Sunday 2025-09-28 worked (国庆调休)
    ("2025-10-10 10:00", 1, "2025-10-11"),  # Saturday 2025-10-11 worked
    ("2026-09-18 10:00", 1, "2026-09-20"),  # Sunday 2026-09-20 worked
    ("2026-09-18 10:00", 3, "2026-09-22"),
])
def test_adjusted_weekend_days_count(dispatched, days, expected):
    assert clock.due(case(dispatched, days), CAL).date == D(expected)


@pytest.mark.parametrize("dispatched, days, expected", [
    ("2025-10-03 10:00", 1, "2025-10-09"),  # 国庆 holiday: the count starts on the first working day after
    ("2025-10-03 10:00", 3, "2025-10-11"),
    ("2025-09-27 10:00", 1, "2025-09-28"),  # ordinary Saturday
])
def test_dispatch_on_a_non_working_day_counts_from_the_next_working_day(dispatched, days, expected):
    assert clock.due(case(dispatched, days), CAL).date == D(expected)


def test_dispatch_late_on_friday_evening_counts_from_friday():
    assert clock.due(case("2025-09-19 23:30", 3), CAL).date == D("2025-09-24")
    same_instant_utc = CaseTimes(dispatched_at=at("2025-09-19 15:30", UTC), grade_days=3)
    assert clock.due(same_instant_utc, CAL).date == D("2025-09-24")


def test_the_local_date_decides_not_the_utc_date():
    # Thursday 16:30 UTC is Friday 00:30 in Shanghai: counted from Friday, so due Wednesday not Tuesday.
    times = CaseTimes(dispatched_at=at("2025-09-18 16:30", UTC), grade_days=3)
    assert clock.due(times, CAL).date == D("2025-09-24")


def test_sign_and_response_limits_count_from_dispatch_and_ignore_pauses():
    times = case("2025-09-30 17:00", 15, pauses=[(at("2025-09-30 17:30"), at("2025-10-10 09:00"))])
    policy = Policy(response_days=2)
    assert clock.sign_due(times, CAL).date == D("2025-10-09")
    assert clock.response_due(times, CAL, policy).date == D("2025-10-10")
    limit = clock.sign_due(times, CAL)
    assert clock.in_time(limit, at("2025-10-09 23:59")) and not clock.in_time(limit, at("2025-10-10 00:00"))


# ---------------------------------------------------------------- pauses and extensions
def test_pause_over_the_holiday_week_adds_back_only_its_working_days():
    base = case("2025-09-22 09:00", 15)
    assert clock.due(base, CAL).date == D("2025-10-17")
    # (30 Sep, 9 Oct]: 1–8 October are holidays, only the 9th is a working day.
    over_holiday = case("2025-09-22 09:00", 15, pauses=[(at("2025-09-30 10:00"), at("2025-10-09 09:00"))])
    assert clock.due(over_holiday, CAL).date == D("2025-10-20")
    # (26 Sep, 10 Oct]: 28, 29, 30 Sep and 9, 10 Oct.
    longer = case("2025-09-22 09:00", 15, pauses=[(at("2025-09-26 10:00"), at("2025-10-10 18:00"))])
    assert clock.due(longer, CAL).date == D("2025-10-24")


def test_pause_and_resume_on_the_same_day_add_nothing():
    times = case("2025-09-22 09:00", 3, pauses=[(at("2025-09-23 10:00"), at("2025-09-23 16:00"))])
    assert clock.due(times, CAL).date == clock.due(case("2025-09-22 09:00", 3), CAL).date == D("2025-09-25")


def test_several_pauses_add_up():
    times = case("2025-09-22 09:00", 3, pauses=[(at("2025-09-22 10:00"), at("2025-09-23 10:00")),
                                                 (at("2025-09-23 11:00"), at("2025-09-24 10:00"))])
    assert clock.due(times, CAL).date == D("2025-09-28")  # 25 + 2 added: 26, Sunday 28 (调休)


def test_open_pause_freezes_the_countdown():
    paused = case("2025-09-22 09:00", 3, pauses=[(at("2025-09-23 10:00"), None)])
    assert clock.due(paused, CAL) == (None, False, True)
    for now in ("2025-09-23 11:00", "2025-09-30 11:00", "2025-10-20 11:00"):
        assert clock.remaining_workdays(paused, CAL, at(now)) == 2
        assert not clock.overdue(paused, CAL, now=at(now))
    resumed = case("2025-09-22 09:00", 3, pauses=[(at("2025-09-23 10:00"), at("2025-09-29 11:00"))])
    assert clock.due(resumed, CAL).date == D("2025-10-09")
    assert clock.remaining_workdays(resumed, CAL, at("2025-09-29 11:00")) == 2


def test_a_case_paused_after_its_deadline_stays_overdue_while_paused():
    paused = case("2025-09-22 09:00", 3, pauses=[(at("2025-09-26 10:00"), None)])
    assert clock.overdue(paused, CAL, now=at("2025-10-20 10:00"))
    assert clock.remaining_workdays(paused, CAL, at("2025-10-20 10:00")) == -1


def test_extensions_add_their_working_days_after_the_pauses():
    times = case("2025-09-22 09:00", 3, extensions=[5, 2])
    assert clock.due(times, CAL).date == D("2025-10-11")
    both = case("2025-09-22 09:00", 3, extensions=[2], pauses=[(at("2025-09-23 10:00"), at("2025-09-24 10:00"))])
    assert clock.due(both, CAL).date == D("2025-09-29")  # 25 → +1 paused → 26 → +2 → Sunday 28, 29


def test_deadline_in_a_year_without_a_notice_is_provisional():
    cal = calendar_until(2026)
    late = clock.due(case("2026-12-28 10:00", 5), cal)
    assert late == (D("2027-01-04"), True, False)  # 1 January 2027 counted by the weekday rule
    assert clock.due(case("2026-12-14 10:00", 5), cal) == (D("2026-12-21"), False, False)
    paused = case("2026-12-14 10:00", 3, pauses=[(at("2026-12-15 10:00"), at("2027-01-05 10:00"))])
    assert clock.due(paused, cal).provisional


# ---------------------------------------------------------------- countdown
@pytest.mark.parametrize("today, expected", [
    ("2025-09-22", 3), ("2025-09-23", 2), ("2025-09-24", 1), ("2025-09-25", 0),
    ("2025-09-26", -1), ("2025-09-27", -1), ("2025-09-28", -2), ("2025-09-29", -3),
])
def test_countdown_around_the_due_date(today, expected):
    times = case("2025-09-22 09:00", 3)
    assert clock.remaining_workdays(times, CAL, at(today + " 12:00")) == expected


def test_overdue_from_the_deadline_moment_on():
    times = case("2025-09-22 09:00", 3)
    assert not clock.overdue(times, CAL, now=at("2025-09-25 23:59:59"))
    assert clock.overdue(times, CAL, now=at("2025-09-26 00:00"))
    assert clock.overdue(CaseTimes(dispatched_at=times.dispatched_at, grade_days=3, now=at("2025-09-26 09:00")), CAL)


# ---------------------------------------------------------------- escalation
def test_each_escalation_level_fires_at_its_exact_time():
    times = case("2025-09-22 09:00", 3)  # due Thursday 25 September
    assert clock.escalation_times(times, CAL) == {
        1: at("2025-09-24 00:00"),  # start of the working day before the due date
        2: at("2025-09-26 00:00"),  # deadline moment
        3: at("2025-09-29 00:00"),  # end of the 2nd working day after: 26, Sunday 28 (调休)
        4: at("2025-10-10 00:00"),  # end of the 5th: 26, 28, 29, 30 Sep, 9 Oct
    }


def test_level_at_follows_the_timers():
    times = case("2025-09-22 09:00", 3)
    for level, moment in clock.escalation_times(times, CAL).items():
        assert clock.level_at(times, CAL, now=moment) == level
        assert clock.level_at(times, CAL, now=moment - dt.timedelta(microseconds=1)) == level - 1


def test_reminder_is_never_before_dispatch():
    urgent = case("2025-09-19 17:00", 1)  # due Monday 22; the working day before is Friday itself
    assert clock.next_escalation(urgent, CAL, Policy(), 0) == (1, at("2025-09-19 17:00"))


def test_custom_ladder_settings():
    policy = Policy(reminder_days_before=2, supervise_after_days=1, accountability_after_days=3)
    times = clock.escalation_times(case("2025-09-22 09:00", 5), CAL, policy)  # due Sunday 28 Sep (调休)
    # reminder: 2nd working day before = 25; 督办: end of 29; 约谈: end of 29, 30 Sep, 9 Oct.
    assert times == {1: at("2025-09-25 00:00"), 2: at("2025-09-29 00:00"), 3: at("2025-09-30 00:00"),
                     4: at("2025-10-10 00:00")}


def _sequence(times, policy=Policy()):
    out, level = [], 0
    while (step := clock.next_escalation(times, CAL, policy, level)) is not None:
        out.append(step)
        level = step[0]
    return out


def test_next_escalation_climbs_one_level_at_a_time():
    steps = _sequence(case("2025-09-22 09:00", 15))
    assert [lv for lv, _ in steps] == [1, 2, 3, 4]
    assert [m for _, m in steps] == sorted(m for _, m in steps)
    assert all(m.tzinfo is not None for _, m in steps)
    assert clock.next_escalation(case("2025-09-22 09:00", 15), CAL, Policy(), 4) is None


def test_repeated_reopening_lists_the_case_for_accountability_at_once():
    times = case("2025-09-22 09:00", 3, reopen_count=2)
    steps = _sequence(times)
    assert steps == [(lv, at("2025-09-22 09:00")) for lv in (1, 2, 3, 4)]
    assert clock.level_at(times, CAL, now=at("2025-09-22 09:00")) == 4
    assert _sequence(case("2025-09-22 09:00", 3, reopen_count=1))[-1] == (4, at("2025-10-10 00:00"))


def test_levels_reached_before_a_pause_stay_and_later_ones_freeze():
    paused = case("2025-09-22 09:00", 3, pauses=[(at("2025-09-26 10:00"), None)])
    assert clock.level_at(paused, CAL, now=at("2025-10-20 10:00")) == 2
    assert clock.next_escalation(paused, CAL, Policy(), 2) is None
    # Resumed Tuesday 30 Sep: 3 working days back (28, 29, 30), due 25 + 3 = 29 Sep; 提示 reached stays.
    resumed = case("2025-09-22 09:00", 3, pauses=[(at("2025-09-26 10:00"), at("2025-09-30 10:00"))])
    assert clock.due(resumed, CAL).date == D("2025-09-29")
    assert clock.level_at(resumed, CAL, now=at("2025-09-30 12:00")) == 2
    # 督办: end of the 2nd working day after 29 Sep (30 Sep, 9 Oct).
    assert clock.next_escalation(resumed, CAL, Policy(), 2) == (3, at("2025-10-10 00:00"))


def test_a_timer_falling_inside_a_pause_fires_at_the_resumption():
    # Due Thursday 18 Sep; paused Thursday, resumed Saturday 20 Sep: (18, 20] adds Friday 19 → due 19.
    times = case("2025-09-15 09:00", 3, pauses=[(at("2025-09-18 10:00"), at("2025-09-20 10:00"))])
    assert clock.due(times, CAL).date == D("2025-09-19")
    assert clock.escalation_times(times, CAL)[2] == at("2025-09-20 10:00")


def test_the_ladder_of_an_open_pause_started_before_any_timer_is_empty():
    paused = case("2025-09-22 09:00", 3, pauses=[(at("2025-09-23 10:00"), None)])
    assert clock.next_escalation(paused, CAL, Policy(), 0) is None
    assert clock.level_at(paused, CAL, now=at("2025-12-01 10:00")) == 0


# ---------------------------------------------------------------- handling time
def test_handling_workdays_excludes_paused_working_days():
    sent, replied = at("2025-09-22 09:00"), at("2025-10-09 15:00")
    assert clock.handling_workdays(sent, replied, [], CAL).workdays == 8
    pause = [(at("2025-09-26 10:00"), at("2025-09-30 09:00"))]  # 28, 29, 30 paused
    assert clock.handling_workdays(sent, replied, pause, CAL).workdays == 5
    still_open = [(at("2025-09-30 10:00"), None)]  # ends with the reply: 9 Oct paused
    assert clock.handling_workdays(sent, replied, still_open, CAL).workdays == 7
    after = [(at("2025-10-10 10:00"), at("2025-10-13 10:00"))]
    assert clock.handling_workdays(sent, replied, after, CAL).workdays == 8
    assert clock.handling_workdays(sent, at("2025-09-22 18:00"), [], CAL).workdays == 0


# ---------------------------------------------------------------- properties
moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2026, 11, 30)).map(
    lambda m: m.replace(tzinfo=SH))
pause_spans = st.lists(st.tuples(st.integers(0, 20 * 24 * 60), st.integers(0, 20 * 24 * 60)), max_size=3)


def _pauses(start: dt.datetime, spans) -> list:
    out, t = [], start
    for gap, length in spans:
        paused = t + dt.timedelta(minutes=gap)
        t = paused + dt.timedelta(minutes=length)
        out.append((paused, t))
    return out


@settings(max_examples=200, deadline=None)
@given(moments, st.integers(1, 40), st.lists(st.integers(1, 10), max_size=3))
def test_property_due_is_a_working_day_and_countdown_starts_at_the_allowed_days(sent, days, extensions):
    times = CaseTimes(dispatched_at=sent, grade_days=days, extensions=extensions)
    due = clock.due(times, CAL)
    assert CAL.is_workday(due.date)
    assert clock.remaining_workdays(times, CAL, sent) == days + sum(extensions)
    assert clock.handling_workdays(sent, due.deadline - dt.timedelta(seconds=1), [], CAL).workdays == \
        days + sum(extensions)


@settings(max_examples=200, deadline=None)
@given(moments, st.integers(1, 20), pause_spans)
def test_property_pauses_keep_the_countdown_and_the_ladder_in_order(sent, days, spans):
    pauses = _pauses(sent, spans)
    times = CaseTimes(dispatched_at=sent, grade_days=days, pauses=pauses)
    due = clock.due(times, CAL)
    assert CAL.is_workday(due.date)
    # The countdown on each resume date equals its value on the pause date: paused days do not count.
    for i, (paused, resumed) in enumerate(pauses):
        before = CaseTimes(dispatched_at=sent, grade_days=days, pauses=pauses[:i] + [(paused, None)])
        after = CaseTimes(dispatched_at=sent, grade_days=days, pauses=pauses[:i + 1])
        assert clock.remaining_workdays(after, CAL, resumed) == clock.remaining_workdays(before, CAL, paused)
    steps = _sequence(times)
    assert [lv for lv, _ in steps] == [1, 2, 3, 4]
    assert all(a[1] <= b[1] for a, b in zip(steps, steps[1:]))
    replied = due.deadline - dt.timedelta(seconds=1)
    if not pauses or replied >= pauses[-1][1]:
        assert clock.handling_workdays(sent, replied, pauses, CAL).workdays == days
