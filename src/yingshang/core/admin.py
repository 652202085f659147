"""Django admin (Chinese) for the organisation and the platform's records.

Users are created and changed through ``core.actions`` (validation + audit); the audit log, API tokens,
notifications and the outbox are read-only here (tokens can be revoked through ``do_revoke_token``)."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.forms import AdminPasswordChangeForm, ReadOnlyPasswordHashField
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from yingshang.core import actions, audit
from yingshang.core.errors import DomainError
from yingshang.core.models import (ApiToken, AuditAction, AuditLog, Department, Notification, OutboxMessage, Region,
                                   User)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff, never added, changed or deleted through the admin — not even by superusers."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# ---------------------------------------------------------------- audit history on change pages
AUDIT_HISTORY_LIMIT = 50


def _audit_value(value) -> str:
    text = "(空)" if value in (None, "", [], {}) else str(value)
    return text if len(text) <= 120 else text[:117] + "…"


class AuditHistoryMixin:
    """Shows the object's audit-log entries (newest first, the last 50) read-only on its change page."""

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + ("audit_history",) if obj is not None and "audit_history" not in fields else fields

    @admin.display(description=_("变更记录"))
    def audit_history(self, obj):
        entries = list(AuditLog.objects.for_object(obj)[:AUDIT_HISTORY_LIMIT]) if obj is not None and obj.pk else []
        if not entries:
            return "暂无变更记录"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                                ((timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M"), e.actor_name or "系统",
                                  e.get_action_display(), self._changes_html(obj, e)) for e in entries))
        return format_html('<table class="audit-history"><thead><tr><th>时间</th><th>操作人</th><th>动作</th>'
                           "<th>内容</th></tr></thead><tbody>{}</tbody></table>", rows)

    @staticmethod
    def _changes_html(obj, entry):
        items = format_html_join("", "<li>{}:{} → {}</li>", _change_rows(obj, entry.changes or {}))
        reason = format_html("<div>{}</div>", entry.reason) if entry.reason else ""
        return format_html('<ul style="margin:0;padding-left:1em">{}</ul>{}', items, reason)


def _change_rows(obj, changes: dict):
    """(field label, old, new) for each change of an audit entry."""
    for name, change in changes.items():
        old, new = (list(change) + [None, None])[:2] if isinstance(change, list) else (None, change)
        try:
            label = str(obj._meta.get_field(name.removesuffix("_id")).verbose_name)
        except FieldDoesNotExist:  # e.g. "token" on a user's token entries
            label = name
        yield label, _audit_value(old), _audit_value(new)


# ---------------------------------------------------------------- regions and departments
class AuditedAdmin(admin.ModelAdmin):
    """Back-office tables edited in the admin: every save writes an audit row in the same transaction."""

    audit_fields: list[str] = []

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(form.instance.__class__.objects.get(pk=obj.pk), self.audit_fields) if change else {}
        with transaction.atomic():
            obj.save()
            changes = audit.diff(before, audit.snapshot(obj, self.audit_fields))
            if changes:
                audit.record(request.user, AuditAction.UPDATE if change else AuditAction.CREATE, obj, changes=changes)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # referenced by users, enterprises and cases (PROTECT): deactivate instead


