"""Django admin (Chinese) for 诉求: the grades are configured here (audited); cases, escalations, reviews and
12345 reports are read-only — cases change only through the audited life-cycle actions (the pages and
the REST API), which check role and status and keep the clock and the timeline consistent."""
from __future__ import annotations

from django.contrib import admin

from yingshang.appeals.models import Appeal, AppealEscalation, AppealOutbound, AppealReview, Grade
from yingshang.core.admin import AuditedAdmin, AuditHistoryMixin, ReadOnlyAdmin

CASE_HINT = "诉求只读:请在“诉求”页面(/appeals/)或 REST API 中办理,每一步都会记入时间线和审计日志。"


@admin.register(Grade)
class GradeAdmin(AuditHistoryMixin, AuditedAdmin):
    """Grade limits apply to cases graded from now on; cases already dispatched keep their deadline."""

    list_display = ("code", "name", "days", "sign_days", "response_days", "order", "is_active")
    list_editable = ("is_active",)
    audit_fields = ["code", "name", "days", "sign_days", "response_days", "order", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        return ("code", *super().get_readonly_fields(request, obj)) if obj else ()


class _HintMixin:
    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "subtitle": CASE_HINT})


@admin.register(Appeal)
class AppealAdmin(_HintMixin, AuditHistoryMixin, ReadOnlyAdmin):
    list_display = ("number", "title", "status", "grade", "department", "region", "channel", "due_date",
                    "escalation_level", "created_at")
    list_filter = ("status", "channel", "category", "escalation_level", "grade")
    search_fields = ("=number", "title", "=external_ref")
    exclude = ("contact_name", "contact_phone")  # personal data: read (audited) on the case page
    list_select_related = ("grade", "department", "region")
    date_hierarchy = "created_at"


@admin.register(AppealEscalation)
class AppealEscalationAdmin(ReadOnlyAdmin):
    list_display = ("appeal", "round", "level", "department", "fired_at")
    list_filter = ("level",)
    list_select_related = ("appeal", "department")


@admin.register(AppealReview)
class AppealReviewAdmin(ReadOnlyAdmin):
    list_display = ("appeal", "round", "sampled_at", "checked_at", "passed", "checked_by")
    list_filter = ("passed",)
    list_select_related = ("appeal", "checked_by")


@admin.register(AppealOutbound)
class AppealOutboundAdmin(ReadOnlyAdmin):
    list_display = ("appeal", "kind", "round", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    list_filter = ("status", "kind")
    list_select_related = ("appeal",)
