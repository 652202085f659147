"""Django admin (Chinese) for the policy library — read-mostly.

Documents, items and reviews change through the audited actions (the 惠企政策 pages and the REST API):
an admin save would skip rule validation, the four-eyes review, the revision counter and re-matching.
The admin shows the records with their audit history and points editors to the pages."""
from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from yingshang.core.admin import AuditHistoryMixin, ReadOnlyAdmin
from yingshang.policies.models import ItemReview, PolicyAttachment, PolicyDocument, PolicyItem

EDIT_HINT = "政策库只读:请在“惠企政策”页面(/policies/)或 REST API 中录入和修改,所有修改都会记入审计日志。"


class _HintMixin:
    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "subtitle": EDIT_HINT})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "subtitle": EDIT_HINT})


class AttachmentInline(admin.TabularInline):
    model = PolicyAttachment
    extra = 0
    fields = ("name", "file", "uploaded_by", "uploaded_at")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(_HintMixin, AuditHistoryMixin, ReadOnlyAdmin):
    list_display = ("title", "doc_number", "issuers", "published_on", "expires_on", "region")
    list_filter = ("published_on",)
    search_fields = ("title", "doc_number", "issuers")
    raw_id_fields = ("region", "created_by")
    inlines = [AttachmentInline]


class ReviewInline(admin.TabularInline):
    model = ItemReview
    extra = 0
    fields = ("created_at", "reviewer", "decision", "reason")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PolicyItem)
class PolicyItemAdmin(_HintMixin, AuditHistoryMixin, ReadOnlyAdmin):
    list_display = ("code", "title", "status", "benefit_type", "mode", "department", "window_end", "revision",
                    "page_link")
    list_filter = ("status", "benefit_type", "mode", "department")
    search_fields = ("=code", "title", "keywords")
    list_select_related = ("department",)
    raw_id_fields = ("document", "department", "created_by")
    exclude = ("search_text",)
    inlines = [ReviewInline]

    @admin.display(description="页面")
    def page_link(self, obj):
        return format_html('<a href="{}">查看/编辑</a>', reverse("policies:item_detail", args=[obj.pk]))


@admin.register(ItemReview)
class ItemReviewAdmin(ReadOnlyAdmin):
    list_display = ("item", "decision", "reviewer", "created_at", "reason")
    list_filter = ("decision",)
    search_fields = ("item__title", "item__code")
    raw_id_fields = ("item", "reviewer")
    list_select_related = ("item", "reviewer")
