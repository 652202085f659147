"""REST endpoints: 诉求 — submission (public too), the case, the pools and queues, life-cycle actions and
the queues (the public board is ``api_public``).

Paths carry their own prefixes (the router is mounted at "/"): ``/appeals…`` for the platform,
``/public/appeals…`` for the board (no login). Handlers parse, check access, call ONE ``do_*`` action and
render; the actions check role and status inside their row lock (403 / 409).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Optional

from django.utils import timezone
from django.http import FileResponse
from ninja import Field, File, Header, Query, Router, Schema, Status as HttpStatus
from ninja.files import UploadedFile
from pydantic import ConfigDict, StrictBool, StrictInt

from yingshang.appeals import access, actions, deadlines, public
from yingshang.appeals.queries import (MAX_PAGE, choice_param, code_name, countdown, filter_pool,
                                       is_overdue, label, page_of)
from yingshang.appeals.models import (ACTION_LABELS, APPELLANT_STEPS, Appeal, AppealAttachment, AppealExtension,
                                      AppealTask, Category, Channel, EscalationLevel, Result, Satisfaction, Status)
from yingshang.core.apiauth import PUBLIC_AUTH
from yingshang.core.errors import NotFound, ValidationFailed, shorten
from yingshang.core.i18n_errors import ERRORS, ErrorOut
from yingshang.enterprises.personal import mask_name, mask_phone

router = Router(tags=["诉求"])
CONFLICT = {**ERRORS, 409: ErrorOut}
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


PUBLIC = PUBLIC_AUTH


# ---------------------------------------------------------------- schemas
class CodeName(Schema):
    code: str
    name: str


class GradeOut(CodeName):
    days: int


class EventOut(Schema):
    at: dt.datetime
    action: str
    action_label: str
    from_status: str
    to_status: str
    actor_role: str = Field(description="操作人角色(不含姓名)")
    department: Optional[str]
    reason: str
    data: dict


class TaskOut(Schema):
    id: int
    department: CodeName
    role: str
    round: int
    dispatched_at: dt.datetime
    due_date: Optional[dt.date]
    signed_at: Optional[dt.datetime]
    replied_at: Optional[dt.datetime]
    returned_at: Optional[dt.datetime]
    content: str = Field("", description="协办意见 / 主办答复")


class AttachmentOut(Schema):
    id: int
    name: str
    size: Optional[int]
    uploaded_at: dt.datetime
    url: str


class ExtensionOut(Schema):
    id: int
    round: int
    days: int
    reason: str
    status: str
    requested_at: dt.datetime
    decided_at: Optional[dt.datetime]
    decision_reason: str


class Clock(Schema):
    status: str
    status_label: str
    due_date: Optional[dt.date] = Field(description="办理期限(工作日计算)")
    due_provisional: bool = Field(description="期限待定:所跨年份的节假日安排尚未公布")
    remaining_workdays: Optional[int] = Field(description="倒计时:剩余工作日(当日为 0,逾期为负);暂停时冻结")
    overdue: bool
    escalation_level: int
    escalation_label: str


class AppealRow(Clock):
    id: int
    number: str
    title: str
    category: str
    category_label: str
    channel: str
    region: CodeName
    enterprise: Optional[CodeName]
    grade: Optional[str]
    department: Optional[CodeName]
    created_at: dt.datetime


class AppealOut(AppealRow):
    content: str
    factor_kind: str
    contact_name: str
    contact_phone: str
    contact_masked: bool = Field(description="联系人信息是否已脱敏(仅企业本身和办理人员可见原文)")
    external_ref: str
    disclose: bool
    grade_detail: Optional[GradeOut]
    dispatched_at: Optional[dt.datetime]
    signed_at: Optional[dt.datetime]
    first_contact_at: Optional[dt.datetime]
    replied_at: Optional[dt.datetime]
    closed_at: Optional[dt.datetime]
    due_at: Optional[dt.datetime]
    round: int
    return_count: int
    reopen_count: int
    result: str
    reply: str
    rated_resolved: Optional[bool]
    satisfaction: str
    rating_comment: str
    rating_defaulted: bool
    merged_into: Optional[str] = Field(description="合并至的诉求编号")
    referral_reason: str
    was_created: Optional[bool] = None
    extension: Optional[ExtensionOut] = Field(None, description="延期类操作所涉及的申请")
    events: list[EventOut]
    tasks: list[TaskOut]
    extensions: list[ExtensionOut]
    attachments: list[AttachmentOut] = []


class AppealPage(Schema):
    total: int
    total_capped: bool = Field(False, description="总数超过 10000 时只计到 10000")
    page: int
    pages: int
    items: list[AppealRow]


class SubmitIn(Schema):
    model_config = ConfigDict(extra="forbid")
    title: Optional[str] = None
    content: Optional[str] = None
    category: Optional[str] = Field(None, description=" | ".join(Category.values))
    factor_kind: Optional[str] = Field(None, description="要素保障类必填: land|power|water|finance|labour")
    region_code: Optional[str] = None
    enterprise_uscc: Optional[str] = None
    contact_name: Optional[str] = None
    contact_phone: Optional[str] = None
    channel: Optional[str] = Field(None, description=" | ".join(Channel.values))
    external_ref: Optional[str] = Field(None, description="外部工单号(如 12345 工单号,幂等)")
    disclose: StrictBool = False


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class GradeIn(_In):
    grade: Optional[str] = Field(None, description="urgent | normal | complex | complaint(可配置)")


class DispatchIn(_In):
    department: Optional[str] = Field(None, description="主办单位代码")
    co_departments: Optional[list[str]] = Field(None, description="协办单位代码")


class ReasonIn(_In):
    reason: Optional[str] = None


class ArbitrateIn(_In):
    department: Optional[str] = None
    reason: Optional[str] = None


class NoteIn(_In):
    note: Optional[str] = None


class ExtensionIn(_In):
    days: Optional[StrictInt] = Field(None, description="延期工作日数 1–30")
    reason: Optional[str] = None


class DecideIn(_In):
    extension_id: Optional[Id] = None
    reason: Optional[str] = None


class ReplyIn(_In):
    result: Optional[str] = Field(None, description=" | ".join(Result.values))
    content: Optional[str] = None


class RateIn(_In):
    resolved: Optional[StrictBool] = None
    satisfaction: Optional[str] = Field(None, description=" | ".join(Satisfaction.values))
    comment: Optional[str] = None


class MergeIn(_In):
    into: Optional[Id] = Field(None, description="保留的诉求 id")
    reason: Optional[str] = None


class ReviewIn(_In):
    passed: Optional[StrictBool] = None
    note: Optional[str] = None


class TaskReplyIn(_In):
    content: Optional[str] = None


class EmptyIn(_In):
    pass


# ---------------------------------------------------------------- serialisers
def clock_out(appeal: Appeal) -> dict:
    """The fields every answer about a case carries: status, deadline, countdown, escalation."""
    return {"status": appeal.status, "status_label": label(Status, appeal.status), "due_date": appeal.due_date,
            "due_provisional": appeal.due_provisional, "remaining_workdays": countdown(appeal),
            "overdue": is_overdue(appeal, timezone.now()), "escalation_level": appeal.escalation_level,
            "escalation_label": label(EscalationLevel, appeal.escalation_level)}


def row_out(appeal: Appeal) -> dict:
    """A case in a list: the title with personal data masked (lists are not audited reads)."""
    ent = appeal.enterprise
    return {**clock_out(appeal), "id": appeal.pk, "number": appeal.number,
            "title": public.staff_scrubber(appeal)(appeal.title),
            "category": appeal.category, "category_label": label(Category, appeal.category),
            "channel": appeal.channel, "region": code_name(appeal.region),
            "enterprise": None if ent is None else {"code": ent.uscc, "name": ent.name},
            "grade": appeal.grade.code if appeal.grade_id else None, "department": code_name(appeal.department),
            "created_at": appeal.created_at}


def _event_out(e, scrub) -> dict:
    return {"at": e.at, "action": e.action, "action_label": ACTION_LABELS.get(e.action, e.action),
            "from_status": e.from_status, "to_status": e.to_status,
            "actor_role": e.actor.get_role_display() if e.actor_id else ("公众(匿名)" if e.action == "submit" else ""),
            "department": _step_department(e), "reason": scrub(e.reason),
            "data": _scrub_data(e.data, scrub)}


def _step_department(e) -> str | None:
    """The department a step concerns; none for the appellant's own steps (submitting, rating)."""
    return e.department.name if e.department_id and e.action not in APPELLANT_STEPS else None


