"""Write actions of the core app: users, API tokens, notification read state. Each runs in one
transaction and writes the audit log; passwords and tokens never enter the audit log."""
from __future__ import annotations

import datetime as dt
import re
import secrets

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from yingshang.core import audit
from yingshang.core.errors import Conflict, NotFound, ValidationFailed
from yingshang.core.models import (ROLES_NEEDING_DEPARTMENT, ROLES_NEEDING_ENTERPRISE, ApiToken, AuditAction,
                                   Department, Notification, Region, Role, User)

TOKEN_PREFIX = "ys_"
TOKEN_PREFIX_LEN = 10  # "ys_" + 7 characters, shown to tell tokens apart
MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
# Fields of a user that the audit log records (never the password).
USER_AUDIT_FIELDS = ["username", "role", "display_name", "phone", "email", "department_id", "region_id",
                     "enterprise_id", "is_active", "is_staff", "is_superuser"]
PROFILE_FIELDS = {"display_name", "phone", "email", "role", "department", "region", "enterprise", "is_active"}


# ---------------------------------------------------------------- validation helpers
def _fail(field: str, reason: str):
    raise ValidationFailed(f"{field}: {reason}", fields={field: reason})


def _role(value: str) -> str:
    if value not in Role.values:
        _fail("role", f"未知角色「{value}」,可选:{', '.join(Role.values)}")
    return value


def _department(code: str | None) -> Department | None:
    if not code:
        return None
    dept = Department.objects.filter(code=code).first()
    if dept is None:
        _fail("department", f"单位代码「{code}」不存在")
    if not dept.is_active:
        _fail("department", f"单位「{dept.name}」已停用")
    return dept


def _region(code: str | None) -> Region | None:
    if not code:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        _fail("region", f"区划代码「{code}」不存在")
    return region


def _enterprise(uscc: str | None):
    from yingshang.enterprises.models import Enterprise

    if not uscc:
        return None
    ent = Enterprise.objects.filter(uscc=uscc.strip().upper()).first()
    if ent is None:
        _fail("enterprise", f"统一社会信用代码「{uscc}」对应的企业不存在")
    return ent


def _check_scope(role: str, department, enterprise) -> None:
    """Each role carries the scope it needs (see models.ROLES_NEEDING_*)."""
    label = Role(role).label
    if role in ROLES_NEEDING_DEPARTMENT and department is None:
        _fail("department", f"角色「{label}」必须指定所属单位")
    if role in ROLES_NEEDING_ENTERPRISE and enterprise is None:
        _fail("enterprise", f"角色「{label}」必须指定所属企业(统一社会信用代码)")
    if enterprise is not None and role not in ROLES_NEEDING_ENTERPRISE:
        _fail("enterprise", f"只有企业用户可以关联企业,角色「{label}」不能关联")


def _check_contact(phone: str, email: str) -> None:
    if phone and not MOBILE.match(phone):
        _fail("phone", f"手机号「{phone}」格式不正确,应为 11 位中国大陆手机号")
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            _fail("email", f"电子邮箱「{email}」格式不正确")


def _check_username(username: str) -> None:
    if not username or len(username) > 150:
        _fail("username", "用户名不能为空,且不超过 150 个字符")
    try:
        UnicodeUsernameValidator()(username)
    except DjangoValidationError:
        _fail("username", "用户名只能包含字母、数字和 @ . + - _")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"用户名「{username}」已被占用", fields={"username": "已被占用"})


def _check_password(password: str, user: User) -> None:
    if not password:
        _fail("password", "密码不能为空")
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        _fail("password", ";".join(exc.messages))


# ---------------------------------------------------------------- users
def do_create_user(actor, username: str, role: str, password: str, department: str | None = None,
                   region: str | None = None, enterprise: str | None = None, display_name: str = "",
                   phone: str = "", email: str = "") -> User:
    """Create a user with the scope its role needs; codes are department code, region code, USCC."""
    username, phone, email = (username or "").strip(), (phone or "").strip(), (email or "").strip()
    _role(role)
    dept, reg, ent = _department(department), _region(region), _enterprise(enterprise)
    _check_scope(role, dept, ent)
    _check_contact(phone, email)
    with transaction.atomic():
        _check_username(username)
        is_admin = role == Role.ADMIN
        user = User(username=username, role=role, department=dept, region=reg, enterprise=ent,
                    display_name=display_name.strip(), phone=phone, email=email,
                    is_staff=is_admin, is_superuser=is_admin)
        _check_password(password, user)
        user.set_password(password)
        user.save()
        audit.record(actor, AuditAction.CREATE, user, changes={k: [None, v] for k, v in
                                                              audit.snapshot(user, USER_AUDIT_FIELDS).items()})
    return user