@admin.register(Region)
class RegionAdmin(AuditHistoryMixin, AuditedAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("=code", "name")
    raw_id_fields = ("parent",)
    audit_fields = ["code", "name", "level", "parent_id", "prefix"]

    def get_readonly_fields(self, request, obj=None):
        return ("code", "prefix", *super().get_readonly_fields(request, obj)) if obj else ("prefix",)

    def save_model(self, request, obj, form, change):
        obj.prefix = Region.prefix_for(obj.code, obj.level)  # "in region X" queries depend on it
        super().save_model(request, obj, form, change)


@admin.register(Department)
class DepartmentAdmin(AuditHistoryMixin, AuditedAdmin):
    list_display = ("code", "name", "short_name", "kind", "region", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("=code", "name", "short_name")
    raw_id_fields = ("region", "parent")
    audit_fields = ["code", "name", "short_name", "kind", "region_id", "parent_id", "is_active"]


# ---------------------------------------------------------------- users (through core.actions)
class _Rollback(Exception):
    pass


def _trial(form: forms.Form, run) -> None:
    """Run an action inside a transaction that is always rolled back and put its domain errors on the
    form: the admin form validates exactly as the action will when the form is saved."""
    try:
        with transaction.atomic():
            run()
            raise _Rollback
    except _Rollback:
        pass
    except DomainError as exc:
        if not exc.fields:
            form.add_error(None, exc.message)
        for name, reason in exc.fields.items():
            name = {"password": "password1"}.get(name, name)
            form.add_error(name if name in form.fields else None, reason)


def _scope_codes(data: dict) -> dict:
    return {"department": data["department"].code if data.get("department") else None,
            "region": data["region"].code if data.get("region") else None,
            "enterprise": data["enterprise"].uscc if data.get("enterprise") else None}


class UserAddForm(forms.ModelForm):
    password1 = forms.CharField(label=_("密码"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("确认密码"), widget=forms.PasswordInput, strip=False)

    class Meta:
        model = User
        fields = ("username", "display_name", "role", "department", "region", "enterprise", "phone", "email")

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor

    def action_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"username": d["username"], "role": d["role"], "password": d["password1"],
                "display_name": d.get("display_name") or "", "phone": d.get("phone") or "",
                "email": d.get("email") or "", **_scope_codes(d)}

    def validate_unique(self):
        pass  # the action reports a taken username (case-insensitively) with its own message

    def clean(self):
        data = super().clean()
        if data.get("password1") != data.get("password2"):
            raise forms.ValidationError({"password2": "两次输入的密码不一致"})
        if not self.errors:
            _trial(self, lambda: actions.do_create_user(self.actor, **self.action_kwargs()))
        return data


class UserChangeForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField(label=_("密码"), help_text=_(
        "密码只保存哈希值,无法查看。可通过<a href=\"../password/\">此表单</a>重设密码。"))

    class Meta:
        model = User
        fields = ("password", "display_name", "role", "department", "region", "enterprise", "phone", "email", "is_active")

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor

    def action_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"display_name": d.get("display_name") or "", "role": d["role"], "phone": d.get("phone") or "",
                "email": d.get("email") or "", "is_active": d.get("is_active", True), **_scope_codes(d)}

    def clean(self):
        data = super().clean()
        if not self.errors:
            original = User.objects.get(pk=self.instance.pk)
            _trial(self, lambda: actions.do_update_user(self.actor, original, **self.action_kwargs()))
        return data


@admin.register(User)
class UserAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("username", "display_name", "role", "department", "region", "enterprise", "is_active", "is_demo")
    list_filter = ("role", "is_active", "is_demo")
    search_fields = ("username", "display_name", "phone")
    raw_id_fields = ("department", "region", "enterprise")
    readonly_fields = ("username", "is_staff", "is_superuser", "is_demo", "last_login", "date_joined", "audit_history")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("身份与管辖范围"), {"fields": ("display_name", "role", "department", "region", "enterprise")}),
        (_("联系方式"), {"fields": ("phone", "email")}),
        (_("状态"), {"fields": ("is_active", "is_staff", "is_superuser", "is_demo", "last_login", "date_joined")}),
        (_("变更记录"), {"fields": ("audit_history",)}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2")}),
        (_("身份与管辖范围"), {"fields": ("display_name", "role", "department", "region", "enterprise"),
                        "description": _("承办人员、政策专员、部门负责人须指定所属单位;企业用户须指定所属企业;"
                                         "区划为空时按所属单位的区划确定管辖范围。")}),
        (_("联系方式"), {"fields": ("phone", "email")}),
    )

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = UserAddForm if obj is None else UserChangeForm
        kwargs["fields"] = None
        form = super().get_form(request, obj, change=change, **kwargs)

        class Bound(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, actor=request.user, **kw)

        return Bound

    def save_model(self, request, obj, form, change):
        if change:
            saved = actions.do_update_user(request.user, User.objects.get(pk=obj.pk), **form.action_kwargs())
        else:
            saved = actions.do_create_user(request.user, **form.action_kwargs())
        obj.pk, obj._state.adding = saved.pk, False

    def save_related(self, request, form, formsets, change):
        pass  # no many-to-many fields are edited here (groups and permissions are not used by roles)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # users are deactivated (their audit trail must keep pointing at them)

    def get_urls(self):
        view = self.admin_site.admin_view(self.password_view)
        return [path("<int:pk>/password/", view, name="core_user_password"), *super().get_urls()]

    def password_view(self, request, pk: int):
        """Reset a user's password (Django's admin form; the write goes through do_change_password)."""
        user = get_object_or_404(User, pk=pk)
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        form = AdminPasswordChangeForm(user, request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                actions.do_change_password(request.user, user, form.cleaned_data["password1"])
            except DomainError as exc:
                form.add_error("password1", exc.message)
            else:
                messages.success(request, f"已重设用户“{user.username}”的密码。")
                return redirect("admin:core_user_change", pk)
        return TemplateResponse(request, "admin/auth/user/change_password.html", self._password_context(request, user, form))

    def _password_context(self, request, user, form) -> dict:
        fieldsets = [(None, {"fields": list(form.base_fields)})]
        return {**self.admin_site.each_context(request), "title": f"重设密码:{user.username}", "form": form,
                "adminForm": helpers.AdminForm(form, fieldsets, {}), "form_url": "", "is_popup": False,
                "is_popup_var": "_popup", "add": True, "change": False, "has_view_permission": True,
                "has_delete_permission": False, "has_change_permission": True, "has_absolute_url": False,
                "opts": self.opts, "original": user, "save_as": False, "show_save": True}


# ---------------------------------------------------------------- read-only records
@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("prefix", "user__username", "name")
    exclude = ("digest",)
    actions = ["revoke"]

    @admin.action(description=_("吊销所选令牌"), permissions=["revoke"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            actions.do_revoke_token(request.user, token.pk)
            count += 1
        self.message_user(request, f"已吊销 {count} 个令牌", messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return request.user.is_superuser or request.user.role == "admin"


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "action", "object_type", "object_repr", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("actor_name", "=object_id", "object_repr")
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "category", "title", "read_at")
    list_filter = ("category",)
    search_fields = ("title", "user__username", "key")
    raw_id_fields = ("user",)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "channel", "address", "subject", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("channel", "status")
    search_fields = ("address", "subject", "key")