def _scrub_data(data, scrub):
    """Event data with every text in it (e.g. attachment names) passed through ``scrub``."""
    if isinstance(data, str):
        return scrub(data)
    if isinstance(data, list):
        return [_scrub_data(v, scrub) for v in data]
    if isinstance(data, dict):
        return {k: _scrub_data(v, scrub) for k, v in data.items()}
    return data


def _extension_out(x: AppealExtension, scrub=str) -> dict:
    return {"id": x.pk, "round": x.round, "days": x.days, "reason": scrub(x.reason), "status": x.status,
            "requested_at": x.requested_at, "decided_at": x.decided_at,
            "decision_reason": scrub(x.decision_reason)}


def _task_out(t: AppealTask, scrub=str) -> dict:
    return {"id": t.pk, "department": code_name(t.department), "role": t.role, "round": t.round,
            "dispatched_at": t.dispatched_at, "due_date": t.due_date, "signed_at": t.signed_at,
            "replied_at": t.replied_at, "returned_at": t.returned_at, "content": scrub(t.content)}


def appeal_out(user, appeal: Appeal, *, full: bool = True, revealed: bool = False) -> dict:
    """The case as ``user`` may see it: contact data masked and free text redacted unless they may read it;
    ``full=False`` (a replayed submission the caller cannot read) gives little more than the number."""
    plain = full and (revealed or access.sees_contact_plainly(user, appeal))
    scrub = str if plain else public.staff_scrubber(appeal)
    events = appeal.events.select_related("actor", "department") if full else []
    base = row_out(appeal)
    base["title"] = appeal.title if plain else base["title"]
    if not full:
        base.update(enterprise=None, title=public.scrubber(appeal)(appeal.title))
    return {**base, "content": scrub(appeal.content) if full else "", "factor_kind": appeal.factor_kind,
            "contact_name": appeal.contact_name if plain else mask_name(appeal.contact_name),
            "contact_phone": appeal.contact_phone if plain else mask_phone(appeal.contact_phone),
            "contact_masked": not plain, "external_ref": appeal.external_ref, "disclose": appeal.disclose,
            "grade_detail": {"code": appeal.grade.code, "name": appeal.grade.name, "days": appeal.grade.days}
            if appeal.grade_id else None,
            "dispatched_at": appeal.dispatched_at, "signed_at": appeal.signed_at,
            "first_contact_at": appeal.first_contact_at, "replied_at": appeal.replied_at,
            "closed_at": appeal.closed_at, "due_at": appeal.due_at, "round": appeal.round,
            "return_count": appeal.return_count, "reopen_count": appeal.reopen_count, "result": appeal.result,
            "reply": scrub(appeal.reply) if full else "", "rated_resolved": appeal.rated_resolved,
            "satisfaction": appeal.satisfaction, "rating_comment": scrub(appeal.rating_comment) if full else "",
            "rating_defaulted": appeal.rating_defaulted,
            "merged_into": appeal.merged_into.number if appeal.merged_into_id else None,
            "referral_reason": scrub(appeal.referral_reason) if full else "",
            "events": [_event_out(e, scrub) for e in events],
            "tasks": [_task_out(t, scrub) for t in appeal.tasks.select_related("department")] if full else [],
            "extensions": [_extension_out(x, scrub) for x in appeal.extensions.all()] if full else [],
            "attachments": [_attachment_out(f, scrub) for f in appeal.attachments.all()] if full else []}