def _resolve_changes(user: User, changes: dict) -> dict:
    """Turn codes into objects and validate the resulting user as a whole."""
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        _fail(sorted(unknown)[0], "不可修改的字段")
    resolved = dict(changes)
    if "role" in changes:
        resolved["role"] = _role(changes["role"])
    for name, loader in (("department", _department), ("region", _region), ("enterprise", _enterprise)):
        if name in changes:
            resolved[name] = loader(changes[name])
    role = resolved.get("role", user.role)
    _check_scope(role, resolved.get("department", user.department),
                 resolved.get("enterprise", user.enterprise))
    _check_contact((resolved.get("phone") or "").strip(), (resolved.get("email") or "").strip())
    return resolved


def do_update_user(actor, user: User, **changes) -> User:
    """Change a user's profile or scope (display_name, phone, email, role, department, region,
    enterprise, is_active); department/region/enterprise are given as codes."""
    resolved = _resolve_changes(user, changes)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = audit.snapshot(user, USER_AUDIT_FIELDS)
        for name, value in resolved.items():
            setattr(user, name, value.strip() if isinstance(value, str) else value)
        if "role" in resolved:  # the admin role is the Django superuser; other roles are not
            user.is_staff = user.is_superuser = user.role == Role.ADMIN
        user.save()
        changed = audit.diff(before, audit.snapshot(user, USER_AUDIT_FIELDS))
        if changed:
            audit.record(actor, AuditAction.UPDATE, user, changes=changed)
        if not user.is_active:
            do_revoke_tokens(actor, user)
    return user


def do_deactivate_user(actor, user: User, reason: str = "") -> User:
    """Disable a user's logins and revoke all of their API tokens."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active:
            User.objects.filter(pk=user.pk).update(is_active=False)
            user.is_active = False
            audit.record(actor, AuditAction.TRANSITION, user, changes={"is_active": [True, False]}, reason=reason)
        do_revoke_tokens(actor, user)
    return user


# ---------------------------------------------------------------- API tokens
def new_token() -> str:
    """A fresh bearer token: ``ys_`` + 43 URL-safe characters (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def do_change_password(actor, user: User, new_password: str) -> User:
    """Set a new password (validated by the platform's password rules); audited without the value."""
    try:
        validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed("密码不符合要求: " + ";".join(exc.messages),
                               fields={"password": ";".join(exc.messages)}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record(actor, AuditAction.UPDATE, user, changes={"password": ["***", "***(已修改)"]})
    return user


def do_issue_token(actor, user: User, name: str = "", expires_at: dt.datetime | None = None) -> str:
    """Create an API token for ``user`` and return it in plain text — the only time it is visible;
    only its SHA-256 digest and a short prefix are stored."""
    if not user.is_active:
        _fail("user", f"用户「{user.username}」已停用,不能签发令牌")
    if expires_at is not None and expires_at <= timezone.now():
        _fail("expires_at", "过期时间必须晚于当前时间")
    token = new_token()
    with transaction.atomic():
        row = ApiToken.objects.create(user=user, name=(name or "")[:64], prefix=token[:TOKEN_PREFIX_LEN],
                                      digest=ApiToken.hash(token), expires_at=expires_at)
        audit.record(actor, AuditAction.TOKEN, user, reason="签发 API 令牌",
                     changes={"token": ["", f"{row.prefix}…"], "name": ["", row.name],
                              "expires_at": [None, expires_at.isoformat() if expires_at else None]})
    return token


def do_revoke_token(actor, token_id: int) -> ApiToken:
    """Revoke one API token (revoking a revoked token changes nothing)."""
    with transaction.atomic():
        row = ApiToken.objects.select_for_update().select_related("user").filter(pk=token_id).first()
        if row is None:
            raise NotFound(f"令牌 {token_id} 不存在")
        if row.revoked_at is None:
            row.revoked_at = timezone.now()
            row.save(update_fields=["revoked_at"])
            audit.record(actor, AuditAction.TOKEN, row.user, reason="吊销 API 令牌",
                         changes={"revoked_at": [None, row.revoked_at.isoformat()]},
                         object_repr=f"{row.user} 的令牌 {row.prefix}…")
    return row


def do_revoke_tokens(actor, user: User, prefix: str | None = None) -> int:
    """Revoke all of a user's active tokens, or those whose prefix starts with ``prefix``."""
    qs = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if prefix:
        qs = qs.filter(prefix__startswith=prefix[:TOKEN_PREFIX_LEN])
    with transaction.atomic():
        ids = list(qs.values_list("pk", flat=True))
        for pk in ids:
            do_revoke_token(actor, pk)
    return len(ids)


# ---------------------------------------------------------------- notifications
def do_mark_notifications_read(user: User, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications (all, or those in ``ids``) read; returns how many."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    with transaction.atomic():
        count = qs.update(read_at=timezone.now())
        if count:
            audit.record(user, AuditAction.UPDATE, object_type="core.notification", object_id=str(user.pk),
                         object_repr=f"{user} 的站内消息", changes={"read": [None, count]})
    return count
