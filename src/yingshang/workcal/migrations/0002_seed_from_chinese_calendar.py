"""Seed every date of the years the chinese_calendar package knows, and one notice row per year."""
from django.db import migrations

TITLE = "国务院办公厅关于{year}年部分节假日安排的通知(chinese_calendar 数据包)"


def seed(apps, schema_editor):
    from yingshang.workcal import seed as package
    from yingshang.workcal.engine import ADJUSTED_WORKDAY, WORKDAY

    CalendarDay = apps.get_model("workcal", "CalendarDay")
    HolidayNotice = apps.get_model("workcal", "HolidayNotice")
    CalendarVersion = apps.get_model("workcal", "CalendarVersion")
    calendar = package.package_calendar()
    holidays, workdays = package.by_year(package.package_holidays()), package.by_year(package.package_workdays())
    days, notices = [], []
    for year in package.package_years():
        days += [CalendarDay(date=d.date, is_workday=d.kind in (WORKDAY, ADJUSTED_WORKDAY), kind=d.kind,
                             name=d.name, year=year) for d in calendar.year_days(year)]
        notices.append(HolidayNotice(
            year=year, title=TITLE.format(year=year), source="chinese_calendar",
            holidays=[{"name": n, "start": s.isoformat(), "end": e.isoformat()}
                      for s, e, n in package.holiday_ranges(holidays.get(year, {}))],
            workdays=[{"date": d.isoformat(), "name": n} for d, n in sorted(workdays.get(year, {}).items())]))
    CalendarDay.objects.bulk_create(days, batch_size=2000, ignore_conflicts=True)
    HolidayNotice.objects.bulk_create(notices, ignore_conflicts=True)
    CalendarVersion.objects.update_or_create(pk=1, defaults={"version": 1})


def unseed(apps, schema_editor):
    apps.get_model("workcal", "HolidayNotice").objects.filter(source="chinese_calendar").delete()
    apps.get_model("workcal", "CalendarDay").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("workcal", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
