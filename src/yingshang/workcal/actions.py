"""Writes to the calendar: entering a year's State Council holiday notice."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from yingshang.core import audit
from yingshang.core.errors import Conflict, ValidationFailed
from yingshang.core.models import AuditAction
from yingshang.workcal import hooks
from yingshang.workcal.calendar import reset_cache
from yingshang.workcal.engine import ADJUSTED_WORKDAY, HOLIDAY, WORKDAY, base_kind
from yingshang.workcal.models import CalendarDay, CalendarVersion, HolidayNotice, NoticeSource

MIN_YEAR, MAX_YEAR = 2000, 2100
# Notices sometimes reach into the previous December (2019's made Saturday 2018-12-29 a working day).
CROSS_YEAR_FIRST_DAY = (12, 25)
WEEKDAYS = "一二三四五六日"


@dataclass
class NoticeInput:
    """A notice as parsed from a form or a file, before validation."""

    year: int
    title: str
    document_number: str = ""
    published_on: dt.date | None = None
    holidays: list[tuple[dt.date, dt.date, str]] = field(default_factory=list)
    workdays: list[tuple[dt.date, str]] = field(default_factory=list)


def _fmt(day: dt.date) -> str:
    return f"{day.isoformat()}(周{WEEKDAYS[day.weekday()]})"


def _in_notice_year(day: dt.date, year: int) -> bool:
    return day.year == year or (day.year == year - 1 and (day.month, day.day) >= CROSS_YEAR_FIRST_DAY)


def _check_meta(n: NoticeInput, errors: dict[str, str]) -> None:
    if not isinstance(n.year, int) or not MIN_YEAR <= n.year <= MAX_YEAR:
        errors["year"] = f"年份应为 {MIN_YEAR}–{MAX_YEAR} 之间的整数"
    if not (n.title or "").strip():
        errors["title"] = "通知标题不能为空"
    elif len(n.title) > 200:
        errors["title"] = "通知标题不能超过 200 字"
    if len(n.document_number or "") > 64:
        errors["document_number"] = "文号不能超过 64 字"
    if n.published_on and n.published_on > timezone.localdate():
        errors["published_on"] = f"发布日期 {n.published_on.isoformat()} 晚于今天"


def _holiday_dates(n: NoticeInput, errors: dict[str, str]) -> dict[dt.date, str]:
    """Validate the holiday ranges; return every holiday date → name."""
    days: dict[dt.date, str] = {}
    if not n.holidays:
        errors["holidays"] = "至少应有一段放假安排"
    for i, (start, end, name) in enumerate(n.holidays):
        key, label = f"holidays[{i}]", f"放假安排第 {i + 1} 行"
        if not (name or "").strip():
            errors[key] = f"{label}: 节日名称不能为空"
        elif end < start:
            errors[key] = f"{label}({name}): 结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}"
        elif not (_in_notice_year(start, n.year) and _in_notice_year(end, n.year)):
            errors[key] = f"{label}({name}): 日期 {start.isoformat()} 至 {end.isoformat()} 不在 {n.year} 年内"
        elif (end - start).days > 30:
            errors[key] = f"{label}({name}): 放假时段超过 31 天,请检查日期"
        else:
            day = start
            while day <= end:
                if day in days:
                    errors[key] = f"{label}({name}): {day.isoformat()} 与“{days[day]}”的放假时段重叠"
                    break
                days[day] = name.strip()
                day += dt.timedelta(days=1)
    return days


def _workday_dates(n: NoticeInput, holidays: dict[dt.date, str], errors: dict[str, str]) -> dict[dt.date, str]:
    """Validate the adjusted working days (调休上班): weekend days, not holidays, no repeats."""
    days: dict[dt.date, str] = {}
    for i, (day, name) in enumerate(n.workdays):
        key, label = f"workdays[{i}]", f"调休上班第 {i + 1} 行"
        if not _in_notice_year(day, n.year):
            errors[key] = f"{label}: 日期 {day.isoformat()} 不在 {n.year} 年内"
        elif day.weekday() < 5:
            errors[key] = f"{label}: {_fmt(day)} 本来就是工作日,调休上班日必须是周六或周日"
        elif day in holidays:
            errors[key] = f"{label}: {day.isoformat()} 同时被列为“{holidays[day]}”放假日,不能既放假又上班"
        elif day in days:
            errors[key] = f"{label}: {day.isoformat()} 重复"
        else:
            days[day] = (name or "").strip() or "调休上班"
    return days


def validate_notice(n: NoticeInput) -> tuple[dict[dt.date, str], dict[dt.date, str]]:
    """Check a notice; raise ValidationFailed naming every bad field, else return (holidays, workdays)."""
    errors: dict[str, str] = {}
    _check_meta(n, errors)
    if "year" in errors:
        raise ValidationFailed(errors["year"], fields=errors)
    holidays = _holiday_dates(n, errors)
    workdays = _workday_dates(n, holidays, errors)
    if errors:
        raise ValidationFailed("节假日安排有误 — " + ";".join(errors.values()), fields=errors)
    return holidays, workdays


# ---------------------------------------------------------------- writing the per-date table
def notice_specials(notice: HolidayNotice | None) -> tuple[dict[dt.date, str], dict[dt.date, str]]:
    """The holiday and adjusted-workday dates stored in a notice's raw data."""
    if notice is None:
        return {}, {}
    holidays: dict[dt.date, str] = {}
    for h in notice.holidays:
        day, end = dt.date.fromisoformat(h["start"]), dt.date.fromisoformat(h["end"])
        while day <= end:
            holidays[day] = h["name"]
            day += dt.timedelta(days=1)
    workdays = {dt.date.fromisoformat(w["date"]): w["name"] for w in notice.workdays}
    return holidays, workdays


