"""REST endpoints: 申报与兑现 — 免申即享 redemptions, applications (申报 / 即申即享) and the 兑现 figures.

Enterprises see their own records; government staff see the records of their department's items and of
enterprises in their region scope; only the item's department confirms, reviews and pays out. Money is in
元 as decimal strings in answers (JSON numbers or strings accepted in requests).
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal, Optional

from django.http import FileResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yingshang.core.access import access_staff, scope_prefix
from yingshang.core.api import MAX_ID
from yingshang.core.errors import NotFound, ValidationFailed
from yingshang.core.i18n_errors import ERRORS, ErrorOut
from yingshang.enterprises.api import Number
from yingshang.policies import actions_applications as apps, actions_redemption as reds, stats
from yingshang.policies.models import (Application, ApplicationFile, ApplicationStatus, PolicyItem, Redemption,
                                       RedemptionStatus)

router = Router(tags=["申报与兑现"])
CONFLICT = {**ERRORS, 409: ErrorOut}
PER_PAGE = 50
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# ---------------------------------------------------------------- schemas
class Ref(Schema):
    id: int
    title: str


class EnterpriseRef(Schema):
    uscc: str
    name: str


class RedemptionOut(Schema):
    id: int
    item: Ref
    enterprise: EnterpriseRef
    status: str
    status_label: str
    eligible_at: dt.datetime
    amount_estimated: Optional[str] = Field(description="测算金额(元)")
    amount_confirmed: Optional[str] = Field(description="确认金额(元)")
    shortfall: str = Field(description="预算缺口(元);按比例核减或预算不足时大于 0")
    confirmed_at: Optional[dt.datetime]
    paid_at: Optional[dt.datetime]
    payout_ref: str
    received_at: Optional[dt.datetime]
    note: str


class RedemptionPage(Schema):
    total: int
    page: int
    pages: int
    items: list[RedemptionOut]


class ConfirmIn(Schema):
    model_config = ConfigDict(extra="forbid")
    item: Id = Field(description="政策事项 id")
    ids: list[Id] = Field(min_length=1, max_length=10000, description="要确认的兑现记录 id")


class ReleaseIn(Schema):
    model_config = ConfigDict(extra="forbid")
    item: Id


class ConfirmOut(Schema):
    confirmed: int
    short: int = Field(description="因预算不足暂缓(状态 short)的条数")
    reduced: int = Field(description="按比例核减的条数")
    skipped: int = Field(description="已确认过而跳过的条数")
    amount: str = Field(description="本次确认金额合计(元)")
    remaining: Optional[str] = Field(description="确认后剩余预算(元);无预算上限时为 null")


class PayoutIn(Schema):
    model_config = ConfigDict(extra="forbid")
    ids: list[Id] = Field(min_length=1, max_length=10000)
    payout_ref: str = Field(min_length=1, max_length=64, description="拨付凭证号")


class PayoutOut(Schema):
    paid: int


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=300)


class FileOut(Schema):
    id: int
    material: str
    name: str
    url: str


class ApplicationOut(Schema):
    id: int
    item: Ref
    enterprise: EnterpriseRef
    status: str
    status_label: str
    note: str
    amount_estimated: Optional[str]
    amount_approved: Optional[str]
    submitted_at: dt.datetime
    reviewed_at: Optional[dt.datetime]
    review_reason: str
    paid_at: Optional[dt.datetime]
    payout_ref: str
    received_at: Optional[dt.datetime]
    files: list[FileOut]


class ApplicationPage(Schema):
    total: int
    page: int
    pages: int
    items: list[ApplicationOut]


class ReviewIn(Schema):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    reason: str = Field("", max_length=500, description="审核意见;不予通过时必填")
    amount: Number = Field(None, description="核定金额(元);省略时按测算金额")


class PayoutRefIn(Schema):
    model_config = ConfigDict(extra="forbid")
    payout_ref: str = Field(min_length=1, max_length=64)


class FiguresOut(Schema):
    key: str
    label: str
    eligible: int
    notified: int
    applied: int
    approved: int
    paid: int
    amount_paid: str
    rate: Optional[float] = Field(description="兑现率 = 已拨付 ÷ 符合条件;符合条件为 0 时为 null")
    days_median: Optional[float] = Field(description="直达天数(发布到拨付)中位数")
    days_mean: Optional[float] = Field(description="直达天数平均值")


class StatsOut(Schema):
    by: str
    rows: list[FiguresOut]
    total: FiguresOut


# ---------------------------------------------------------------- serialisers
def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def _common(obj) -> dict:
    return {"id": obj.pk, "item": {"id": obj.item_id, "title": obj.item.title},
            "enterprise": {"uscc": obj.enterprise.uscc, "name": obj.enterprise.name},
            "status": obj.status, "status_label": obj.get_status_display(), "paid_at": obj.paid_at,
            "payout_ref": obj.payout_ref, "received_at": obj.received_at}


def redemption_out(r: Redemption) -> dict:
    return {**_common(r), "eligible_at": r.eligible_at, "amount_estimated": _money(r.amount_estimated),
            "amount_confirmed": _money(r.amount_confirmed), "shortfall": _money(r.shortfall),
            "confirmed_at": r.confirmed_at, "note": r.note}


def file_url(f: ApplicationFile) -> str:
    return f"/policies/applications/{f.application_id}/files/{f.pk}/"


def application_out(a: Application) -> dict:
    files = [{"id": f.pk, "material": f.material, "name": f.file.name.rsplit("/", 1)[-1], "url": file_url(f)}
             for f in a.files.all()]
    return {**_common(a), "note": a.note, "amount_estimated": _money(a.amount_estimated),
            "amount_approved": _money(a.amount_approved), "submitted_at": a.submitted_at,
            "reviewed_at": a.reviewed_at, "review_reason": a.review_reason, "files": files}


def _page(qs, page: int, serialise) -> dict:
    total = qs.count()
    pages = max(1, math.ceil(total / PER_PAGE))
    rows = qs[(page - 1) * PER_PAGE: page * PER_PAGE]
    return {"total": total, "page": page, "pages": pages, "items": [serialise(r) for r in rows]}


def _status(value: str, choices) -> str:
    if value and value not in choices.values:
        raise ValidationFailed(f"status: 未知状态「{value[:20]}」,可选 {', '.join(choices.values)}",
                               fields={"status": "取值不在允许范围内"})
    return value


def _item(item_id: int) -> PolicyItem:
    item = PolicyItem.objects.select_related("department").filter(pk=item_id).first()
    if item is None:
        raise NotFound(f"政策事项 {item_id} 不存在")
    return item


def _redemption(user, rid: int) -> Redemption:
    r = Redemption.objects.select_related("item", "enterprise").filter(pk=rid).first()
    if r is None:
        raise NotFound(f"兑现记录 {rid} 不存在")
    reds.access_record_read(user, r)
    return r


def _application(user, aid: int) -> Application:
    a = Application.objects.select_related("item", "enterprise").prefetch_related("files").filter(pk=aid).first()
    if a is None:
        raise NotFound(f"申报 {aid} 不存在")
    reds.access_record_read(user, a)
    return a


def _confirm_out(res) -> dict:
    return {"confirmed": res.confirmed, "short": res.short, "reduced": res.reduced, "skipped": res.skipped,
            "amount": _money(res.amount), "remaining": _money(res.remaining)}


# ---------------------------------------------------------------- redemptions
@router.get("/redemptions", response={200: RedemptionPage, **ERRORS}, summary="免申即享兑现记录")
def list_redemptions(request, item: Optional[Id] = Query(None, description="政策事项 id"),
                     status: str = Query("", description="状态: " + ", ".join(RedemptionStatus.values)),
                     page: int = Query(1, ge=1, le=100000)):
    """Enterprises: their own; staff: their department's items and enterprises in their scope."""
    qs = reds.visible_records(request.auth, Redemption.objects.select_related("item", "enterprise"))
    if item:
        qs = qs.filter(item_id=item)
    if _status(status, RedemptionStatus):
        qs = qs.filter(status=status)
    return _page(qs.order_by("eligible_at", "id"), page, redemption_out)


