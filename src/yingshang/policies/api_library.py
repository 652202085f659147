"""REST endpoints: 政策库 — documents and their attachments, items, the item life cycle, the
pre-publication preview and the field catalogue of the rule language.

Published items are public (no token needed); drafts and items under review are for staff. Money
(budget, floors, caps) is in 元: JSON numbers or strings in requests, decimal strings in answers.
"""
from __future__ import annotations

import datetime as dt
import math
import mimetypes
from pathlib import PurePosixPath
from typing import Any, Optional

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db.models import Prefetch, Q
from django.http import FileResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import AuthenticationError
from pydantic import ConfigDict

from yingshang.core.api import MAX_ID
from yingshang.core.apiauth import PUBLIC_AUTH
from yingshang.core.errors import NotFound, ValidationFailed
from yingshang.core.i18n_errors import ERRORS, ErrorOut
from yingshang.core.redact import redact_fields
from yingshang.enterprises.api import Number
from yingshang.policies import access, actions_library as actions, search
from yingshang.policies.models import PolicyAttachment, PolicyDocument, PolicyItem

router = Router(tags=["政策库"])
CONFLICT = {**ERRORS, 409: ErrorOut}
PER_PAGE = 20
MONEY_NOTE = "金额单位为元:请求中可写 JSON 数字或字符串(最多两位小数),应答中为十进制字符串。"


PUBLIC = PUBLIC_AUTH


# ---------------------------------------------------------------- schemas
class CodeName(Schema):
    code: str
    name: str


class DocumentIn(Schema):
    model_config = ConfigDict(extra="forbid")
    title: Optional[str] = Field(None, description="文件标题(新建时必填)")
    doc_number: Optional[str] = Field(None, description="文号,如 财政部 税务总局公告2023年第7号")
    issuers: Optional[str] = Field(None, description="发文机关(新建时必填)")
    departments: Optional[list[str]] = Field(None, description="本地发文单位代码")
    published_on: Optional[str] = Field(None, description="发布日期 YYYY-MM-DD")
    effective_from: Optional[str] = Field(None, description="施行日期 YYYY-MM-DD")
    expires_on: Optional[str] = Field(None, description="有效期至 YYYY-MM-DD")
    region: Optional[str] = Field(None, description="适用区划代码;空 = 全国")
    source_url: Optional[str] = None
    full_text: Optional[str] = None


class AttachmentOut(Schema):
    id: int
    name: str
    url: str = Field(description="API 下载地址 GET /api/v1/policy-documents/{id}/attachments/{att_id}"
                                 "(与政策文件相同的访问权限,可带 Bearer 令牌)")


class ItemBrief(Schema):
    id: int
    code: str
    title: str
    benefit_type: str
    benefit_type_label: str
    mode: str
    mode_label: str
    status: str
    status_label: str
    department: CodeName
    window_start: Optional[dt.date]
    window_end: Optional[dt.date]
    open_now: bool
    budget: Optional[str] = Field(description="元")
    amount_note: str
    document: dict[str, Any] = Field(description="{id, title, doc_number, source_url}")
    published_at: Optional[dt.datetime]


class DocumentOut(Schema):
    id: int
    title: str
    doc_number: str
    issuers: str
    departments: list[CodeName]
    published_on: Optional[dt.date]
    effective_from: Optional[dt.date]
    expires_on: Optional[dt.date]
    region: Optional[CodeName]
    source_url: str = Field(description="政策原文链接;没有时为空字符串")
    full_text: str
    attachments: list[AttachmentOut]
    items: list[ItemBrief]


class DocumentPage(Schema):
    total: int
    page: int
    pages: int
    items: list[dict[str, Any]]


class ItemIn(Schema):
    model_config = ConfigDict(extra="forbid")
    code: Optional[str] = Field(None, description="事项编码;新建时留空自动生成")
    title: Optional[str] = None
    summary: Optional[str] = None
    benefit_type: Optional[str] = Field(None, description="subsidy|tax|loan_interest|qualification|service")
    mode: Optional[str] = Field(None, description="auto(免申即享)|instant(即申即享)|apply(申报)")
    department: Optional[str] = Field(None, description="责任单位代码;政策专员默认为本单位")
    window_start: Optional[str] = Field(None, description="申报开始 YYYY-MM-DD")
    window_end: Optional[str] = Field(None, description="申报截止 YYYY-MM-DD")
    materials: Optional[list[Any]] = Field(None, description='[{"name": "营业执照", "required": true}]')
    budget: Number = Field(None, description="预算(元)")
    allocation: Optional[str] = Field(None, description="pro_rata|order")
    amount_formula: Optional[str] = None
    amount_floor: Number = Field(None, description="金额下限(元)")
    amount_cap: Number = Field(None, description="金额上限(元)")
    amount_note: Optional[str] = None
    clause: Optional[str] = None
    keywords: Optional[str] = None
    rule: Optional[dict[str, Any]] = Field(None, description="申报条件(规则语言 JSON)")
    params: Optional[dict[str, Any]] = Field(None, description="规则参数")


