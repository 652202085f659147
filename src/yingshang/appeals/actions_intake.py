"""Intake and routing: submit, grade, dispatch, return (退单), arbitrate, refer out, merge duplicates."""
from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from yingshang.appeals import access, hotline, numbering
from yingshang.appeals.actions import (MAX_TEXT, appellants, before, choice, clear_timers, department_staff,
                                       dispatchers_for, fail, lock, log_step, notify, recompute, require_status,
                                       save, text)
from yingshang.appeals.models import (Appeal, AppealExtension, AppealTask, Category, Channel, ExtensionStatus,
                                      FactorKind, Grade, Status, TaskRole)
from yingshang.core import phones
from yingshang.core.errors import Conflict
from yingshang.core.models import Department, Region, Role

MAX_KEY = 90  # the stored key is "<submitter id>:<key>" in a 100-character column
# Channels a member of the public or an enterprise user can claim for their own submission.
SELF_CHANNELS = {Channel.PORTAL}
ROUTABLE = (Status.GRADED, Status.RETURNED)


# ---------------------------------------------------------------- submission input
def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes", "是"}
    return bool(value)


def _phone(value, required: bool) -> str:
    phone = text(value, "contact_phone", "联系电话", required=required, limit=32).replace(" ", "")
    if phone and not phones.is_phone(phone):
        fail("contact_phone", f"联系电话格式不正确,{phones.HINT}")
    return phone


def _enterprise(actor, uscc):
    from yingshang.enterprises.models import Enterprise

    uscc = text(uscc, "enterprise_uscc", "统一社会信用代码", required=False, limit=18).upper()
    own = getattr(actor, "role", None) == Role.ENTERPRISE
    if own and not uscc:
        return actor.enterprise
    if not uscc:
        return None
    if actor is None:  # an unverified visitor must not attach a case (and its contact data) to a company
        fail("enterprise_uscc", "匿名提交不能关联企业:企业请登录本企业账号提交,或在诉求内容中写明企业名称")
    ent = Enterprise.objects.filter(uscc=uscc).first()
    if ent is None:
        fail("enterprise_uscc", f"统一社会信用代码「{uscc}」对应的企业不存在")
    if own and ent.pk != actor.enterprise_id:
        fail("enterprise_uscc", "企业用户只能为本企业提交诉求")
    return ent


def _region(code, enterprise) -> Region:
    code = text(code, "region_code", "所在区划", required=enterprise is None, limit=12)
    if not code:
        return enterprise.region
    region = Region.objects.filter(code=code).first()
    if region is None:
        fail("region_code", f"区划代码「{code}」不存在")
    return region


def _channel(actor, value) -> str:
    channel = choice(value or Channel.PORTAL, "channel", "来源渠道", Channel)
    self_service = actor is None or actor.role == Role.ENTERPRISE
    if self_service and channel not in SELF_CHANNELS:
        fail("channel", "企业和公众只能通过网上平台提交诉求")
    if channel == Channel.HOTLINE_12345 and not _registrar(actor):
        fail("channel", "12345 工单只能由营商办调度员或 12345 对接账号登记")
    return channel


def _registrar(actor) -> bool:
    """Dispatchers and admins (the 12345 integration account is a dispatcher) register external orders."""
    return actor is not None and (actor.is_superuser or actor.role in (Role.DISPATCHER, Role.ADMIN))


def _external_ref(actor, value, channel: str) -> str:
    ref = text(value, "external_ref", "外部工单号", required=False, limit=64)
    if ref and not _registrar(actor):
        fail("external_ref", "只有营商办调度员或 12345 对接账号可以登记外部工单号")
    return ref


def _check_external_ref(actor, fields: dict) -> None:
    """Another submitter's case already carries this order number: say so (the same submitter's retry
    was answered with its case before this check)."""
    ref = fields["external_ref"]
    taken = Appeal.objects.filter(channel=fields["channel"], external_ref=ref).values_list("number", flat=True)
    if ref and (number := taken.first()):
        raise Conflict(f"external_ref: 外部工单号「{ref}」已登记为诉求 {number}", code="external_ref_taken",
                       fields={"external_ref": "已登记"})


