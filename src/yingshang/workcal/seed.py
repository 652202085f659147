"""Official data shipped by the ``chinese_calendar`` package (pure Python, no Django).

The package carries the State Council notices up to its latest release; the years it knows are read
from its data (never hard-coded), so upgrading the package adds the new year automatically.
"""
from __future__ import annotations

import datetime as dt
from itertools import groupby

from yingshang.workcal.engine import WorkCalendar

# The package names holidays in English; the platform shows the notice's own Chinese names.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def _zh(name: str) -> str:
    return HOLIDAY_NAMES.get(name, name)


def package_holidays() -> dict[dt.date, str]:
    """Every holiday date the package knows → Chinese name."""
    from chinese_calendar.constants import holidays

    return {d: _zh(n) for d, n in holidays.items()}


def package_workdays() -> dict[dt.date, str]:
    """Every adjusted working day (调休上班) the package knows → Chinese name (e.g. 国庆节调休)."""
    from chinese_calendar.constants import workdays

    return {d: _zh(n) + "调休" for d, n in workdays.items()}


def package_years() -> list[int]:
    """The years covered by the package's notices: every year that has a 元旦 holiday on 1 January
    (a notice always fixes 元旦), so stray late-December dates don't count as a year of their own."""
    from chinese_calendar.constants import holidays

    return sorted({d.year for d in holidays if d.month == 1 and d.day == 1})


def last_known_year() -> int:
    return package_years()[-1]


def holiday_ranges(days: dict[dt.date, str]) -> list[tuple[dt.date, dt.date, str]]:
    """Group holiday dates into (start, end, name) runs of consecutive days with the same name."""
    ranges: list[tuple[dt.date, dt.date, str]] = []
    for d in sorted(days):
        if ranges and ranges[-1][2] == days[d] and (d - ranges[-1][1]).days == 1:
            ranges[-1] = (ranges[-1][0], d, days[d])
        else:
            ranges.append((d, d, days[d]))
    return ranges


def by_year(days: dict[dt.date, str]) -> dict[int, dict[dt.date, str]]:
    return {y: dict(g) for y, g in groupby(sorted(days.items()), key=lambda kv: kv[0].year)}


def package_calendar() -> WorkCalendar:
    """A calendar built straight from the package (fallback when the database table is empty)."""
    return WorkCalendar(package_years(), package_holidays(), package_workdays())
