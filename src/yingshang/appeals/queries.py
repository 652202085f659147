"""Queries shared by the API and the pages: pool and queue filters, countdown, overdue, pagination,
choice labels."""
from __future__ import annotations

import datetime as dt
import math

from django.db.models import Q
from django.utils import timezone

from yingshang.appeals import clock, deadlines
from yingshang.appeals.models import Appeal, OPEN_STATUSES, Status
from yingshang.core.errors import ValidationFailed, shorten

PER_PAGE = 50
MAX_PAGE = 2000  # offset pagination stays bounded; deeper reads narrow the filters
COUNT_CAP = 10_000  # lists say "10,000+" beyond this
# Statuses in which the department holds the case and the deadline runs (overdue / due soon apply).
RUNNING = (Status.DISPATCHED, Status.RETURNED, Status.SIGNED, Status.IN_PROGRESS)


def label(choices, value) -> str:
    """The Chinese label of a choice value (empty for an unknown or blank value)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return ""


def code_name(obj) -> dict | None:
    """``{"code", "name"}`` of a region or department."""
    return None if obj is None else {"code": getattr(obj, "code", obj.pk), "name": obj.name}


def _times(appeal: Appeal):
    if appeal.status not in (*RUNNING, Status.PAUSED):
        return None
    return deadlines.case_times(appeal)


def countdown(appeal: Appeal) -> int | None:
    """Working days left (clock.remaining_workdays); None when no deadline runs."""
    times = _times(appeal)
    if times is None:
        return None
    from yingshang.workcal.calendar import get_calendar

    try:
        return clock.remaining_workdays(times, get_calendar(), timezone.now())
    except ValueError:  # a calendar beyond its range: show no countdown rather than fail the page
        return None


def is_overdue(appeal: Appeal, now: dt.datetime) -> bool:
    """True when the department holds the case past its deadline moment."""
    return appeal.status in RUNNING and appeal.due_at is not None and appeal.due_at < now


def choice_param(value: str, field: str, choices, extra: tuple = ()) -> str:
    """``value`` if empty or one of ``choices`` (or ``extra``); otherwise a Chinese error naming ``field``."""
    if value and value not in (*choices.values, *extra):
        allowed = ", ".join((*choices.values, *extra))
        raise ValidationFailed(f"{field}: 取值「{shorten(value, 20)}」无效,可选 {allowed}",
                               fields={field: "取值不在允许范围内"})
    return value


# Badge class of each status on every page (pool, queue, escalations, case page).
STATUS_CSS = {Status.SUBMITTED: "badge-warn", Status.GRADED: "badge-warn", Status.RETURNED: "badge-bad",
              Status.DISPATCHED: "badge-computed", Status.SIGNED: "badge-computed",
              Status.IN_PROGRESS: "badge-computed", Status.PAUSED: "badge-warn", Status.REPLIED: "badge-computed",
              Status.CLOSED: "badge-ok", Status.REFERRED_OUT: "", Status.MERGED: ""}


def parse_id(value) -> int | None:
    """A positive database id from form text (at most 18 digits); None for anything else."""
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 and int(text) > 0 else None


def page_number(value, last: int = MAX_PAGE) -> int:
    """A page number from a query string: 1 for anything unusable, at most ``last``."""
    text = str(value or "").strip()
    return min(int(text), last) if text.isdigit() and 0 < len(text) <= 6 and int(text) > 0 else 1


def due_soon_limit(now: dt.datetime) -> dt.datetime:
    """End of the next working day: cases due by then are 'due soon'."""
    from yingshang.workcal.calendar import get_calendar

    return clock.end_of_day(get_calendar().next_workday(timezone.localdate(now)))


def filter_pool(qs, status, overdue, due_soon, grade, channel, department, region):
    """The pool / queue filters (status may be "open" for every unfinished case)."""
    now = timezone.now()
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if overdue is not None:
        late = Q(status__in=RUNNING, due_at__lt=now)
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if due_soon:
        qs = qs.filter(status__in=RUNNING, due_at__gte=now, due_at__lte=due_soon_limit(now))
    if grade:
        qs = qs.filter(grade__code=grade)
    if channel:
        qs = qs.filter(channel=channel)
    if department:
        qs = qs.filter(department__code=department)
    if region:
        qs = qs.filter(region__code__startswith=region)
    return qs


def page_of(qs, page: int, serialise, per_page: int = PER_PAGE) -> dict:
    """One page (``per_page`` rows), the total counted up to ``COUNT_CAP`` (``total_capped`` beyond: an
    exact count of a million rows costs a scan per request), the page count. The page's ids come from
    the narrow ordered query (an index walk), then only those rows are loaded with their joins."""
    plain = qs.prefetch_related(None)
    counted = plain.order_by()[:COUNT_CAP + 1].count()
    total = min(counted, COUNT_CAP)
    ids = list(plain.values_list("pk", flat=True)[(page - 1) * per_page: page * per_page])
    rank = {pk: i for i, pk in enumerate(ids)}
    rows = sorted(qs.filter(pk__in=ids), key=lambda row: rank[row.pk])
    return {"total": total, "total_capped": counted > COUNT_CAP, "page": page,
            "pages": max(1, math.ceil(total / per_page)), "items": [serialise(r) for r in rows]}


# ---------------------------------------------------------------- departments to route to
def department_options(user, *, active_only: bool = True) -> list:
    """Departments in the user's scope or above it (a county case may go to a city bureau)."""
    from yingshang.core.access import scope_prefix
    from yingshang.core.models import Department

    prefix = scope_prefix(user)
    qs = Department.objects.filter(is_active=True) if active_only else Department.objects.all()
    if prefix:
        above = [prefix[:n] for n in range(1, len(prefix) + 1)]
        qs = qs.filter(Q(region__code__startswith=prefix) | Q(region__prefix__in=above))
    return list(qs.select_related("region").order_by("region_id", "code"))


def department_groups(departments: list, near: str = "") -> list[tuple[str, list]]:
    """Departments grouped by their region (市直 bureaus under the city's name), the groups whose region
    contains ``near`` (the case's region: its county, then its city) first, the rest by region code."""
    groups: dict[str, tuple[str, list]] = {}
    prefixes: dict[str, str] = {}
    for d in departments:
        groups.setdefault(d.region_id, (d.region.name, []))[1].append(d)
        prefixes[d.region_id] = d.region.prefix

    def rank(code: str) -> tuple:
        return (0, -len(prefixes[code])) if near.startswith(prefixes[code]) else (1, code)

    return [groups[code] for code in sorted(groups, key=rank)]
