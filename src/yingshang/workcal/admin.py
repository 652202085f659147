"""Read-only back-office views of the calendar: changes go through the notice form (audited, recomputed)."""
from django.contrib import admin

from yingshang.core.admin import AuditHistoryMixin
from yingshang.workcal.models import CalendarDay, HolidayNotice


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HolidayNotice)
class HolidayNoticeAdmin(AuditHistoryMixin, _ReadOnly):
    list_display = ("year", "title", "document_number", "published_on", "source", "entered_by", "entered_at")
    list_filter = ("source",)


@admin.register(CalendarDay)
class CalendarDayAdmin(_ReadOnly):
    list_display = ("date", "kind", "name", "is_workday")
    list_filter = ("year", "kind")
    date_hierarchy = "date"
