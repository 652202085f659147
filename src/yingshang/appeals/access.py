"""Who may read an appeal and who may take each step of its life cycle (DOMAIN §1: every role sees only
its own scope). Views and API handlers call ``access_appeal_read`` / ``visible_appeals``; the actions call
the ``access_*`` role checks inside their lock."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from yingshang.core.access import in_scope
from yingshang.core.models import Role

# Roles that see every case of their region scope.
REGION_READERS = {Role.DISPATCHER, Role.LEADER, Role.EVALUATOR, Role.ADMIN}
# Roles of a department that handles cases.
DEPARTMENT_ROLES = {Role.HANDLER, Role.DEPT_LEADER}
# Who may raise a problem on the platform (anonymous members of the public too, see actions).
SUBMITTER_ROLES = {Role.ENTERPRISE, Role.SUPERVISOR, Role.STEWARD, Role.DISPATCHER, Role.LEADER, Role.ADMIN}


def _logged_in(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("请先登录")


def _is_admin(user) -> bool:
    return user.is_superuser or user.role == Role.ADMIN


def _has_department_task(user, appeal) -> bool:
    return bool(user.department_id) and appeal.tasks.filter(department_id=user.department_id).exists()


def can_read(user, appeal) -> bool:
    """True when ``user`` may see ``appeal`` in full (not the redacted public view)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if _is_admin(user):
        return True
    if user.role == Role.ENTERPRISE:
        return bool(user.enterprise_id) and appeal.enterprise_id == user.enterprise_id
    if user.role in REGION_READERS:
        return in_scope(user, appeal.region_id)
    if user.role in DEPARTMENT_ROLES:
        return appeal.department_id == user.department_id or _has_department_task(user, appeal)
    return appeal.submitted_by_id == user.pk  # supervisors, stewards: the cases they raised


def access_appeal_read(user, appeal) -> None:
    """Raise PermissionDenied unless ``user`` may read ``appeal``."""
    _logged_in(user)
    if not can_read(user, appeal):
        raise PermissionDenied("该诉求不在您的查看范围内")


def visible_appeals(user, qs: QuerySet) -> QuerySet:
    """The part of an Appeal queryset ``user`` may read."""
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if _is_admin(user):
        return qs
    if user.role == Role.ENTERPRISE:
        return qs.filter(enterprise_id=user.enterprise_id) if user.enterprise_id else qs.none()
    if user.role in REGION_READERS:
        prefix = user.scope_prefix
        return qs.filter(region__code__startswith=prefix) if prefix else qs
    if user.role in DEPARTMENT_ROLES:
        if not user.department_id:
            return qs.none()
        from yingshang.appeals.models import AppealTask

        # Every dispatch writes a task for its department (lead or co), so "our case" = "we have a task on
        # it": one semi-join on the task index instead of an OR that defeats the case indexes.
        tasks = AppealTask.objects.filter(department_id=user.department_id).values("appeal_id")
        return qs.filter(pk__in=tasks)
    return qs.filter(submitted_by_id=user.pk)


# ---------------------------------------------------------------- role checks used by the actions
def access_dispatcher(user, verb: str = "执行此操作") -> None:
    """A dispatcher (or admin), whatever the case: the role part of ``access_dispatch``."""
    _logged_in(user)
    if user.role != Role.DISPATCHER and not _is_admin(user):
        raise PermissionDenied(f"只有营商办调度员可以{verb}")


def access_dispatch(user, appeal) -> None:
    """Dispatcher (or admin) whose region scope covers the case: grade, dispatch, arbitrate, close, …"""
    access_dispatcher(user)
    if not in_scope(user, appeal.region_id):
        raise PermissionDenied("该诉求不在您的管辖区划内")


def access_handle(user, appeal) -> None:
    """Handler or department leader of the case's lead department: sign, contact, pause, reply, …"""
    _logged_in(user)
    if user.role not in DEPARTMENT_ROLES:
        raise PermissionDenied("只有承办单位人员可以执行此操作")
    if not appeal.department_id or user.department_id != appeal.department_id:
        raise PermissionDenied("只有主办单位的人员可以办理该诉求")


def is_appellant(user, appeal) -> bool:
    """The enterprise of the case, or the supervisor who submitted it."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.ENTERPRISE:
        return bool(user.enterprise_id) and user.enterprise_id == appeal.enterprise_id
    return user.role == Role.SUPERVISOR and appeal.submitted_by_id == user.pk


def access_appellant(user, appeal) -> None:
    """The enterprise user of the case or its submitting supervisor: rate, reopen."""
    _logged_in(user)
    if not is_appellant(user, appeal):
        raise PermissionDenied("只有提出诉求的企业或监督员可以执行此操作")


def access_submit(user) -> None:
    """Anonymous public, enterprises, supervisors, stewards, dispatchers, leaders and admins may submit."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    if user.role not in SUBMITTER_ROLES and not user.is_superuser:
        raise PermissionDenied("当前角色不能提交诉求")


def access_co_handle(user, appeal) -> None:
    """Handler or leader of a department with a co-handling task on the case: sign it, reply to it."""
    _logged_in(user)
    if user.role not in DEPARTMENT_ROLES or not user.department_id:
        raise PermissionDenied("只有协办单位人员可以执行此操作")
    if user.department_id == appeal.department_id:
        raise PermissionDenied("主办单位请在主办任务中办理")


def is_submitter(user, appeal) -> bool:
    """True when ``user`` is the account that submitted the case (anonymous cases have none)."""
    return bool(appeal.submitted_by_id) and appeal.submitted_by_id == getattr(user, "pk", None)


def access_attach(user, appeal) -> None:
    """The appellant, the submitter, the lead department's staff or the dispatcher in scope may attach files."""
    if is_appellant(user, appeal) or is_submitter(user, appeal):
        return
    try:
        access_handle(user, appeal)
    except PermissionDenied:
        access_dispatch(user, appeal)


def sees_contact_plainly(user, appeal) -> bool:
    """Appellants and the submitter see their own contact data; staff see it masked and reveal it (audited)."""
    return is_appellant(user, appeal) or is_submitter(user, appeal)