class ItemCreate(ItemIn):
    document: int = Field(..., ge=1, le=MAX_ID, description="所属政策文件 id")


class ItemOut(ItemBrief):
    summary: str
    clause: str
    keywords: str
    materials: list[Any]
    rule: dict[str, Any]
    rule_sentences: list[str] = Field(description="规则的中文表述,每个顶层条件一句")
    params: dict[str, Any]
    amount_formula: str
    amount_floor: Optional[str]
    amount_cap: Optional[str]
    allocation: str
    revision: int
    region: Optional[CodeName] = Field(description="适用区划(来自政策文件);null = 全国")
    source_url: str = Field(description="政策原文链接(来自政策文件);没有时为空字符串")


class ItemPage(Schema):
    total: int
    page: int
    pages: int
    per_page: int
    items: list[ItemBrief]


class ReviewIn(Schema):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    reason: str = Field("", max_length=500)


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=500)


class PreviewIn(Schema):
    model_config = ConfigDict(extra="forbid")
    rule: Optional[dict[str, Any]] = Field(None, description="待预览的规则;省略时用已保存的规则")
    params: Optional[dict[str, Any]] = None
    as_of: Optional[dt.date] = Field(None, description="评估日期,默认今天")
    document: Optional[int] = Field(None, ge=1, le=MAX_ID, description="按该政策文件的适用区划统计")


class RuleErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str] = {}
    path: str = Field("", description="出错位置,如 条件 2.1")


class RuleErrorOut(Schema):
    error: RuleErrorBody


class PreviewOut(Schema):
    as_of: dt.date
    region_prefix: str
    counts: dict[str, int] = Field(description="eligible / near_miss / unknown 的企业数")
    breakdown: dict[str, Any] = Field(description="按县区、规模、行业门类的分布")


# ---------------------------------------------------------------- presentation
def money(value) -> str | None:
    return None if value is None else format(value, "f")


def _code_name(obj) -> dict | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


def _codes_in(rule, field: str, out: set) -> set:
    """Every code a rule mentions for ``field`` (to name regions without loading the whole table)."""
    if isinstance(rule, dict):
        if rule.get("field") == field:
            value = rule.get("value")
            out.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
        children = [c for k in ("all", "any") if isinstance(rule.get(k), list) for c in rule[k]]
        for child in children + ([rule["not"]] if "not" in rule else []):
            _codes_in(child, field, out)
    return out


