"""REST endpoints: 诉求 KPIs per department or county and period, and the cases behind each figure."""
from __future__ import annotations

from typing import Any, Literal

from ninja import Query, Router

from yingshang.appeals import kpis
from yingshang.core.access import access_role, scope_prefix
from yingshang.core.errors import ValidationFailed
from yingshang.core.i18n_errors import ERRORS
from yingshang.core.models import Role

router = Router(tags=["诉求"])
KPI_READERS = (Role.ADMIN, Role.DISPATCHER, Role.LEADER, Role.EVALUATOR, Role.DEPT_LEADER)
MAX_CASES = 500


def _own_rows(user, rows: list, group_by: str) -> list:
    """A department leader sees the rows of their own department only."""
    if user.role != Role.DEPT_LEADER or user.is_superuser:
        return rows
    if group_by != "department" or not user.department_id:
        raise ValidationFailed("部门负责人只能按单位查看本单位指标", fields={"group_by": "应为 department"})
    return [r for r in rows if r.key == user.department.code]


@router.get("/appeal-kpis", response={200: dict[str, Any], **ERRORS}, summary="诉求办理指标(按单位/县区,月或季度)")
def appeal_kpis(request, period: str = Query(..., description="YYYY-MM 或 YYYY-Qn"),
                group_by: Literal["department", "region"] = Query("department")):
    """按时签收率、响应率、按期办结率、解决率、满意率、退单率、重办率与平均办理工作日(定义见 appeals/kpis.py)。"""
    access_role(request.auth, *KPI_READERS)
    rows = _own_rows(request.auth, kpis.compute(period, group_by, prefix=scope_prefix(request.auth)), group_by)
    return {"period": period, "group_by": group_by, "rows": [r.as_dict() for r in rows]}


@router.get("/appeal-kpis/cases", response={200: dict[str, Any], **ERRORS}, summary="某项指标背后的诉求清单")
def appeal_kpi_cases(request, period: str, key: str, kpi: str,
                     group_by: Literal["department", "region"] = Query("department"),
                     part: Literal["numerator", "denominator"] = Query("denominator")):
    """The cases counted in the numerator or denominator of one unit's figure (at most 500, newest first)."""
    access_role(request.auth, *KPI_READERS)
    if request.auth.role == Role.DEPT_LEADER and not request.auth.is_superuser and (
            group_by != "department" or key != getattr(request.auth.department, "code", None)):
        raise ValidationFailed("部门负责人只能查看本单位的指标明细", fields={"key": "应为本单位代码"})
    qs = kpis.cases_behind(period, group_by, key, kpi, scope_prefix(request.auth), part)
    cases = list(qs.order_by("-created_at").values("id", "number", "title", "status", "due_date")[:MAX_CASES])
    return {"period": period, "key": key, "kpi": kpi, "part": part, "count": len(cases),
            "cases": [{**c, "due_date": c["due_date"].isoformat() if c["due_date"] else None} for c in cases]}
