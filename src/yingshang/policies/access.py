"""Who may read, write, review and redeem policy items (and documents).

Decisions (see the report of issue 3):
- Reading: a published item is public (anonymous included); every other status is for government
  staff only. A document is public once one of its items is published; otherwise staff only.
- Writing: the policy officers (政策专员) of the item's responsible department, and platform admins.
  Dispatchers (营商办) supervise policy delivery but do not author items: an item has exactly one
  responsible department, and letting a second office edit it would blur who answers for it.
- Reviewing: a policy officer or the head (dept_leader) of the item's department, or an admin — and
  never the person who submitted the item for review (four-eyes), unless that person is an admin.
- Redemption (兑现): the item's department staff (policy officer, handler, head) and admins.

Every ``access_*`` raises ``PermissionDenied`` (the API answers 403, the pages render 403.html);
``can_*`` are the boolean forms for templates.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied

from yingshang.core.models import STAFF_ROLES, AuditAction, AuditLog, Role

REVIEW_ROLES = {Role.POLICY_OFFICER, Role.DEPT_LEADER}
REDEMPTION_ROLES = {Role.POLICY_OFFICER, Role.HANDLER, Role.DEPT_LEADER}
PUBLIC_STATUSES = {"published"}


def _logged_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def is_admin(user) -> bool:
    return _logged_in(user) and (user.is_superuser or user.role == Role.ADMIN)


def is_staff(user) -> bool:
    """Government staff (the roles that see drafts and items under review)."""
    return _logged_in(user) and (user.is_superuser or user.role in STAFF_ROLES)


def _require_login(user) -> None:
    if not _logged_in(user):
        raise PermissionDenied("请先登录")


# ---------------------------------------------------------------- items
def access_policy_read(user, item) -> None:
    """Published items: everyone; other statuses: government staff."""
    if item.status in PUBLIC_STATUSES or is_staff(user):
        return
    _require_login(user)
    raise PermissionDenied("该政策事项尚未发布,仅工作人员可查看")


def access_policy_write(user, item=None, *, department=None) -> None:
    """Create (``item`` None; ``department`` the new item's department, if known) or edit an item."""
    _require_login(user)
    if is_admin(user):
        return
    if user.role != Role.POLICY_OFFICER:
        raise PermissionDenied("只有政策专员或平台管理员可以录入和修改政策事项")
    dept_id = item.department_id if item is not None else getattr(department, "pk", department)
    if dept_id is not None and dept_id != user.department_id:
        raise PermissionDenied("只能录入和修改本单位负责的政策事项")


def submitter_id(item) -> int | None:
    """Who last submitted the item for review (from the audit log: the draft → review transition)."""
    entries = AuditLog.objects.for_object(item).filter(action=AuditAction.TRANSITION).values("actor_id", "changes")
    for entry in entries[:50]:
        status = (entry["changes"] or {}).get("status")
        if isinstance(status, list) and len(status) == 2 and status[1] == "review":
            return entry["actor_id"]
    return None


def access_policy_review(user, item) -> None:
    """Reviewers of the item's department or admins; never the submitter (four-eyes) unless admin."""
    _require_login(user)
    if is_admin(user):
        return
    if user.role not in REVIEW_ROLES or user.department_id != item.department_id:
        raise PermissionDenied("只有责任单位的政策专员、部门负责人或平台管理员可以审核政策事项")
    if submitter_id(item) == user.pk:
        raise PermissionDenied("不能审核自己提交的政策事项(审核须由另一人完成)")


def access_redemption(user, item) -> None:
    """Staff of the item's responsible department and admins (confirm, pay out)."""
    _require_login(user)
    if is_admin(user):
        return
    if user.role not in REDEMPTION_ROLES or user.department_id != item.department_id:
        raise PermissionDenied("只有该事项责任单位的工作人员可以办理兑现")


PREVIEW_ROLES = {Role.ADMIN, Role.POLICY_OFFICER, Role.DEPT_LEADER, Role.DISPATCHER}


def access_policy_preview(user) -> None:
    """Counting who would qualify (before publishing): policy officers, heads, 营商办 and admins."""
    _require_login(user)
    if not (user.is_superuser or user.role in PREVIEW_ROLES):
        raise PermissionDenied("当前角色无权预览政策匹配结果")


# ---------------------------------------------------------------- documents
def access_document_read(user, document) -> None:
    """Documents with a published item: everyone; others: staff."""
    if is_staff(user) or document.items.filter(status__in=PUBLIC_STATUSES).exists():
        return
    _require_login(user)
    raise PermissionDenied("该政策文件尚无已发布的事项,仅工作人员可查看")


def access_document_write(user, document=None) -> None:
    """Admins; policy officers for new documents and for documents of their department (issuer or
    responsible for one of its items) or entered by themselves."""
    _require_login(user)
    if is_admin(user):
        return
    if user.role != Role.POLICY_OFFICER:
        raise PermissionDenied("只有政策专员或平台管理员可以录入和修改政策文件")
    if document is None or document.created_by_id == user.pk:
        return
    dept = user.department_id
    if dept and (document.departments.filter(pk=dept).exists() or document.items.filter(department_id=dept).exists()):
        return
    raise PermissionDenied("只能修改本单位的政策文件")


# ---------------------------------------------------------------- booleans for templates
def _allowed(check, *args, **kwargs) -> bool:
    try:
        check(*args, **kwargs)
    except PermissionDenied:
        return False
    return True


def can_read(user, item) -> bool:
    return _allowed(access_policy_read, user, item)


def can_write(user, item=None) -> bool:
    return _allowed(access_policy_write, user, item)


def can_review(user, item) -> bool:
    return _allowed(access_policy_review, user, item)


def can_write_document(user, document=None) -> bool:
    return _allowed(access_document_write, user, document)


def visible_items(user, qs):
    """The part of a PolicyItem queryset this user may list."""
    return qs if is_staff(user) else qs.filter(status__in=PUBLIC_STATUSES)
