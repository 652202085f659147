"""``/api/v1/workdays``: working-day arithmetic for any logged-in user or token holder."""
from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from yingshang.core.errors import ValidationFailed
from yingshang.workcal.calendar import get_calendar

router = Router(tags=["工作日"])
MAX_DAYS = 3650
# Dates the platform reasons about; far outside this a "working day" has no notice behind it.
MIN_DATE, MAX_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


class AddOut(Schema):
    date: dt.date
    provisional: bool


class BetweenOut(Schema):
    workdays: int
    provisional: bool


class DayOut(Schema):
    date: dt.date
    is_workday: bool
    kind: str
    kind_label: str
    name: str
    provisional: bool


def parse_day(value: str | None, field: str) -> dt.date:
    """A YYYY-MM-DD query parameter inside the supported range, else a 400 naming the field."""
    if not value:
        raise ValidationFailed(f"缺少参数 {field}(日期,格式 YYYY-MM-DD)", fields={field: "必填"})
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(f"参数 {field}=“{value}”不是有效日期,应为 YYYY-MM-DD", fields={field: "日期格式不正确"})
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValidationFailed(f"参数 {field} 超出支持范围 {MIN_DATE.year}–{MAX_DATE.year} 年", fields={field: "超出范围"})
    return day


def parse_days(value: str | None) -> int:
    """The ``days`` parameter: an integer with |days| ≤ MAX_DAYS."""
    if value is None or value.strip() == "":
        raise ValidationFailed("缺少参数 days(工作日数,整数)", fields={"days": "必填"})
    try:
        days = int(value.strip())
    except ValueError:
        raise ValidationFailed(f"参数 days=“{value}”应为整数", fields={"days": "应为整数"})
    if abs(days) > MAX_DAYS:
        raise ValidationFailed(f"参数 days 的绝对值不能超过 {MAX_DAYS}", fields={"days": f"绝对值不能超过 {MAX_DAYS}"})
    return days


@router.get("/add", response=AddOut, summary="某日之后第 N 个工作日(次日起算)")
def add(request, start: str | None = None, days: str | None = None):
    """The N-th working day strictly after ``start``; negative N counts backwards."""
    result = get_calendar().add(parse_day(start, "start"), parse_days(days))
    return {"date": result.date, "provisional": result.provisional}


@router.get("/between", response=BetweenOut, summary="两日之间的工作日数 (start, end]")
def between(request, start: str | None = None, end: str | None = None):
    """Working days in (start, end]; negative when end is before start."""
    result = get_calendar().between(parse_day(start, "start"), parse_day(end, "end"))
    return {"workdays": result.workdays, "provisional": result.provisional}


@router.get("/day", response=DayOut, summary="某日的类型(工作日/周末/节假日/调休上班)")
def day(request, date: str | None = None):
    """Kind, holiday name and provisional flag of one date."""
    info = get_calendar().day_info(parse_day(date, "date"))
    return {"date": info.date, "is_workday": info.is_workday, "kind": info.kind, "kind_label": info.kind_label,
            "name": info.name, "provisional": info.provisional}
