"""Django admin (Chinese) for the enterprise register — read-only.

Enterprise records, certifications and tags change only through the audited actions (the web
pages, the import and the REST API); an admin save would bypass validation, derived fields and the
audit log, so the admin shows the data and points editors there."""
from __future__ import annotations

from django.contrib import admin

from yingshang.core.admin import ReadOnlyAdmin
from yingshang.enterprises.models import (PERSONAL_FIELDS, Certification, CreditListing, Enterprise, EnterpriseTag,
                                          Industry, Tag)

EDIT_HINT = ("企业档案只读:请通过企业页面、导入(/enterprises/import/)或 REST API(/api/v1/docs)修改"
             "(信用名单和服务管家在企业页面上维护),所有修改都会记入审计日志。")


@admin.register(Industry)
class IndustryAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("=code", "name")


class CertificationInline(admin.TabularInline):
    model = Certification
    extra = 0
    fields = ("kind", "certificate_no", "valid_from", "valid_to", "source")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CreditListingInline(admin.TabularInline):
    model = CreditListing
    extra = 0
    fields = ("kind", "listed_on", "removed_on", "authority", "reason")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EnterpriseTagInline(admin.TabularInline):
    model = EnterpriseTag
    extra = 0
    fields = ("tag", "created_at")
    can_delete = False
    verbose_name = verbose_name_plural = "标签"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Enterprise)
class EnterpriseAdmin(ReadOnlyAdmin):
    list_display = ("name", "uscc", "region", "industry_code", "size", "status", "established_on")
    list_filter = ("size", "status", "legal_form", "industry_section", "tax_credit_rating", "taxpayer_kind")
    search_fields = ("=uscc", "^name")
    raw_id_fields = ("region", "steward")
    list_select_related = ("region",)
    show_full_result_count = False  # a full COUNT(*) over a million rows on every search is not needed
    inlines = [CertificationInline, CreditListingInline, EnterpriseTagInline]
    # Personal data is read on the enterprise page through the audited reveal, never here (DOMAIN §4).
    exclude = PERSONAL_FIELDS

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "subtitle": EDIT_HINT})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "subtitle": EDIT_HINT})


@admin.register(Certification)
class CertificationAdmin(ReadOnlyAdmin):
    list_display = ("enterprise", "kind", "certificate_no", "valid_from", "valid_to", "source")
    list_filter = ("kind",)
    search_fields = ("=enterprise__uscc", "certificate_no")
    raw_id_fields = ("enterprise",)
    show_full_result_count = False


@admin.register(CreditListing)
class CreditListingAdmin(ReadOnlyAdmin):
    list_display = ("enterprise", "kind", "listed_on", "removed_on", "authority")
    list_filter = ("kind",)
    search_fields = ("=enterprise__uscc", "authority")
    raw_id_fields = ("enterprise",)
    list_select_related = ("enterprise",)
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "description")
    list_filter = ("kind",)
    search_fields = ("code", "name")