def rule_sentences(rule: dict, params: dict, as_of=None) -> list[str]:
    """The rule as Chinese sentences (engine ``rules.describe``), regions and tags by name."""
    from yingshang.core.models import Region
    from yingshang.policies.engine import rules

    codes = _codes_in(rule, "region", set())
    regions = dict(Region.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    try:
        return list(rules.describe(rule, params, as_of, region_names=regions, tag_names=actions.tag_names()))
    except rules.RuleError:  # a stored rule the engine no longer accepts: say so instead of failing
        return ["(规则无法解读,请检查申报条件)"]


# Officer-entered free text: redacted for everyone but staff (DOMAIN §4).
ITEM_TEXTS = ("summary", "clause", "materials", "amount_note")
DOCUMENT_TEXTS = ("full_text",)


def brief(item: PolicyItem, today: dt.date | None = None, *, staff: bool = False) -> dict:
    """The list representation of an item (free text redacted unless ``staff``)."""
    today = today or timezone.localdate()
    doc = item.document
    open_now = (item.window_start is None or item.window_start <= today) and (
        item.window_end is None or today <= item.window_end)
    out = {"id": item.pk, "code": item.code, "title": item.title, "benefit_type": item.benefit_type,
           "benefit_type_label": item.get_benefit_type_display(), "mode": item.mode,
           "mode_label": item.get_mode_display(), "status": item.status, "status_label": item.get_status_display(),
           "department": _code_name(item.department), "window_start": item.window_start,
           "window_end": item.window_end, "open_now": open_now, "budget": money(item.budget),
           "amount_note": item.amount_note, "published_at": item.published_at,
           "document": {"id": doc.pk, "title": doc.title, "doc_number": doc.doc_number,
                        "source_url": doc.source_url}}
    return out if staff else redact_fields(out, ITEM_TEXTS)


def detail(item: PolicyItem, *, staff: bool = False) -> dict:
    """The full representation of an item, with the rule in words (free text redacted unless ``staff``)."""
    out = _detail(item)
    return out if staff else redact_fields(out, ITEM_TEXTS)


def _detail(item: PolicyItem) -> dict:
    return {**brief(item, staff=True), "summary": item.summary, "clause": item.clause, "keywords": item.keywords,
            "materials": item.materials or [], "rule": item.rule or {}, "params": item.params or {},
            "rule_sentences": rule_sentences(item.rule or {}, item.params or {}),
            "amount_formula": item.amount_formula, "amount_floor": money(item.amount_floor),
            "amount_cap": money(item.amount_cap), "allocation": item.allocation, "revision": item.revision,
            "region": _code_name(item.document.region), "source_url": item.document.source_url}


def attachment_url(att: PolicyAttachment) -> str:
    """The page's access-checked download address (never /media/: that storage also holds personal data)."""
    return reverse("policies:attachment_download", args=[att.document_id, att.pk])


def attachment_api_url(att: PolicyAttachment) -> str:
    """The API's download address of an attachment (same access rules as the page's, bearer tokens too)."""
    return reverse("api:policy_attachment_download", args=[att.document_id, att.pk])


def document_dict(doc: PolicyDocument, user) -> dict:
    staff = access.is_staff(user)
    items = access.visible_items(user, doc.items.select_related("department", "document"))
    out = {"id": doc.pk, "title": doc.title, "doc_number": doc.doc_number, "issuers": doc.issuers,
           "departments": [_code_name(d) for d in doc.departments.all()], "published_on": doc.published_on,
           "effective_from": doc.effective_from, "expires_on": doc.expires_on, "region": _code_name(doc.region),
           "source_url": doc.source_url, "full_text": doc.full_text,
           "attachments": [{"id": a.pk, "name": a.name, "url": attachment_api_url(a)} for a in doc.attachments.all()],
           "items": [brief(i, staff=staff) for i in items.order_by("id")]}
    return out if staff else redact_fields(out, DOCUMENT_TEXTS)


def _items():
    return PolicyItem.objects.select_related("department", "document", "document__region")


def get_item(item_id: int) -> PolicyItem:
    item = _items().filter(pk=item_id).first()
    if item is None:
        raise NotFound(f"政策事项 {item_id} 不存在")
    return item


def get_document(doc_id: int) -> PolicyDocument:
    doc = (PolicyDocument.objects.select_related("region")
           .prefetch_related("departments", Prefetch("attachments", queryset=PolicyAttachment.objects.all()))
           .filter(pk=doc_id).first())
    if doc is None:
        raise NotFound(f"政策文件 {doc_id} 不存在")
    return doc


def _page_of(qs, page: int, per_page: int) -> tuple[list, int, int]:
    total = qs.count()
    pages = max(1, math.ceil(total / per_page))
    start = (page - 1) * per_page
    return list(qs[start:start + per_page]), total, pages


ItemId = Path(..., ge=1, le=MAX_ID)


# ---------------------------------------------------------------- documents
@router.get("/policy-documents", auth=PUBLIC, response={200: DocumentPage, **ERRORS}, summary="政策文件列表")
def list_documents(request, q: str = Query("", max_length=100), page: int = Query(1, ge=1, le=100000)):
    qs = PolicyDocument.objects.select_related("region").order_by("-published_on", "-id")
    if not access.is_staff(request.auth):
        qs = qs.filter(items__status__in=access.PUBLIC_STATUSES).distinct()
    if q.strip():
        qs = qs.filter(Q(title__icontains=q.strip()) | Q(doc_number__icontains=q.strip()))
    rows, total, pages = _page_of(qs, page, PER_PAGE)
    return {"total": total, "page": page, "pages": pages,
            "items": [{"id": d.pk, "title": d.title, "doc_number": d.doc_number, "issuers": d.issuers,
                       "published_on": d.published_on, "region": _code_name(d.region)} for d in rows]}


@router.post("/policy-documents", response={201: DocumentOut, **CONFLICT}, summary="新增政策文件")
def create_document(request, payload: DocumentIn):
    doc = actions.do_create_document(request.auth, payload.model_dump(exclude_unset=True))
    return Status(201, document_dict(get_document(doc.pk), request.auth))


@router.get("/policy-documents/{doc_id}", auth=PUBLIC, response={200: DocumentOut, **ERRORS},
            summary="政策文件详情(含附件和事项)")
def read_document(request, doc_id: int = ItemId):
    doc = get_document(doc_id)
    access.access_document_read(request.auth, doc)
    return document_dict(doc, request.auth)


@router.patch("/policy-documents/{doc_id}", response={200: DocumentOut, **CONFLICT}, summary="修改政策文件")
def patch_document(request, payload: DocumentIn, doc_id: int = ItemId):
    doc = actions.do_update_document(request.auth, get_document(doc_id), payload.model_dump(exclude_unset=True))
    return document_dict(get_document(doc.pk), request.auth)


# ---------------------------------------------------------------- attachments
ATTACHMENT_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "附件文件:PDF、OFD、Word、WPS、Excel、txt、图片或 zip,不超过 20 MB"},
        "name": {"type": "string", "maxLength": 200, "description": "附件名称,省略时用文件名"}}}}}}}
