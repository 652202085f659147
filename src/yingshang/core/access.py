"""Access checks (``access_*``) and scope filters. Views and API handlers call these before acting."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from yingshang.core.models import Role, STAFF_ROLES

# Roles that see the enterprise register within their region scope.
REGISTER_READERS = STAFF_ROLES
# Roles that may create or edit enterprise records (within scope) and import registers.
REGISTER_WRITERS = {Role.ADMIN, Role.DISPATCHER, Role.POLICY_OFFICER, Role.HANDLER, Role.DEPT_LEADER, Role.STEWARD}


def access_role(user, *roles: str) -> None:
    """Raise PermissionDenied unless the user is logged in and has one of ``roles``."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("请先登录")
    if user.role not in roles and not user.is_superuser:
        raise PermissionDenied("当前角色无权执行此操作")


def access_staff(user) -> None:
    """Raise unless the user is government staff (not an enterprise, supervisor or anonymous)."""
    access_role(user, *STAFF_ROLES)


def in_scope(user, region_code: str) -> bool:
    """True when ``region_code`` lies inside the user's region scope."""
    return user.is_superuser or user.role == Role.ADMIN or region_code.startswith(user.scope_prefix)


def scope_prefix(user) -> str:
    """The region-code prefix a user's register view is limited to ('' = everywhere: admins)."""
    return "" if user.is_superuser or user.role == Role.ADMIN else user.scope_prefix


def visible_enterprises(user, qs: QuerySet) -> QuerySet:
    """The part of an Enterprise queryset this user may read."""
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser or user.role == Role.ADMIN:
        return qs
    if user.role == Role.ENTERPRISE:
        return qs.filter(pk=user.enterprise_id) if user.enterprise_id else qs.none()
    if user.role in REGISTER_READERS:
        prefix = user.scope_prefix
        return qs.filter(region__code__startswith=prefix) if prefix else qs
    return qs.none()


def access_enterprise(user, enterprise, *, write: bool = False) -> None:
    """Raise PermissionDenied unless the user may read (or, with ``write``, edit) this enterprise."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("请先登录")
    if user.is_superuser or user.role == Role.ADMIN:
        return
    if user.role == Role.ENTERPRISE:
        if user.enterprise_id != enterprise.pk:
            raise PermissionDenied("企业用户只能查看本企业的档案")
        return
    if user.role not in REGISTER_READERS or not in_scope(user, enterprise.region_id):
        raise PermissionDenied("该企业不在您的管辖范围内")
    if write and user.role not in REGISTER_WRITERS:
        raise PermissionDenied("当前角色无权修改企业档案")


def access_register_write(user, region_code: str | None = None) -> None:
    """Raise unless the user may create/import enterprise records (in ``region_code`` if given)."""
    access_role(user, *REGISTER_WRITERS, Role.ENTERPRISE)
    if user.role == Role.ENTERPRISE:
        raise PermissionDenied("企业用户不能新增或导入企业档案")
    if region_code and not in_scope(user, region_code):
        raise PermissionDenied(f"区划 {region_code} 不在您的管辖范围内")
