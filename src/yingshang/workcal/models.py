"""Working-day calendar: one row per date of every official year, the notices they come from, and a
version counter other processes poll to pick up a newly entered notice."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yingshang.workcal import engine


class DayKind(models.TextChoices):
    WORKDAY = engine.WORKDAY, _("工作日")
    WEEKEND = engine.WEEKEND, _("周末")
    HOLIDAY = engine.HOLIDAY, _("节假日")
    ADJUSTED_WORKDAY = engine.ADJUSTED_WORKDAY, _("调休上班")


class CalendarDay(models.Model):
    """One date of an official year (or a late-December day a following notice reaches into)."""

    date = models.DateField(_("日期"), primary_key=True)
    is_workday = models.BooleanField(_("是否工作日"))
    kind = models.CharField(_("类型"), max_length=20, choices=DayKind.choices)
    name = models.CharField(_("节日/调休说明"), max_length=100, blank=True)
    year = models.PositiveSmallIntegerField(_("年份"), db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = _("日历日期")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()} {self.name}".strip()


class NoticeSource(models.TextChoices):
    PACKAGE = "chinese_calendar", _("chinese_calendar 数据包")
    NOTICE = "notice", _("管理员录入的国务院通知")


class HolidayNotice(models.Model):
    """A year's State Council holiday notice (国务院办公厅关于××年部分节假日安排的通知)."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    title = models.CharField(_("标题"), max_length=200)
    document_number = models.CharField(_("文号"), max_length=64, blank=True)
    published_on = models.DateField(_("发布日期"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=20, choices=NoticeSource.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("录入人"))
    entered_at = models.DateTimeField(_("录入时间"), default=timezone.now)
    source_file = models.CharField(_("来源文件"), max_length=200, blank=True)
    # [{"name", "start", "end"}] and [{"date", "name"}], ISO dates, exactly as entered.
    holidays = models.JSONField(_("放假安排"), default=list)
    workdays = models.JSONField(_("调休上班日"), default=list)

    class Meta:
        verbose_name = verbose_name_plural = _("节假日安排通知")
        ordering = ["-year"]

    def __str__(self) -> str:
        return self.title


class CalendarVersion(models.Model):
    """A single row whose ``version`` is bumped on every calendar change (cache invalidation)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = _("日历版本")