def _fields(actor, data: dict) -> dict:
    """The validated columns of a new case (each error names its field)."""
    category = choice(data.get("category"), "category", "类别", Category)
    factor = data.get("factor_kind") or ""
    if category == Category.FACTOR_SUPPLY:
        factor = choice(factor, "factor_kind", "要素类别", FactorKind)
    elif factor:
        fail("factor_kind", "只有「要素保障」类诉求需要填写要素类别")
    enterprise = _enterprise(actor, data.get("enterprise_uscc"))
    anonymous = actor is None
    name_default = "" if anonymous else (actor.display_name or actor.username)
    return dict(
        title=text(data.get("title"), "title", "标题", limit=200),
        content=text(data.get("content"), "content", "诉求内容", limit=MAX_TEXT),
        category=category, factor_kind=factor, enterprise=enterprise,
        region=_region(data.get("region_code"), enterprise),
        contact_name=text(data.get("contact_name"), "contact_name", "联系人", required=anonymous, limit=64)
        or name_default,
        contact_phone=_phone(data.get("contact_phone"), anonymous) or ("" if anonymous else actor.phone),
        channel=(channel := _channel(actor, data.get("channel"))),
        external_ref=_external_ref(actor, data.get("external_ref"), channel),
        disclose=_flag(data.get("disclose")))


def _stored_key(actor, key, fields: dict) -> str | None:
    """Idempotency keys are per submitter, so one caller's key never reveals another's case; anonymous
    submitters are told apart by (a hash of) their contact phone."""
    if not key:
        return None
    key = str(key).strip()
    if len(key) > MAX_KEY:
        fail("Idempotency-Key", f"幂等键不能超过 {MAX_KEY} 个字符")
    if actor is None:
        phone = hashlib.sha256(fields.get("contact_phone", "").encode()).hexdigest()[:16]
        return f"anon-{phone}:{key}"
    return f"{actor.pk}:{key}"


def _existing(actor, stored_key, fields) -> Appeal | None:
    """The case an earlier attempt of this submission created, if any (an external order number counts
    only for the same submitter: the 12345 integration account resubmitting its own order)."""
    found = Appeal.objects.filter(idempotency_key=stored_key).first() if stored_key else None
    if found is None and fields["external_ref"] and actor is not None:
        found = Appeal.objects.filter(channel=fields["channel"], external_ref=fields["external_ref"],
                                      submitted_by=actor).first()
    if found is not None and stored_key and found.idempotency_key == stored_key and (
            found.title != fields["title"] or found.content != fields["content"]):
        raise Conflict("该 Idempotency-Key 已用于另一条内容不同的诉求", code="idempotency_mismatch")
    return found


def _insert(actor, fields: dict, stored_key) -> Appeal | None:
    """Insert the case with the next number; None when an identical submission won the race."""
    today = timezone.localdate()
    for _ in range(numbering.MAX_ATTEMPTS):
        appeal = Appeal(number=numbering.next_number(today), idempotency_key=stored_key,
                        submitted_by=actor, **fields)
        try:
            with transaction.atomic():  # a savepoint: a lost race must not poison the outer transaction
                appeal.save(force_insert=True)
            appeal.was_created = True
            return appeal
        except IntegrityError:
            if _existing(actor, stored_key, fields) is not None:
                return None
            _check_external_ref(actor, fields)  # another account's order with this number won the race
    raise Conflict("系统繁忙,诉求编号分配失败,请稍后重试")