def _row(day: dt.date, holidays: dict, workdays: dict) -> CalendarDay:
    if day in workdays:
        kind, name = ADJUSTED_WORKDAY, workdays[day]
    elif day in holidays:
        kind, name = HOLIDAY, holidays[day]
    else:
        kind, name = base_kind(day), ""
    return CalendarDay(date=day, is_workday=kind in (WORKDAY, ADJUSTED_WORKDAY), kind=kind, name=name,
                       year=day.year)


def _rewrite_days(first: dt.date, last: dt.date, holidays: dict, workdays: dict, *, all_days: bool) -> None:
    """Replace the rows of [first, last]; ``all_days`` False keeps only special days (provisional year)."""
    CalendarDay.objects.filter(date__gte=first, date__lte=last).delete()
    rows, day = [], first
    while day <= last:
        if all_days or day in holidays or day in workdays:
            rows.append(_row(day, holidays, workdays))
        day += dt.timedelta(days=1)
    CalendarDay.objects.bulk_create(rows, batch_size=1000)


def write_year(year: int) -> None:
    """Rewrite the rows of ``year`` (and the late-December days of year−1) from the stored notices."""
    notices = {n.year: n for n in HolidayNotice.objects.filter(year__in=[year - 1, year, year + 1])}
    own_h, own_w = notice_specials(notices.get(year))
    next_h, next_w = notice_specials(notices.get(year + 1))
    prev_h, prev_w = notice_specials(notices.get(year - 1))
    _rewrite_days(dt.date(year, 1, 1), dt.date(year, 12, 31), {**own_h, **next_h}, {**own_w, **next_w},
                  all_days=year in notices)
    december = dt.date(year - 1, *CROSS_YEAR_FIRST_DAY)
    _rewrite_days(december, dt.date(year - 1, 12, 31), {**prev_h, **own_h}, {**prev_w, **own_w},
                  all_days=year - 1 in notices)


def _bump_version() -> None:
    updated = CalendarVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=timezone.now())
    if not updated:
        CalendarVersion.objects.create(pk=1, version=1)


def _raw(holidays: list, workdays: list) -> tuple[list[dict], list[dict]]:
    return ([{"name": name.strip(), "start": s.isoformat(), "end": e.isoformat()} for s, e, name in holidays],
            [{"date": d.isoformat(), "name": (name or "").strip() or "调休上班"} for d, name in workdays])


def do_enter_notice(user, year: int, title: str, doc_no: str = "", published_on: dt.date | None = None,
                    holidays=(), workdays=(), *, replace: bool = False, source_file: str = "") -> HolidayNotice:
    """Enter (or, with ``replace``, correct) a year's State Council notice and recompute that year."""
    n = NoticeInput(year, title, doc_no, published_on, list(holidays), list(workdays))
    validate_notice(n)
    try:
        with transaction.atomic():
            notice = _save_notice(user, n, replace, source_file)
            write_year(year)
            _bump_version()
            reset_cache()  # this process sees the new calendar at once (hooks rely on it)
            hooks.fire({year - 1, year} if _touches_previous_year(notice) else {year})
    except BaseException:
        reset_cache()  # the cache may hold rows that were just rolled back
        raise
    return notice


def _touches_previous_year(notice: HolidayNotice) -> bool:
    holidays, workdays = notice_specials(notice)
    return any(d.year < notice.year for d in [*holidays, *workdays])


def _save_notice(user, n: NoticeInput, replace: bool, source_file: str) -> HolidayNotice:
    existing = HolidayNotice.objects.select_for_update().filter(year=n.year).first()
    if existing and not replace:
        raise Conflict(f"{n.year} 年已有正式节假日安排(来源: {existing.get_source_display()},“{existing.title}”);"
                       f"如需更正,请选择“替换已有安排”", fields={"year": "该年份已有正式安排"})
    raw_h, raw_w = _raw(n.holidays, n.workdays)
    values = dict(title=n.title.strip(), document_number=(n.document_number or "").strip(),
                  published_on=n.published_on, source=NoticeSource.NOTICE,
                  entered_by=user if getattr(user, "pk", None) else None, entered_at=timezone.now(),
                  source_file=source_file[:200], holidays=raw_h, workdays=raw_w)
    fields = ["title", "document_number", "published_on", "source", "holidays", "workdays"]
    before = audit.snapshot(existing, fields) if existing else {}
    if existing:
        for k, v in values.items():
            setattr(existing, k, v)
        existing.save()
        notice = existing
    else:
        notice = HolidayNotice.objects.create(year=n.year, **values)
    action = AuditAction.UPDATE if existing else AuditAction.CREATE
    audit.record(user if getattr(user, "pk", None) else (user or "系统"), action, notice,
                 changes=audit.diff(before, audit.snapshot(notice, fields)),
                 reason=f"录入 {n.year} 年节假日安排" + (f"(文件 {source_file})" if source_file else ""))
    return notice
