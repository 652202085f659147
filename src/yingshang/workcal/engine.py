"""Working-day arithmetic (pure Python, no Django): the calendar of DOMAIN.md §3.

A day is a working day when an official notice makes it one (调休), or when it is Monday–Friday and
not a holiday. Years without an official notice follow the weekday rule and are *provisional*.
"N working days after D" is the N-th working day strictly after D (次日起算).

Speed: the working days of a wide window are kept as a sorted list of ordinals, so ``add`` and
``between`` are two bisections — no day-by-day loops on the hot path.
"""
from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from typing import NamedTuple

WORKDAY, WEEKEND, HOLIDAY, ADJUSTED_WORKDAY = "workday", "weekend", "holiday", "adjusted_workday"
KIND_LABELS = {WORKDAY: "工作日", WEEKEND: "周末", HOLIDAY: "节假日", ADJUSTED_WORKDAY: "调休上班"}
DEFAULT_FIRST_YEAR, DEFAULT_LAST_YEAR = 2000, 2100


class AddResult(NamedTuple):
    date: dt.date
    provisional: bool


class BetweenResult(NamedTuple):
    workdays: int
    provisional: bool


class DayInfo(NamedTuple):
    date: dt.date
    is_workday: bool
    kind: str
    name: str
    provisional: bool

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def base_kind(day: dt.date) -> str:
    """The weekday rule: Saturday and Sunday are weekend, the rest working days."""
    return WEEKEND if day.weekday() >= 5 else WORKDAY