@transaction.atomic
def do_submit_appeal(actor, data: dict, idempotency_key: str | None = None) -> Appeal:
    """Create a case (status submitted); a repeated Idempotency-Key or 12345 order returns the first one.
    The returned object's ``was_created`` tells the two apart."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    access.access_submit(actor)
    fields = _fields(actor, data or {})
    stored_key = _stored_key(actor, idempotency_key, fields)
    appeal = _existing(actor, stored_key, fields)
    if appeal is None:
        _check_external_ref(actor, fields)
        appeal = _insert(actor, fields, stored_key)
    if appeal is None:  # an identical submission committed between our check and our insert
        appeal = _existing(actor, stored_key, fields)
    if getattr(appeal, "was_created", None) is not True:
        appeal.was_created = False
        return appeal
    log_step(appeal, actor, "submit", "", data={"channel": appeal.channel}, changes={
        "number": appeal.number, "category": appeal.category, "region": appeal.region_id,
        "enterprise": appeal.enterprise_id, "channel": appeal.channel, "external_ref": appeal.external_ref})
    notify(dispatchers_for(appeal), appeal, "submit", "新诉求待定级交办", appeal.title)
    appeal.was_created = True
    return appeal


# ---------------------------------------------------------------- grading and routing
def _grade(code) -> Grade:
    grade = Grade.objects.filter(code=code or "", is_active=True).first()
    if grade is None:
        codes = ", ".join(Grade.objects.filter(is_active=True).values_list("code", flat=True))
        fail("grade", f"等级「{code or ''}」无效,可选:{codes}")
    return grade


@transaction.atomic
def do_grade(actor, appeal, grade_code: str) -> Appeal:
    """Set (or, before dispatch, change) the grade and with it the working-day deadline."""
    appeal = lock(appeal)
    access.access_dispatch(actor, appeal)
    require_status(appeal, (Status.SUBMITTED, Status.GRADED), "定级")
    grade, was = _grade(grade_code), before(appeal)
    appeal.grade, appeal.status = grade, Status.GRADED
    save(appeal, was, actor, "grade", data={"grade": grade.code, "days": grade.days})
    return appeal


def _department(code, field: str = "department") -> Department:
    dept = Department.objects.filter(code=code or "").first() if isinstance(code, str) else None
    if dept is None:
        fail(field, f"单位代码「{code or ''}」不存在")
    if not dept.is_active:
        fail(field, f"单位「{dept.name}」已停用")
    return dept


def _co_departments(codes, lead: Department) -> list[Department]:
    if codes is None:
        return []
    if not isinstance(codes, (list, tuple)):
        fail("co_departments", "协办单位必须是单位代码的列表")
    out = [_department(c, "co_departments") for c in dict.fromkeys(codes)]
    if any(d.pk == lead.pk for d in out):
        fail("co_departments", "主办单位不能同时作为协办单位")
    return out


def route(appeal: Appeal, lead: Department, co: list[Department], now) -> list[str]:
    """Assign the lead (and co) departments for the current round; the clock starts at the round's
    first dispatch and keeps running through returns (a return does not reset it)."""
    appeal.department, appeal.status = lead, Status.DISPATCHED
    appeal.signed_at = None
    if appeal.dispatched_at is None:
        appeal.dispatched_at = now
    open_co = set(AppealTask.objects.filter(appeal=appeal, round=appeal.round, role=TaskRole.CO,
                                            returned_at__isnull=True).values_list("department_id", flat=True))
    fields = ["signed_at", *recompute(appeal, now)]
    from yingshang.appeals.deadlines import co_task_due  # lazily, as recompute

    co_due = co_task_due(appeal, now)
    AppealTask.objects.bulk_create(
        [AppealTask(appeal=appeal, department=lead, role=TaskRole.LEAD, round=appeal.round, dispatched_at=now,
                    due_date=appeal.due_date)]
        + [AppealTask(appeal=appeal, department=d, role=TaskRole.CO, round=appeal.round, dispatched_at=now,
                      due_date=co_due) for d in co if d.pk not in open_co])
    return fields


def _notify_departments(appeal: Appeal, depts, action: str, title: str) -> None:
    notify(department_staff([d.pk for d in depts]), appeal, action, title, appeal.title,
           suffix=str(appeal.return_count))


@transaction.atomic
def do_dispatch(actor, appeal, department_code: str, co_department_codes=None) -> Appeal:
    """交办: route a graded (or returned) case to a lead department plus co-handling departments."""
    appeal = lock(appeal)
    access.access_dispatch(actor, appeal)
    require_status(appeal, ROUTABLE, "交办")
    lead = _department(department_code)
    co = _co_departments(co_department_codes, lead)
    was, now = before(appeal), timezone.now()
    fields = route(appeal, lead, co, now)
    save(appeal, was, actor, "dispatch", department=lead, fields=fields,
         data={"department": lead.code, "co_departments": [d.code for d in co], "round": appeal.round})
    _notify_departments(appeal, [lead, *co], "dispatch", "新交办诉求,请及时签收")
    return appeal


def arbitrated(appeal: Appeal) -> bool:
    """True when a forced assignment (arbitration) ended the routing dispute of the current round."""
    return appeal.events.filter(action="arbitrate", data__round=appeal.round).exists()


@transaction.atomic
def do_return(actor, appeal, reason: str) -> Appeal:
    """退单: the lead department says the case is not theirs (reason required); the clock keeps running."""
    appeal = lock(appeal)
    access.access_handle(actor, appeal)
    require_status(appeal, (Status.DISPATCHED,), "退单")
    reason = text(reason, "reason", "退单理由")
    if arbitrated(appeal):
        raise Conflict("该诉求已由营商办裁定交办,本轮不能再退单", code="arbitrated")
    was, now = before(appeal), timezone.now()
    AppealTask.objects.filter(appeal=appeal, round=appeal.round, department_id=appeal.department_id,
                              role=TaskRole.LEAD, returned_at__isnull=True).update(returned_at=now)
    appeal.status, appeal.return_count = Status.RETURNED, appeal.return_count + 1
    # The dispatcher holds the case now: no timers against the returning department, and its pending
    # extension request lapses (the next department asks for its own).
    AppealExtension.objects.filter(appeal=appeal, round=appeal.round, status=ExtensionStatus.PENDING).update(
        status=ExtensionStatus.REJECTED, decided_at=now, decision_reason="主办单位退单,延期申请自动失效")
    save(appeal, was, actor, "return", reason=reason, data={"round": appeal.round}, fields=recompute(appeal, now))
    notify(dispatchers_for(appeal), appeal, "return", f"{appeal.department.name}退单", reason,
           suffix=str(appeal.return_count))
    return appeal


@transaction.atomic
def do_arbitrate(actor, appeal, department_code: str, reason: str) -> Appeal:
    """Arbitrate a return: force the case onto a department; it cannot be returned again this round."""
    appeal = lock(appeal)
    access.access_dispatch(actor, appeal)
    require_status(appeal, (Status.RETURNED,), "裁定交办")
    reason = text(reason, "reason", "裁定理由")
    lead, was, now = _department(department_code), before(appeal), timezone.now()
    fields = route(appeal, lead, [], now)
    save(appeal, was, actor, "arbitrate", reason=reason, department=lead, fields=fields,
         data={"department": lead.code, "round": appeal.round, "forced": True})
    _notify_departments(appeal, [lead], "arbitrate", "营商办裁定由贵单位办理,请及时签收")
    return appeal


@transaction.atomic
def do_refer(actor, appeal, reason: str) -> Appeal:
    """Refer a case outside the government's remit out of the pool (referred_out), with a reason."""
    appeal = lock(appeal)
    access.access_dispatch(actor, appeal)
    require_status(appeal, (Status.SUBMITTED, Status.GRADED, Status.RETURNED), "转出")
    reason = text(reason, "reason", "转出理由")
    was = before(appeal)
    appeal.status, appeal.referral_reason, appeal.closed_at = Status.REFERRED_OUT, reason, timezone.now()
    save(appeal, was, actor, "refer", reason=reason, fields=clear_timers(appeal))
    hotline.queue_update(appeal, "refer")
    return appeal


