"""Calendar pages: the year grid and calculator (any logged-in user), notice entry (admins only)."""
from __future__ import annotations

import calendar as pycal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from yingshang.core.access import access_role
from yingshang.core.errors import DomainError
from yingshang.core.models import Role
from yingshang.workcal.actions import NoticeInput, do_enter_notice
from yingshang.workcal.api import MAX_DAYS, parse_day, parse_days
from yingshang.workcal.calendar import get_calendar
from yingshang.workcal.models import HolidayNotice
from yingshang.workcal.notice_file import parse_date, parse_notice_file

MONTH_NAMES = [f"{m} 月" for m in range(1, 13)]


def _is_admin(user) -> bool:
    return user.is_superuser or user.role == Role.ADMIN


def _year_param(request) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return timezone.localdate().year
    return year if 1990 <= year <= 2200 else timezone.localdate().year


def month_grids(year: int) -> list[dict]:
    """Twelve Monday-first month grids of DayInfo (None outside the month)."""
    cal, weeks_of = get_calendar(), pycal.Calendar(firstweekday=0)
    grids = []
    for month in range(1, 13):
        weeks = [[cal.day_info(d) if d.month == month else None for d in week]
                 for week in weeks_of.monthdatescalendar(year, month)]
        grids.append({"name": MONTH_NAMES[month - 1], "weeks": weeks})
    return grids


@login_required
def calendar_page(request):
    """The year's month grid, the notices on record and the calculator."""
    year = _year_param(request)
    cal = get_calendar()
    days = cal.year_days(year)
    context = {
        "year": year, "years": range(year - 2, year + 3), "grids": month_grids(year),
        "provisional": cal.is_provisional_year(year), "is_admin": _is_admin(request.user),
        "notice": HolidayNotice.objects.filter(year=year).first(),
        "notices": HolidayNotice.objects.order_by("-year")[:30],
        "workday_count": sum(d.is_workday for d in days),
        "specials": [d for d in days if d.kind in ("holiday", "adjusted_workday")],
        "calc": _calc_context(request), "max_days": MAX_DAYS,
    }
    return render(request, "workcal/calendar.html", context)


def _calc_context(request) -> dict:
    """The calculator's inputs and its result or error (empty when nothing was asked)."""
    start, days = request.GET.get("start", ""), request.GET.get("days", "")
    ctx = {"start": start, "days": days}
    if not start and not days:
        return ctx
    try:
        day, n = parse_day(start, "start"), parse_days(days)
    except DomainError as exc:
        return {**ctx, "error": exc.message}
    result = get_calendar().add(day, n)
    return {**ctx, "result": result, "start_date": day, "n": n}


@login_required
def calculator(request):
    """Start date + N working days → result (an HTMX fragment, or a page on its own)."""
    template = "workcal/_calculator.html" if request.headers.get("HX-Request") else "workcal/calculator.html"
    return render(request, template, {"calc": _calc_context(request), "max_days": MAX_DAYS})


# ---------------------------------------------------------------- notice entry (admins)
def _rows_from_form(post) -> NoticeInput:
    """A NoticeInput from the repeatable form rows; blank rows are skipped."""
    year_raw = post.get("year", "").strip()
    if not (year_raw.isascii() and year_raw.isdigit()):  # int() would also take "²" or "٣"
        raise _FormError(f"年份“{year_raw}”应为四位数字", "year")
    published = post.get("published_on", "").strip()
    n = NoticeInput(int(year_raw), post.get("title", ""), post.get("document_number", ""),
                    parse_date(published, "发布日期") if published else None)
    names, starts, ends = (post.getlist(k) for k in ("holiday_name", "holiday_start", "holiday_end"))
    for i, (name, start, end) in enumerate(zip(names, starts, ends), start=1):
        if name.strip() or start.strip() or end.strip():
            n.holidays.append((parse_date(start, f"放假安排第 {i} 行开始日期"),
                               parse_date(end or start, f"放假安排第 {i} 行结束日期"), name))
    for i, (day, name) in enumerate(zip(post.getlist("workday_date"), post.getlist("workday_name")), start=1):
        if day.strip() or name.strip():
            n.workdays.append((parse_date(day, f"调休上班第 {i} 行日期"), name))
    return n


class _FormError(DomainError):
    def __init__(self, message: str, field: str):
        super().__init__(message, fields={field: message})


def _form_rows(post) -> dict:
    """The submitted rows again (so a rejected form keeps what was typed), plus blank rows to add."""
    holidays = list(zip(post.getlist("holiday_name"), post.getlist("holiday_start"), post.getlist("holiday_end")))
    workdays = list(zip(post.getlist("workday_date"), post.getlist("workday_name")))
    return {"holiday_rows": holidays + [("", "", "")] * max(1, 7 - len(holidays)),
            "workday_rows": workdays + [("", "")] * max(1, 6 - len(workdays))}


@login_required
def notice_form(request):
    """Enter a year's State Council notice by form rows or by uploading a JSON/CSV file."""
    access_role(request.user, Role.ADMIN)
    if request.method != "POST":
        year = _year_param(request)
        return render(request, "workcal/notice_form.html",
                      {"form": {"year": year}, **_form_rows(request.GET), "existing": HolidayNotice.objects.filter(year=year).first()})
    upload = request.FILES.get("file")
    try:
        n = (parse_notice_file(upload.name, upload.read(), title=request.POST.get("title", ""),
                               document_number=request.POST.get("document_number", ""))
             if upload else _rows_from_form(request.POST))
        do_enter_notice(request.user, n.year, n.title, n.document_number, n.published_on, n.holidays, n.workdays,
                        replace=request.POST.get("replace") == "on", source_file=upload.name if upload else "")
    except DomainError as exc:
        context = {"form": request.POST, "error": exc.message, "field_errors": exc.fields, **_form_rows(request.POST)}
        return render(request, "workcal/notice_form.html", context, status=400)
    messages.success(request, f"已录入 {n.year} 年节假日安排,相关期限已按新日历重新计算")
    return redirect(reverse("workcal:calendar") + f"?year={n.year}")