def _attachment_out(f: AppealAttachment, scrub=str) -> dict:
    return {"id": f.pk, "name": scrub(f.name), "size": _size(f), "uploaded_at": f.uploaded_at,
            "url": f"/api/v1/appeals/{f.appeal_id}/attachments/{f.pk}"}


def _size(f: AppealAttachment) -> int | None:
    try:
        return f.file.size
    except OSError:  # the file is missing from storage: list it, without a size
        return None


# ---------------------------------------------------------------- loading
BASE = ("region", "enterprise", "grade", "department", "merged_into")


def _load(pk: int) -> Appeal:
    appeal = Appeal.objects.select_related(*BASE).filter(pk=pk).first()
    if appeal is None:
        raise NotFound(f"诉求 {pk} 不存在")
    return appeal


def _readable(user, pk: int) -> Appeal:
    appeal = _load(pk)
    access.access_appeal_read(user, appeal)
    return appeal


def _after(request, appeal_id: int, *, extension=None) -> dict:
    """The case after an action, as the actor may see it now."""
    appeal = _load(appeal_id)
    out = appeal_out(request.auth, appeal, full=access.can_read(request.auth, appeal))
    if extension is not None:
        out["extension"] = _extension_out(extension)
    return out


# ---------------------------------------------------------------- submission and reading
@router.post("/appeals", auth=PUBLIC, response={201: AppealOut, 200: AppealOut, **CONFLICT},
             summary="提交诉求(可匿名;Idempotency-Key 防重复)")
