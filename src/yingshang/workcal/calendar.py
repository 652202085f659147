"""The process-wide calendar: built once from the per-date table, rebuilt when the version changes.

``get_calendar()`` asks the database for the version at most every ``WORKCAL_RECHECK_SECONDS``
(default 30 s), so another process's new notice is seen within that time; the returned
``WorkCalendar`` answers ``add``/``between`` from memory, without queries.
"""
from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError

from yingshang.workcal import seed
from yingshang.workcal.engine import ADJUSTED_WORKDAY, HOLIDAY, WorkCalendar

log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict = {"calendar": None, "version": None, "checked": 0.0}


def _recheck_seconds() -> float:
    return float(getattr(settings, "WORKCAL_RECHECK_SECONDS", 30))


def current_version() -> int | None:
    """The database's calendar version (None when the table does not exist yet)."""
    from yingshang.workcal.models import CalendarVersion

    try:
        row = CalendarVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    except DatabaseError:
        return None
    return row or 0


def build_from_db() -> WorkCalendar:
    """A calendar from HolidayNotice years and CalendarDay special days; the package if empty."""
    from yingshang.workcal.models import CalendarDay, HolidayNotice

    try:
        years = list(HolidayNotice.objects.values_list("year", flat=True))
        special = list(CalendarDay.objects.filter(kind__in=[HOLIDAY, ADJUSTED_WORKDAY])
                       .values_list("date", "kind", "name"))
    except DatabaseError:  # no migrated database (e.g. a bare CLI call): the package still answers
        log.warning("工作日历数据表不可用,改用 chinese_calendar 数据包")
        return seed.package_calendar()
    if not years:
        return seed.package_calendar()
    holidays = {d: n for d, k, n in special if k == HOLIDAY}
    workdays = {d: n for d, k, n in special if k == ADJUSTED_WORKDAY}
    return WorkCalendar(years, holidays, workdays)


def get_calendar() -> WorkCalendar:
    """The cached calendar of this process, refreshed when the database version has changed."""
    now = time.monotonic()
    state = _state
    if state["calendar"] is not None and now - state["checked"] < _recheck_seconds():
        return state["calendar"]
    with _lock:
        version = current_version()
        if state["calendar"] is None or version != state["version"]:
            state["calendar"] = build_from_db()
            state["version"] = version
        state["checked"] = now
        return state["calendar"]


def reset_cache() -> None:
    """Forget the cached calendar (after a change in this process, or between tests)."""
    with _lock:
        _state.update(calendar=None, version=None, checked=0.0)
