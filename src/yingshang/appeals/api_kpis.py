"""REST endpoints: 诉求 KPIs per department or county and period, the cases behind each figure, and the
monthly 通报 draft (JSON, XLSX or PDF). Who may read what: ``kpi_access``."""
from __future__ import annotations

from typing import Any, Literal

from django.http import HttpResponse
from ninja import Query, Router

from yingshang.appeals import bulletin, bulletin_export, kpi_access, kpis
from yingshang.core.i18n_errors import ERRORS

router = Router(tags=["诉求"])
KPI_READERS = kpi_access.KPI_READERS
MAX_CASES = 500


@router.get("/appeal-kpis", response={200: dict[str, Any], **ERRORS}, summary="诉求办理指标(按单位/县区,月或季度)")
def appeal_kpis(request, period: str = Query(..., description="YYYY-MM 或 YYYY-Qn"),
                group_by: Literal["department", "region"] = Query("department")):
    """按时签收率、响应率、按期办结率、解决率、满意率、退单率、重办率与平均办理工作日(定义见 appeals/kpis.py)。"""
    prefix = kpi_access.access_kpis(request.auth)
    rows = kpi_access.own_rows(request.auth, kpis.compute(period, group_by, prefix=prefix), group_by)
    return {"period": period, "group_by": group_by, "rows": [r.as_dict() for r in rows]}


@router.get("/appeal-kpis/cases", response={200: dict[str, Any], **ERRORS}, summary="某项指标背后的诉求清单")
def appeal_kpi_cases(request, period: str, key: str, kpi: str,
                     group_by: Literal["department", "region"] = Query("department"),
                     part: Literal["numerator", "denominator"] = Query("denominator")):
    """The cases counted in the numerator or denominator of one unit's figure (at most 500, newest first)."""
    prefix = kpi_access.access_kpis(request.auth)
    kpi_access.access_kpi_unit(request.auth, group_by, key)
    qs = kpis.cases_behind(period, group_by, key, kpi, prefix, part)
    cases = list(qs.order_by("-created_at").values("id", "number", "title", "status", "due_date")[:MAX_CASES])
    return {"period": period, "key": key, "kpi": kpi, "part": part, "count": len(cases),
            "cases": [{**c, "due_date": c["due_date"].isoformat() if c["due_date"] else None} for c in cases]}


@router.get("/appeal-bulletins/{period}", response={200: dict[str, Any], **ERRORS},
            summary="月度诉求办理情况通报(草稿)")
def appeal_bulletin(request, period: str,
                    fmt: Literal["json", "xlsx", "pdf"] = Query("json", alias="format",
                                                                description="json、xlsx 或 pdf")):
    """本辖区某月(YYYY-MM)的通报草稿:总体情况、单位排名(综合得分)、表扬、批评(超期、不满意、督办/约谈问责)。
    导出 xlsx/pdf 记入审计日志。调度员、领导、评价人员、管理员可用。"""
    if fmt == "json":
        return bulletin.bulletin_for(request.auth, period).as_dict()
    export = bulletin_export.do_export_bulletin(request.auth, period, fmt)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = bulletin_export.disposition(export)
    return response