MERGEABLE = (Status.SUBMITTED, Status.GRADED, Status.DISPATCHED, Status.RETURNED, Status.SIGNED,
             Status.IN_PROGRESS, Status.PAUSED)


def _lock_pair(a, b) -> tuple[Appeal, Appeal]:
    """Lock two cases in id order so that two opposite merges cannot deadlock."""
    first, second = sorted([getattr(a, "pk", a), getattr(b, "pk", b)])
    locked = {first: lock(first), second: lock(second)}
    return locked[getattr(a, "pk", a)], locked[getattr(b, "pk", b)]


@transaction.atomic
def do_merge(actor, appeal, into, reason: str) -> Appeal:
    """Merge a duplicate into another case: it stops (merged) and points at the surviving case; its
    appellant and the departments that held it are told where it went."""
    appeal, into = _lock_pair(appeal, into)
    access.access_dispatch(actor, appeal)
    access.access_dispatch(actor, into)
    if appeal.pk == into.pk:
        fail("into", "不能把诉求合并到它自己")
    require_status(appeal, MERGEABLE, "合并")
    if into.status in (Status.MERGED, Status.REFERRED_OUT):
        raise Conflict(f"目标诉求 {into.number} 当前状态为「{into.get_status_display()}」,不能作为合并目标")
    reason, was = text(reason, "reason", "合并理由"), before(appeal)
    appeal.status, appeal.merged_into, appeal.closed_at = Status.MERGED, into, timezone.now()
    save(appeal, was, actor, "merge", reason=reason, fields=clear_timers(appeal), data={"into": into.number})
    holders = set(AppealTask.objects.filter(appeal=appeal, round=appeal.round, returned_at__isnull=True)
                  .values_list("department_id", flat=True))
    body = f"已与诉求 {into.number} 合并办理:{reason}"
    notify(appellants(appeal), appeal, "merge", f"已合并至诉求 {into.number}", body)
    notify(department_staff(holders), appeal, "merge_dept", f"已合并至诉求 {into.number},本件无需再办理", body)
    return appeal


__all__ = ["do_submit_appeal", "do_grade", "do_dispatch", "do_return", "do_arbitrate", "do_refer", "do_merge",
           "route", "arbitrated"]