@router.post("/redemptions/confirm", response={200: ConfirmOut, **CONFLICT}, summary="批量确认兑现(预算内)")
def confirm_redemptions(request, payload: ConfirmIn):
    """Budget short: the item's allocation rule applies (按比例 / 按符合条件先后); the rest are flagged short."""
    return _confirm_out(reds.do_confirm_redemptions(request.auth, _item(payload.item), payload.ids))


@router.post("/redemptions/release", response={200: ConfirmOut, **CONFLICT}, summary="追加预算后重新确认预算不足的记录")
def release_short(request, payload: ReleaseIn):
    return _confirm_out(reds.do_release_short(request.auth, _item(payload.item)))


@router.post("/redemptions/payout", response={200: PayoutOut, **CONFLICT}, summary="登记拨付")
def record_payout(request, payload: PayoutIn):
    return {"paid": reds.do_record_payout(request.auth, payload.ids, payload.payout_ref)}


@router.post("/redemptions/{rid}/receipt", response={200: RedemptionOut, **CONFLICT}, summary="企业确认到账")
def confirm_receipt(request, rid: Id):
    return redemption_out(reds.do_confirm_receipt(request.auth, _redemption(request.auth, rid)))


@router.post("/redemptions/{rid}/cancel", response={200: RedemptionOut, **CONFLICT}, summary="取消兑现(须说明理由)")
def cancel_redemption(request, rid: Id, payload: ReasonIn):
    return redemption_out(reds.do_cancel_redemption(request.auth, _redemption(request.auth, rid), payload.reason))