FORM_KEYS = {"file", "name", "csrfmiddlewaretoken"}


def uploaded_attachment(request) -> tuple[Any, str]:
    """(the file, its name) from a multipart/form-data request; ValidationFailed naming the field otherwise."""
    if not (request.content_type or "").lower().startswith("multipart/"):
        raise _form_error({"file": "请以 multipart/form-data 上传,文件字段名为 file"})
    try:
        files, form = request.FILES, request.POST
    except (MultiPartParserError, SuspiciousOperation):  # a malformed body, too many fields or parts
        raise _form_error({"file": "请求体不是有效的 multipart/form-data"}) from None
    errors = {str(k): "不是可识别的字段(只接受 file 和 name)" for k in [*files, *form] if k not in FORM_KEYS}
    if len(files.getlist("file")) > 1:
        errors["file"] = "一次只能上传一个文件"
    if errors:
        raise _form_error(errors)
    return files.get("file"), form.get("name", "")


def _form_error(errors: dict[str, str]) -> ValidationFailed:
    return ValidationFailed("附件有误 — " + ";".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)


def _read_public(request, check, obj) -> None:
    """An access check of a public read: anonymous callers refused get 401 (logging in may help), others 403."""
    try:
        check(request.auth, obj)
    except PermissionDenied:
        if not getattr(request.auth, "is_authenticated", False):
            raise AuthenticationError() from None
        raise


@router.post("/policy-documents/{doc_id}/attachments", response={201: AttachmentOut, **CONFLICT},
             summary="上传政策文件附件(multipart:file + 可选 name)", openapi_extra=ATTACHMENT_FORM)
def upload_attachment(request, doc_id: int = ItemId):
    """For those who may edit the document; PDF/OFD/Word/WPS/Excel/txt/images/zip up to 20 MB; audited."""
    doc = get_document(doc_id)
    access.access_document_write(request.auth, doc)  # before reading the body: no parsing for the refused
    upload, name = uploaded_attachment(request)
    att = actions.do_add_attachment(request.auth, doc, upload, name)
    return Status(201, {"id": att.pk, "name": att.name, "url": attachment_api_url(att)})


@router.get("/policy-documents/{doc_id}/attachments/{att_id}", auth=PUBLIC, response=ERRORS,
            url_name="policy_attachment_download", summary="下载政策文件附件(文件流;与政策文件相同的访问权限)")
def download_attachment(request, doc_id: int = ItemId, att_id: int = ItemId):
    doc = get_document(doc_id)
    _read_public(request, access.access_document_read, doc)
    att = PolicyAttachment.objects.filter(pk=att_id, document=doc).first()
    if att is None:
        raise NotFound(f"政策文件 {doc_id} 没有附件 {att_id}")
    return attachment_response(att)


