"""服务管家: assigning the steward who looks after an enterprise (copies of policy pushes, visits).

Only 营商办 dispatchers and administrators assign stewards, within their own scope; the steward must
be an active user with role ``steward`` whose region scope contains the enterprise. The steward is
not something a policy rule looks at, so no ``enterprises_changed`` signal is sent.
"""
from __future__ import annotations

from django.db import transaction

from yingshang.core import audit
from yingshang.core.access import access_enterprise, in_scope
from yingshang.core.errors import Forbidden, ValidationFailed
from yingshang.core.models import AuditAction, Role, User
from yingshang.enterprises.models import Enterprise

STEWARD_ASSIGNERS = {Role.DISPATCHER, Role.ADMIN}


def may_assign_steward(actor) -> bool:
    """True when this user's role may assign stewards (scope is checked separately)."""
    return bool(getattr(actor, "is_superuser", False) or getattr(actor, "role", None) in STEWARD_ASSIGNERS)


def check_steward_assignment(actor, region_code: str, steward: User | None) -> None:
    """Raise unless ``actor`` may give an enterprise in ``region_code`` this steward (None = none)."""
    if not may_assign_steward(actor):
        raise Forbidden("只有营商办调度员或平台管理员可以指定服务管家", fields={"steward": "无权指定服务管家"})
    if steward is None:
        return
    if steward.role != Role.STEWARD or not steward.is_active:
        reason = f"用户“{steward.username}”不是在岗的服务管家"
        raise ValidationFailed(reason, fields={"steward": reason})
    if not in_scope(steward, region_code):
        reason = (f"企业所在区划 {region_code} 不在服务管家“{steward}”的服务区域"
                  f"({steward.scope_prefix or '全部'})内")
        raise ValidationFailed(reason, fields={"steward": reason})


def do_assign_steward(actor, enterprise: Enterprise, steward: User | None) -> Enterprise:
    """Give the enterprise this steward, or none (``None``); audited, no-op when unchanged."""
    access_enterprise(actor, enterprise, write=True)
    check_steward_assignment(actor, enterprise.region_id, steward)
    with transaction.atomic():
        ent = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
        if ent.steward_id == (steward.pk if steward else None):
            return ent
        # Ids, as in the register's own field diffs; the enterprise page shows them as names.
        changes = {"steward_id": [ent.steward_id, steward.pk if steward else None]}
        ent.steward = steward
        ent.save(update_fields=["steward"])
        audit.record(actor, AuditAction.UPDATE, ent, changes=changes,
                     reason="指定服务管家" if steward else "取消服务管家")
    return ent


def steward_choices(enterprise: Enterprise):
    """Active stewards whose scope contains the enterprise's region (for the page's select)."""
    users = User.objects.filter(role=Role.STEWARD, is_active=True).select_related("region", "department__region")
    return [u for u in users.order_by("username") if in_scope(u, enterprise.region_id)]
