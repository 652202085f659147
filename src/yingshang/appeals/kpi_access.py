"""Who may read the 诉求 KPIs and the monthly 通报, and which part of them (shared by the API and the pages).

KPIs: admins, dispatchers, leaders and evaluators see every unit of their region scope; a department
leader sees only their own department's row (grouped by department). The 通报 is drafted by dispatchers,
leaders, evaluators and admins, each for their own region scope.
"""
from __future__ import annotations

from typing import NamedTuple

from django.core.exceptions import PermissionDenied

from yingshang.core.access import access_role, scope_prefix
from yingshang.core.errors import ValidationFailed
from yingshang.core.models import Region, Role

KPI_READERS = (Role.ADMIN, Role.DISPATCHER, Role.LEADER, Role.EVALUATOR, Role.DEPT_LEADER)
BULLETIN_READERS = (Role.ADMIN, Role.DISPATCHER, Role.LEADER, Role.EVALUATOR)
DEFAULT_REGION_NAME = "本地区"


class Scope(NamedTuple):
    prefix: str  # region-code prefix ('' = everywhere)
    region_name: str  # named in the 通报's title


def department_bound(user) -> bool:
    """True for a department leader: their KPI view is limited to their own department."""
    return user.role == Role.DEPT_LEADER and not user.is_superuser


def own_department_code(user) -> str | None:
    return user.department.code if user.department_id else None


def access_kpis(user) -> str:
    """Raise PermissionDenied unless ``user`` may read KPIs; the region prefix they are limited to."""
    access_role(user, *KPI_READERS)
    return scope_prefix(user)


def own_rows(user, rows: list, group_by: str) -> list:
    """A department leader sees the rows of their own department only (grouped by department)."""
    if not department_bound(user):
        return rows
    if group_by != "department" or not user.department_id:
        raise ValidationFailed("部门负责人只能按单位查看本单位指标", fields={"group_by": "应为 department"})
    return [r for r in rows if r.key == own_department_code(user)]


def access_kpi_unit(user, group_by: str, key: str) -> None:
    """A department leader may look behind the figures of their own department only."""
    if department_bound(user) and (group_by != "department" or key != own_department_code(user)):
        raise PermissionDenied("部门负责人只能查看本单位的指标明细")


def _narrowest_common_region() -> Region | None:
    """The smallest region containing every region of the platform (the root while it has one child)."""
    roots = list(Region.objects.filter(parent__isnull=True)[:2])
    if len(roots) != 1:
        return None
    region = roots[0]
    while True:
        children = list(region.children.all()[:2])
        if len(children) != 1:
            return region
        region = children[0]


def scope_region(user) -> Region | None:
    """The region a user's scope is named after: their own region, their department's, or the platform's."""
    if scope_prefix(user) == "":
        return _narrowest_common_region()
    if user.region_id:
        return user.region
    return user.department.region if user.department_id else None


def access_bulletin(user) -> Scope:
    """Raise PermissionDenied unless ``user`` may draft the 通报; their scope and its region's name."""
    access_role(user, *BULLETIN_READERS)
    region = scope_region(user)
    return Scope(scope_prefix(user), region.name if region is not None else DEFAULT_REGION_NAME)