def submit_appeal(request, payload: SubmitIn,
                  idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key",
                                                          description="重试同一提交时使用同一值")):
    """201 with the new case; the same ``Idempotency-Key`` (or the same 12345 order number) again → 200 with
    the first case. Anonymous members of the public may submit (contact name and phone required)."""
    user = request.auth
    appeal = actions.do_submit_appeal(user, payload.model_dump(), idempotency_key)
    created = bool(getattr(appeal, "was_created", False))
    appeal = _load(appeal.pk)
    own = created or access.can_read(user, appeal) or access.is_submitter(user, appeal)
    out = {**appeal_out(user, appeal, full=own), "was_created": created}
    if created and not getattr(user, "is_authenticated", False):
        out.update(contact_name=appeal.contact_name, contact_phone=appeal.contact_phone, contact_masked=False,
                   content=appeal.content)  # the anonymous submitter sees what they just sent
    return HttpStatus(201 if created else 200, out)


# ---------------------------------------------------------------- bulk dispatch
# (declared before /appeals/{appeal_id}: the first matching path wins)
class BulkDispatchIn(_In):
    ids: Optional[list[Id]] = Field(None, description="诉求 id 列表(最多 200)")
    department: Optional[str] = Field(None, description="主办单位代码")
    co_departments: Optional[list[str]] = None
    grade: Optional[str] = Field(None, description="尚未定级的诉求先按此等级定级")


class BulkFailure(Schema):
    number: str
    reason: str


class BulkDispatchOut(Schema):
    dispatched: list[AppealRow]
    failed: list[BulkFailure]


@router.post("/appeals/bulk-dispatch", response={200: BulkDispatchOut, **CONFLICT}, summary="批量交办")
def bulk_dispatch(request, payload: BulkDispatchIn):
    """Each case is dispatched in its own transaction; those that cannot be are listed with the reason."""
    result = actions.do_dispatch_many(request.auth, payload.ids, payload.department, payload.co_departments,
                                      payload.grade)
    done = deadlines.with_clock_data(Appeal.objects.filter(pk__in=[a.pk for a in result.done]).select_related(*BASE))
    return {"dispatched": [row_out(a) for a in done],
            "failed": [{"number": n, "reason": r} for n, r in result.failed]}


@router.get("/appeals/{appeal_id}", response={200: AppealOut, **ERRORS}, summary="诉求详情")
def get_appeal(request, appeal_id: Id, reveal: bool = Query(False, description="工作人员查看联系人及原文(记入审计)")):
    """Full case for readers in scope. Staff see contact data masked and free text redacted unless they ask
    ``reveal=true`` — that read of personal data is audited; the enterprise and the submitter see their own."""
    appeal = _readable(request.auth, appeal_id)
    if reveal and not access.sees_contact_plainly(request.auth, appeal):
        actions.do_reveal_contact(request.auth, appeal)
        return appeal_out(request.auth, appeal, revealed=True)
    return appeal_out(request.auth, appeal)