def attachment_response(att: PolicyAttachment) -> FileResponse:
    """The stored file as a private download named after the attachment; NotFound when the file is gone."""
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, ValueError):  # the row exists but the file is gone from storage
        raise NotFound(f"附件“{att.name}”的文件已不存在") from None
    response = FileResponse(handle, as_attachment=True, filename=download_name(att),
                            content_type=content_type(att.file.name))
    patch_cache_control(response, private=True)
    return response


def download_name(att: PolicyAttachment) -> str:
    """The attachment's display name, with the stored file's extension when the name lacks it."""
    suffix = PurePosixPath(att.file.name).suffix.lower()
    name = att.name or PurePosixPath(att.file.name).name
    return name if not suffix or name.lower().endswith(suffix) else name + suffix


def content_type(path: str) -> str:
    """The download's media type (Chinese office formats included)."""
    suffix = PurePosixPath(path).suffix.lower()
    return {".ofd": "application/ofd", ".wps": "application/vnd.ms-works", ".et": "application/vnd.ms-excel"}.get(
        suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


# ---------------------------------------------------------------- preview (declared before /policy-items/{id})
def run_preview(rule, params, as_of, region_prefix: str) -> dict:
    """``matching.preview`` in the API's shape; raises RuleError on a bad rule."""
    from yingshang.policies import matching

    as_of = as_of or timezone.localdate()
    result = matching.preview(rule, params, as_of=as_of, region_prefix=region_prefix) or {}
    counts = result.get("counts") or {k: result[k] for k in ("eligible", "near_miss", "unknown") if k in result}
    return {"as_of": as_of, "region_prefix": region_prefix, "counts": {k: int(v) for k, v in counts.items()},
            "breakdown": result.get("breakdown") or {}}


def _rule_error(exc) -> Status:
    path = getattr(exc, "path", "") or ""
    message = f"申报条件有误 — {path}:{exc.message}" if path else f"申报条件有误 — {exc.message}"
    return Status(400, {"error": {"code": "invalid_rule", "message": message, "fields": {"rule": str(exc)},
                                  "path": path}})


def _preview(request, rule, params, as_of, region_prefix: str):
    from yingshang.policies.engine import rules

    try:
        rules.check_rule(rule, params, tags=actions.tag_names())
        return run_preview(rule, params, as_of, region_prefix)
    except rules.RuleError as exc:
        return _rule_error(exc)


def _region_prefix(doc: PolicyDocument | None) -> str:
    return doc.region.prefix if doc is not None and doc.region_id else ""


@router.post("/policy-items/preview", response={200: PreviewOut, 400: RuleErrorOut, **{k: v for k, v in ERRORS.items()
                                                                                       if k != 400}},
             summary="预览未保存的规则:符合、差一项、无法判断的企业数及分布")
def preview_rule(request, payload: PreviewIn):
    access.access_policy_preview(request.auth)
    doc = get_document(payload.document) if payload.document else None
    return _preview(request, payload.rule or {}, payload.params or {}, payload.as_of, _region_prefix(doc))


# ---------------------------------------------------------------- items
@router.get("/policy-items", auth=PUBLIC, response={200: ItemPage, **ERRORS},
            summary="政策事项列表(关键词检索与筛选;未登录只看已发布事项)")
def list_items(request, q: str = Query("", max_length=100), department: str = "", benefit_type: str = "",
               mode: str = "", status: str = Query("", description="仅工作人员可用"), open_now: bool = False,
               expiring_within: Optional[int] = Query(None, ge=0, le=3660), region: str = "",
               page: int = Query(1, ge=1, le=100000), per_page: int = Query(PER_PAGE, ge=1, le=100)):
    """Filters combine with AND; ``q`` is cut into words (jieba) and every word must occur."""
    staff = access.is_staff(request.auth)
    if status and not staff:
        raise ValidationFailed("status: 仅工作人员可按状态筛选", fields={"status": "仅工作人员可按状态筛选"})
    f = search.parse_filters({"q": q, "department": department, "benefit_type": benefit_type, "mode": mode,
                              "status": status, "open_now": open_now, "region": region,
                              "expiring_within": "" if expiring_within is None else expiring_within}, staff=staff)
    if f.errors:
        raise ValidationFailed("查询条件有误 — " + ";".join(f"{k}: {v}" for k, v in f.errors.items()),
                               fields=f.errors)
    qs = search.apply_filters(access.visible_items(request.auth, _items()), f)
    rows, total, pages = _page_of(qs, page, per_page)
    today = timezone.localdate()
    return {"total": total, "page": page, "pages": pages, "per_page": per_page,
            "items": [brief(i, today, staff=staff) for i in rows]}


@router.get("/policy-items/{item_id}", auth=PUBLIC, response={200: ItemOut, **ERRORS},
            summary="政策事项详情(规则、中文表述、参数、金额公式、材料、申报期、预算)")
def read_item(request, item_id: int = ItemId):
    item = get_item(item_id)
    access.access_policy_read(request.auth, item)
    return detail(item, staff=access.is_staff(request.auth))


@router.post("/policy-items", response={201: ItemOut, **CONFLICT}, summary="新增政策事项(草稿)",
             description=MONEY_NOTE)
def create_item(request, payload: ItemCreate):
    data = payload.model_dump(exclude_unset=True)
    doc = get_document(data.pop("document"))
    item = actions.do_create_item(request.auth, doc, data)
    return Status(201, detail(get_item(item.pk), staff=True))


@router.patch("/policy-items/{item_id}", response={200: ItemOut, **CONFLICT}, summary="修改政策事项",
              description=MONEY_NOTE + "修改已发布事项的规则、参数、金额、兑现方式或支持方式会重新匹配企业。")
def patch_item(request, payload: ItemIn, item_id: int = ItemId):
    item = actions.do_update_item(request.auth, get_item(item_id), payload.model_dump(exclude_unset=True))
    return detail(get_item(item.pk), staff=True)


@router.post("/policy-items/{item_id}/submit", response={200: ItemOut, **CONFLICT}, summary="提交审核")
def submit_item(request, item_id: int = ItemId):
    actions.do_submit_item(request.auth, get_item(item_id))
    return detail(get_item(item_id), staff=access.is_staff(request.auth))


@router.post("/policy-items/{item_id}/review", response={200: ItemOut, **CONFLICT},
             summary="审核:通过即发布,退回须填写原因(提交人不能审核自己的事项)")
def review_item(request, payload: ReviewIn, item_id: int = ItemId):
    actions.do_review_item(request.auth, get_item(item_id), payload.approve, payload.reason)
    return detail(get_item(item_id), staff=access.is_staff(request.auth))


@router.post("/policy-items/{item_id}/publish", response={200: ItemOut, **CONFLICT},
             summary="发布(审核通过的简写)")
def publish_item(request, item_id: int = ItemId):
    actions.do_review_item(request.auth, get_item(item_id), True, "")
    return detail(get_item(item_id), staff=access.is_staff(request.auth))


@router.post("/policy-items/{item_id}/suspend", response={200: ItemOut, **CONFLICT}, summary="暂停(须填写原因)")
def suspend_item(request, payload: ReasonIn, item_id: int = ItemId):
    actions.do_suspend_item(request.auth, get_item(item_id), payload.reason)
    return detail(get_item(item_id), staff=access.is_staff(request.auth))


@router.post("/policy-items/{item_id}/resume", response={200: ItemOut, **CONFLICT}, summary="恢复发布")
def resume_item(request, item_id: int = ItemId, payload: Optional[ReasonIn] = None):
    actions.do_resume_item(request.auth, get_item(item_id), payload.reason if payload else "")
    return detail(get_item(item_id), staff=access.is_staff(request.auth))


@router.post("/policy-items/{item_id}/preview", response={200: PreviewOut, 400: RuleErrorOut,
                                                           **{k: v for k, v in ERRORS.items() if k != 400}},
             summary="预览事项(可带修改中的规则和参数)")
def preview_item(request, item_id: int = ItemId, payload: Optional[PreviewIn] = None):
    access.access_policy_preview(request.auth)
    item = get_item(item_id)
    access.access_policy_read(request.auth, item)
    payload = payload or PreviewIn()
    rule = item.rule if payload.rule is None else payload.rule
    params = item.params if payload.params is None else payload.params
    return _preview(request, rule or {}, params or {}, payload.as_of, _region_prefix(item.document))


@router.get("/policy-rules/catalog", auth=PUBLIC, response={200: list[dict[str, Any]], **ERRORS},
            summary="规则字段目录(字段、中文名、类型、单位、运算符、可选值;标签来自标签库)")
def rule_catalog(request):
    from yingshang.policies.engine import rules

    return rules.field_catalog(actions.tag_names())


__all__ = ["router", "brief", "detail", "rule_sentences", "run_preview"]
