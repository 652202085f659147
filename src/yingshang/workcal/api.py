"""``/api/v1/workdays``: working-day arithmetic for any logged-in user or token holder."""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from ninja import Query, Router, Schema
from pydantic import WithJsonSchema

from yingshang.core.errors import ValidationFailed, shorten
from yingshang.core.i18n_errors import ERRORS
from yingshang.workcal.calendar import get_calendar

router = Router(tags=["工作日"])
MAX_DAYS = 3650
# Dates the platform reasons about; far outside this a "working day" has no notice behind it.
MIN_DATE, MAX_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
_INTEGER = re.compile(r"^[+-]?[0-9]+$")  # ASCII only: int() would also take "٣" or "³"


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
        raise ValidationFailed(f"参数 {field}=“{shorten(value)}”不是有效日期,应为 YYYY-MM-DD",
                               fields={field: "日期格式不正确"})
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValidationFailed(f"参数 {field} 超出支持范围 {MIN_DATE.year}–{MAX_DATE.year} 年", fields={field: "超出范围"})
    return day


def parse_days(value: str | None) -> int:
    """The ``days`` parameter: an integer with |days| ≤ MAX_DAYS."""
    if value is None or value.strip() == "":
        raise ValidationFailed("缺少参数 days(工作日数,整数)", fields={"days": "必填"})
    text = value.strip()
    if not _INTEGER.match(text):
        raise ValidationFailed(f"参数 days=“{shorten(value)}”应为整数", fields={"days": "应为整数"})
    days = int(text) if len(text) <= 12 else MAX_DAYS + 1  # long digit strings: out of range, not parsed
    if abs(days) > MAX_DAYS:
        raise ValidationFailed(f"参数 days 的绝对值不能超过 {MAX_DAYS}", fields={"days": f"绝对值不能超过 {MAX_DAYS}"})
    return days


# Documented as a date / an integer so clients (and fuzzers) know the format; parse_day and parse_days
# check them, with messages that name the parameter.
DateParam = Annotated[str, WithJsonSchema({"type": "string", "format": "date", "example": "2025-09-30"})]
DaysParam = Annotated[str, WithJsonSchema({"type": "string", "pattern": "^-?[0-9]{1,4}$", "example": "5"})]
DATE_NOTE = "(YYYY-MM-DD,1900–2200 年)"
DAYS_NOTE = f"工作日数,整数,绝对值不超过 {MAX_DAYS};负数表示向前"


@router.get("/add", response={200: AddOut, **ERRORS}, summary="某日之后第 N 个工作日(次日起算)")
def add(request, start: DateParam = Query(..., description="起始日期" + DATE_NOTE),
        days: DaysParam = Query(..., description=DAYS_NOTE)):
    """The N-th working day strictly after ``start``; negative N counts backwards."""
    result = get_calendar().add(parse_day(start, "start"), parse_days(days))
    return {"date": result.date, "provisional": result.provisional}


@router.get("/between", response={200: BetweenOut, **ERRORS}, summary="两日之间的工作日数 (start, end]")
def between(request, start: DateParam = Query(..., description="起始日期(不计入)" + DATE_NOTE),
            end: DateParam = Query(..., description="结束日期(计入)" + DATE_NOTE)):
    """Working days in (start, end]; negative when end is before start."""
    result = get_calendar().between(parse_day(start, "start"), parse_day(end, "end"))
    return {"workdays": result.workdays, "provisional": result.provisional}


@router.get("/day", response={200: DayOut, **ERRORS}, summary="某日的类型(工作日/周末/节假日/调休上班)")
def day(request, date: DateParam = Query(..., description="日期" + DATE_NOTE)):
    """Kind, holiday name and provisional flag of one date."""
    info = get_calendar().day_info(parse_day(date, "date"))
    return {"date": info.date, "is_workday": info.is_workday, "kind": info.kind, "kind_label": info.kind_label,
            "name": info.name, "provisional": info.provisional}