@router.get("/appeals", response={200: AppealPage, **ERRORS}, summary="诉求池 / 办理队列")
def list_appeals(request, status: str = Query("", description="状态,或 open(全部未办结)"),
                 overdue: Optional[bool] = Query(None), due_soon: Optional[bool] = Query(None, description="次一工作日内到期"),
                 grade: str = Query("", max_length=20), channel: str = Query(""),
                 department: str = Query("", max_length=32, description="主办单位代码"),
                 region: str = Query("", max_length=12, description="区划代码(含下级)"),
                 order: Literal["", "due", "new"] = Query("", description="due 按期限先后;new 按提交时间倒序"),
                 page: int = Query(1, ge=1, le=MAX_PAGE)):
    """Only the cases the caller may read; queues (status/overdue/due soon/department) sort by due time."""
    choice_param(status, "status", Status, ("open",))
    choice_param(channel, "channel", Channel)
    qs = access.visible_appeals(request.auth, Appeal.objects.all())
    qs = filter_pool(qs, status, overdue, due_soon, grade, channel, department, region)
    by_due = order == "due" or (not order and bool(status or overdue or due_soon or department))
    qs = qs.order_by("due_at", "id") if by_due else qs.order_by("-created_at", "-id")
    return page_of(deadlines.with_clock_data(qs.select_related(*BASE)), page, row_out)


# ---------------------------------------------------------------- actions
def _target(pk: int) -> int:
    if not Appeal.objects.filter(pk=pk).exists():
        raise NotFound(f"诉求 {pk} 不存在")
    return pk


def _extension(appeal_id: int, ext_id: int | None) -> int:
    if ext_id is None:
        raise ValidationFailed("extension_id: 必须填写延期申请 id", fields={"extension_id": "必填"})
    if not AppealExtension.objects.filter(pk=ext_id, appeal_id=appeal_id).exists():
        raise ValidationFailed(f"extension_id: 该诉求没有编号为 {ext_id} 的延期申请",
                               fields={"extension_id": "延期申请不存在"})
    return ext_id


def _merge(user, appeal_id: int, p: MergeIn):
    if p.into is None:
        raise ValidationFailed("into: 必须填写合并至的诉求 id", fields={"into": "必填"})
    if not Appeal.objects.filter(pk=p.into).exists():
        raise ValidationFailed(f"into: 诉求 {p.into} 不存在", fields={"into": "诉求不存在"})
    return actions.do_merge(user, appeal_id, p.into, p.reason)