# ---------------------------------------------------------------- applications
@router.get("/applications", response={200: ApplicationPage, **ERRORS}, summary="政策申报列表")
def list_applications(request, item: Optional[Id] = Query(None), page: int = Query(1, ge=1, le=100000),
                      status: str = Query("", description="状态: " + ", ".join(ApplicationStatus.values))):
    """Enterprises: their own; staff: the queue of their department's items (and their scope)."""
    qs = reds.visible_records(request.auth, Application.objects.select_related("item", "enterprise")
                              .prefetch_related("files"))
    if item:
        qs = qs.filter(item_id=item)
    if _status(status, ApplicationStatus):
        qs = qs.filter(status=status)
    return _page(qs.order_by("-submitted_at", "-id"), page, application_out)


MULTIPART = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"note": {"type": "string", "maxLength": 2000, "description": "申请说明"}},
    "additionalProperties": {"type": "string", "format": "binary",
                             "description": "材料文件:字段名为材料名称或 material_<序号>"}}}}}}


@router.post("/policy-items/{item_id}/applications", response={201: ApplicationOut, **CONFLICT},
             summary="提交申报(multipart:note + 每项材料一个文件)", openapi_extra=MULTIPART)
def submit_application(request, item_id: Id):
    """multipart/form-data: ``note`` and one file per material, the field named after the material or
    ``material_<n>`` (n = the material's 0-based position). PDF/JPG/PNG/DOCX/XLSX, at most 20 MB each."""
    item = _item(item_id)
    files = apps.collect_files(item, request.FILES)
    app = apps.do_submit_application(request.auth, item, request.POST.get("note", ""), files)
    return Status(201, application_out(_application(request.auth, app.pk)))


@router.get("/applications/{aid}", response={200: ApplicationOut, **ERRORS}, summary="申报详情")
def get_application(request, aid: Id):
    return application_out(_application(request.auth, aid))


@router.get("/applications/{aid}/files/{fid}", response=ERRORS, summary="下载申报材料(文件流)")
def download_file(request, aid: Id, fid: Id):
    return material_response(request.auth, _application(request.auth, aid), fid)


def material_response(user, app: Application, fid: int) -> FileResponse:
    """The stored file of one material of an application (access-checked; staff downloads audited)."""
    f = apps.do_read_material(user, app, fid)
    try:
        handle = f.file.open("rb")
    except FileNotFoundError:
        raise NotFound(f"材料「{f.material}」的文件已不存在") from None
    return FileResponse(handle, as_attachment=True, filename=f.file.name.rsplit("/", 1)[-1])


@router.post("/applications/{aid}/review", response={200: ApplicationOut, **CONFLICT}, summary="审核申报")
def review_application(request, aid: Id, payload: ReviewIn):
    app = apps.do_review_application(request.auth, _application(request.auth, aid), payload.approve,
                                     payload.reason, payload.amount)
    return application_out(_application(request.auth, app.pk))


@router.post("/applications/{aid}/payout", response={200: ApplicationOut, **CONFLICT}, summary="登记拨付")
def application_payout(request, aid: Id, payload: PayoutRefIn):
    app = apps.do_record_application_payout(request.auth, _application(request.auth, aid), payload.payout_ref)
    return application_out(_application(request.auth, app.pk))


@router.post("/applications/{aid}/receipt", response={200: ApplicationOut, **CONFLICT}, summary="企业确认到账")
def application_receipt(request, aid: Id):
    app = apps.do_confirm_application_receipt(request.auth, _application(request.auth, aid))
    return application_out(_application(request.auth, app.pk))


@router.post("/applications/{aid}/withdraw", response={200: ApplicationOut, **CONFLICT}, summary="撤回申报")
def withdraw_application(request, aid: Id):
    app = apps.do_withdraw_application(request.auth, _application(request.auth, aid))
    return application_out(_application(request.auth, app.pk))


# ---------------------------------------------------------------- figures
def _figures_out(row: dict) -> dict:
    return {**row, "key": str(row["key"]), "label": str(row["label"]), "amount_paid": _money(row["amount_paid"])}


@router.get("/policy-stats", response={200: StatsOut, **ERRORS}, summary="兑现统计(按事项/部门/县区)")
def policy_stats(request, by: Literal["item", "department", "county"] = Query("item")):
    """Staff only; limited to enterprises in the user's region scope."""
    access_staff(request.auth)
    prefix = scope_prefix(request.auth)
    rows = stats.figures(by, prefix=prefix)
    return {"by": by, "rows": [_figures_out(r) for r in rows], "total": _figures_out(stats.totals(prefix=prefix))}