class WorkCalendar:
    """A working-day calendar built from explicit official data (its answers never change; only the
    precomputed window widens when a date falls outside it).

    ``official_years``: years covered by a State Council notice. ``holidays`` / ``workdays``: the
    special days (date → name) of those notices; a notice may reach into the previous December
    (e.g. Saturday 2018-12-29 worked for 元旦 2019), so special days are honoured in any year.
    """

    def __init__(self, official_years: Iterable[int], holidays: Mapping[dt.date, str],
                 workdays: Mapping[dt.date, str], *, first_year: int = DEFAULT_FIRST_YEAR,
                 last_year: int = DEFAULT_LAST_YEAR):
        overlap = set(holidays) & set(workdays)
        if overlap:
            raise ValueError(f"日期既是节假日又是调休上班日: {min(overlap).isoformat()}")
        self.official_years = frozenset(official_years)
        self.holidays = dict(holidays)
        self.workdays = dict(workdays)
        self._provisional_sorted: list[int] = []
        self._build(first_year, last_year)

    # ------------------------------------------------------------ building
    def _build(self, first_year: int, last_year: int) -> None:
        """Precompute the sorted ordinals of every working day in [first_year, last_year]."""
        self.first_year, self.last_year = first_year, last_year
        lo = dt.date(first_year, 1, 1).toordinal()
        hi = dt.date(last_year, 12, 31).toordinal()
        # Ordinal 1 is a Monday, so (o - 1) % 7 is the weekday (0 = Monday).
        work = [o for o in range(lo, hi + 1) if (o - 1) % 7 < 5]
        off = {d.toordinal() for d in self.holidays}
        on = {d.toordinal() for d in self.workdays if lo <= d.toordinal() <= hi}
        work = sorted(on.union(o for o in work if o not in off))
        self._work = work
        self._lo, self._hi = lo, hi
        self._provisional_sorted = [y for y in range(first_year, last_year + 1) if y not in self.official_years]

    def _ensure(self, *days: dt.date) -> None:
        """Widen the precomputed window when a date (or a result) falls outside it."""
        years = [d.year for d in days]
        first, last = min(min(years) - 1, self.first_year), max(max(years) + 1, self.last_year)
        first, last = max(first, dt.MINYEAR + 1), min(last, dt.MAXYEAR - 1)
        if (first, last) != (self.first_year, self.last_year):
            self._build(first, last)

    def _span_provisional(self, first: dt.date, last: dt.date) -> bool:
        """True iff any date in [first, last] lies in a provisional year, or in 25–31 December of a
        year whose successor is provisional: a notice may reach back into those days (Saturday
        2018-12-29 was made a working day by the 2019 notice)."""
        if first > last:
            return False
        if last.year < dt.MAXYEAR:
            last = last + _REACH_BACK  # 25–31 December → next year, which decides them
        prov = self._provisional_sorted
        i = bisect_left(prov, first.year)
        if i < len(prov) and prov[i] <= last.year:
            return True
        return (first.year < self.first_year or last.year > self.last_year) and \
            any(y not in self.official_years for y in range(first.year, last.year + 1))

    # ------------------------------------------------------------ queries
    def is_provisional_year(self, year: int) -> bool:
        return year not in self.official_years

    def is_workday(self, day: dt.date) -> bool:
        """True when ``day`` is a working day."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def day_info(self, day: dt.date) -> DayInfo:
        """Kind (workday/weekend/holiday/adjusted_workday), holiday name and provisional flag of a day."""
        provisional = day.year not in self.official_years
        if day in self.workdays:
            return DayInfo(day, True, ADJUSTED_WORKDAY, self.workdays[day], provisional)
        if day in self.holidays:
            return DayInfo(day, False, HOLIDAY, self.holidays[day], provisional)
        kind = base_kind(day)
        return DayInfo(day, kind == WORKDAY, kind, "", provisional)

    def add(self, start: dt.date, n: int) -> AddResult:
        """The n-th working day strictly after ``start`` (n < 0: strictly before; n = 0: ``start``)."""
        if n == 0:
            return AddResult(start, False)
        o = start.toordinal()
        work = self._work
        if o < self._lo or o > self._hi:
            self._ensure(start)
            work = self._work
        i = bisect_right(work, o) + n - 1 if n > 0 else bisect_left(work, o) + n
        while i < 0 or i >= len(work):
            if (self.first_year <= dt.MINYEAR + 1 and i < 0) or (self.last_year >= dt.MAXYEAR - 1 and i >= 0):
                raise OverflowError("结果超出可计算的日期范围")
            step = abs(n) // 200 + 2  # ~250 working days a year; widen by enough years at once
            self._ensure(dt.date(max(self.first_year - step, dt.MINYEAR + 1), 1, 1) if i < 0
                         else dt.date(min(self.last_year + step, dt.MAXYEAR - 1), 1, 1))
            work = self._work
            i = bisect_right(work, o) + n - 1 if n > 0 else bisect_left(work, o) + n
        result = dt.date.fromordinal(work[i])
        if n > 0:
            return AddResult(result, self._span_provisional(start + _ONE_DAY, result))
        return AddResult(result, self._span_provisional(result, start - _ONE_DAY))

    def between(self, start: dt.date, end: dt.date) -> BetweenResult:
        """Working days in (start, end]; negative (−count in (end, start]) when end < start."""
        if end < start:
            count, prov = self.between(end, start)
            return BetweenResult(-count, prov)
        if start == end:
            return BetweenResult(0, False)
        if start.toordinal() < self._lo or end.toordinal() > self._hi:
            self._ensure(start, end)
        work = self._work
        count = bisect_right(work, end.toordinal()) - bisect_right(work, start.toordinal())
        return BetweenResult(count, self._span_provisional(start + _ONE_DAY, end))

    def next_workday(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        return self.add(day, 1).date

    def year_days(self, year: int) -> list[DayInfo]:
        """Every day of ``year`` with its kind (for month grids and for writing the per-date table)."""
        day, end, out = dt.date(year, 1, 1), dt.date(year, 12, 31), []
        while day <= end:
            out.append(self.day_info(day))
            day += _ONE_DAY
        return out


_ONE_DAY = dt.timedelta(days=1)
_REACH_BACK = dt.timedelta(days=7)