# action → (body schema, summary, call(actor, appeal id, body)); each call is ONE do_* action.
ACTION_SPECS = {
    "grade": (GradeIn, "定级", lambda u, a, p: actions.do_grade(u, a, p.grade)),
    "dispatch": (DispatchIn, "交办(主办 + 协办单位)",
                 lambda u, a, p: actions.do_dispatch(u, a, p.department, p.co_departments)),
    "return": (ReasonIn, "退单(须说明理由)", lambda u, a, p: actions.do_return(u, a, p.reason)),
    "arbitrate": (ArbitrateIn, "裁定交办(本轮不可再退单)",
                  lambda u, a, p: actions.do_arbitrate(u, a, p.department, p.reason)),
    "sign": (EmptyIn, "签收", lambda u, a, p: actions.do_sign(u, a)),
    "contact": (NoteIn, "记录联系企业", lambda u, a, p: actions.do_contact(u, a, p.note)),
    "pause": (ReasonIn, "暂停办理(须说明理由)", lambda u, a, p: actions.do_pause(u, a, p.reason)),
    "resume": (EmptyIn, "恢复办理", lambda u, a, p: actions.do_resume(u, a)),
    "request_extension": (ExtensionIn, "申请延期",
                          lambda u, a, p: actions.do_request_extension(u, a, p.days, p.reason)),
    "approve_extension": (DecideIn, "批准延期", lambda u, a, p: actions.do_approve_extension(
        u, _extension(a, p.extension_id), p.reason or "")),
    "reject_extension": (DecideIn, "驳回延期(须说明理由)", lambda u, a, p: actions.do_reject_extension(
        u, _extension(a, p.extension_id), p.reason)),
    "reply": (ReplyIn, "答复(resolved / explained / referred)",
              lambda u, a, p: actions.do_reply(u, a, p.result or "", p.content)),
    "rate": (RateIn, "企业评价(评价后办结)",
             lambda u, a, p: actions.do_rate(u, a, p.resolved, p.satisfaction or "", p.comment or "")),
    "reopen": (ReasonIn, "重办(办结后窗口期内)", lambda u, a, p: actions.do_reopen(u, a, p.reason)),
    "close": (ReasonIn, "办结(未评价,按默认评价)", lambda u, a, p: actions.do_close(u, a, p.reason)),
    "review": (ReviewIn, "回头看(未通过则重新交办)",
               lambda u, a, p: actions.do_review(u, a, p.passed, p.note or "")),
    "sign_task": (EmptyIn, "协办单位签收协办任务", lambda u, a, p: actions.do_sign_task(u, a)),
    "reply_task": (TaskReplyIn, "协办单位提交协办意见", lambda u, a, p: actions.do_reply_task(u, a, p.content)),
    "merge": (MergeIn, "合并重复诉求", _merge),
    "refer": (ReasonIn, "转出(非政府职能,须说明理由)", lambda u, a, p: actions.do_refer(u, a, p.reason)),
}
ACTIONS = list(ACTION_SPECS)


def _register(name: str, schema, summary: str, call) -> None:
    def view(request, appeal_id, payload=None):
        result = call(request.auth, _target(appeal_id), payload or schema())
        return _after(request, appeal_id, extension=result if isinstance(result, AppealExtension) else None)

    # Real types (not strings): ninja reads the body schema of each generated view from these.
    view.__annotations__ = {"appeal_id": Id, "payload": Optional[schema]}
    view.__name__ = view.__qualname__ = f"act_{name}"
    view.__doc__ = f"{summary}。应答为操作后的诉求(含 status、due_date、due_provisional、escalation_level)。"
    router.post(f"/appeals/{{appeal_id}}/actions/{name}", response={200: AppealOut, **CONFLICT},
                summary=summary)(view)


for _name, (_schema, _summary, _call) in ACTION_SPECS.items():
    _register(_name, _schema, _summary, _call)


# ---------------------------------------------------------------- attachments
@router.post("/appeals/{appeal_id}/attachments", response={201: list[AttachmentOut], **CONFLICT},
             summary="上传附件(PDF、JPG、PNG、DOCX、XLSX,单个 ≤ 20 MB,每件 ≤ 10 个)")
def upload_attachments(request, appeal_id: Id, files: list[UploadedFile] = File(...)):
    rows = actions.do_attach(request.auth, _target(appeal_id), files)
    return HttpStatus(201, [_attachment_out(f) for f in rows])


@router.get("/appeals/{appeal_id}/attachments/{attachment_id}", response={200: None, **ERRORS},
            summary="下载附件(工作人员下载记入审计)")
def download_attachment(request, appeal_id: Id, attachment_id: Id):
    found = actions.do_read_attachment(request.auth, _readable(request.auth, appeal_id), attachment_id)
    try:
        handle = found.file.open("rb")
    except FileNotFoundError:
        raise NotFound(f"附件「{found.name}」的文件已不存在") from None
    return FileResponse(handle, as_attachment=True, filename=found.name)


@router.post("/appeals/{appeal_id}/actions/{action}", response={200: AppealOut, **CONFLICT},
             summary="未知操作(应答 404 并列出可用操作)", include_in_schema=False)
def act_unknown(request, appeal_id: Id, action: str):
    raise NotFound(f"未知操作「{shorten(action, 30)}」,可用操作:{', '.join(ACTIONS)}",
                   fields={"action": f"可选:{', '.join(ACTIONS)}"}, code="unknown_action")


