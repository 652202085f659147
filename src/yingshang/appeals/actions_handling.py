"""Handling by the lead department and the appellant's answer: sign, contact, pause/resume, extensions,
reply, rate (closes), reopen, close without rating."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from yingshang.appeals import access, hotline
from yingshang.appeals.actions import (MAX_TEXT, appellants, before, choice, clear_timers, department_staff,
                                       dispatchers_for, fail, lock, notify, recompute, require_status, save, text)
from yingshang.appeals.models import (Appeal, AppealExtension, AppealPause, AppealTask, ExtensionStatus, Result,
                                      Satisfaction, Status, TaskRole)
from yingshang.core.errors import Conflict, NotFound

WORKING = (Status.SIGNED, Status.IN_PROGRESS)
# Statuses in which an extension may be requested or decided (the department holds the case, paused too);
# not queries.RUNNING, the statuses in which the deadline runs.
EXTENDABLE = (Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS, Status.PAUSED)
MAX_EXTENSION_DAYS = 30
DEFAULT_REOPEN_DAYS = 15


def reopen_days() -> int:
    """Calendar days after closing during which the appellant may reopen (setting YINGSHANG_APPEAL_REOPEN_DAYS)."""
    return int(getattr(settings, "YINGSHANG_APPEAL_REOPEN_DAYS", DEFAULT_REOPEN_DAYS))


def _lead_task(appeal: Appeal):
    return AppealTask.objects.filter(appeal=appeal, round=appeal.round, role=TaskRole.LEAD,
                                     department_id=appeal.department_id, returned_at__isnull=True)


# ---------------------------------------------------------------- the lead department
@transaction.atomic
def do_sign(actor, appeal) -> Appeal:
    """签收: the lead department accepts the case."""
    appeal = lock(appeal)
    access.access_handle(actor, appeal)
    require_status(appeal, (Status.DISPATCHED,), "签收")
    was, now = before(appeal), timezone.now()
    appeal.status, appeal.signed_at = Status.SIGNED, now
    _lead_task(appeal).update(signed_at=now)
    save(appeal, was, actor, "sign")
    return appeal


@transaction.atomic
def do_contact(actor, appeal, note: str) -> Appeal:
    """Record contact with the appellant (the first one is the response time of the KPI)."""
    appeal = lock(appeal)
    access.access_handle(actor, appeal)
    require_status(appeal, WORKING, "记录联系")
    note, was = text(note, "note", "联系情况", limit=MAX_TEXT), before(appeal)
    appeal.status = Status.IN_PROGRESS
    appeal.first_contact_at = appeal.first_contact_at or timezone.now()
    save(appeal, was, actor, "contact", reason=note)
    return appeal


@transaction.atomic
def do_pause(actor, appeal, reason: str) -> Appeal:
    """Pause the clock (waiting for materials or a third party); reason required."""
    appeal = lock(appeal)
    access.access_handle(actor, appeal)
    require_status(appeal, WORKING, "暂停")
    reason, was, now = text(reason, "reason", "暂停理由"), before(appeal), timezone.now()
    AppealPause.objects.create(appeal=appeal, round=appeal.round, paused_at=now, reason=reason, paused_by=actor)
    appeal.status = Status.PAUSED
    save(appeal, was, actor, "pause", reason=reason, fields=recompute(appeal, now))
    return appeal


@transaction.atomic
def do_resume(actor, appeal) -> Appeal:
    """Resume a paused case; the paused working days are added to its deadline."""
    appeal = lock(appeal)
    access.access_handle(actor, appeal)
    require_status(appeal, (Status.PAUSED,), "恢复办理")
    was, now = before(appeal), timezone.now()
    AppealPause.objects.filter(appeal=appeal, round=appeal.round, resumed_at__isnull=True).update(resumed_at=now)
    appeal.status = Status.IN_PROGRESS if appeal.first_contact_at else Status.SIGNED
    save(appeal, was, actor, "resume", fields=recompute(appeal, now))
    return appeal


def _days(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EXTENSION_DAYS:
        fail("days", f"延期天数必须是 1–{MAX_EXTENSION_DAYS} 的整数(工作日)")
    return value


@transaction.atomic
def do_request_extension(actor, appeal, days: int, reason: str) -> AppealExtension:
    """Ask the dispatcher for more working days; only before the deadline, one pending request at a time."""
    appeal = lock(appeal)
    access.access_handle(actor, appeal)
    require_status(appeal, (Status.DISPATCHED, *WORKING), "申请延期")
    days, reason, now = _days(days), text(reason, "reason", "延期理由"), timezone.now()
    if appeal.due_at is not None and now >= appeal.due_at:
        raise Conflict(f"诉求 {appeal.number} 已超过办理期限({appeal.due_date}),不能再申请延期", code="overdue")
    if appeal.extensions.filter(round=appeal.round, status=ExtensionStatus.PENDING).exists():
        raise Conflict("已有一项延期申请待审批,请等待审批结果")
    ext = AppealExtension.objects.create(appeal=appeal, round=appeal.round, days=days, reason=reason,
                                         requested_by=actor, requested_at=now)
    save(appeal, before(appeal), actor, "request_extension", reason=reason, data={"extension": ext.pk, "days": days})
    notify(dispatchers_for(appeal), appeal, "request_extension", f"申请延期 {days} 个工作日", reason,
           suffix=str(ext.pk))
    return ext


def _decide(actor, extension, approve: bool, reason: str) -> AppealExtension:
    ext_id = getattr(extension, "pk", extension)
    appeal_id = AppealExtension.objects.filter(pk=ext_id).values_list("appeal_id", flat=True).first()
    if appeal_id is None:
        raise NotFound("延期申请不存在")
    appeal = lock(appeal_id)  # the case first, then the request: the same order as every other step
    ext = AppealExtension.objects.select_for_update().get(pk=ext_id)
    access.access_dispatch(actor, appeal)
    verb = "批准" if approve else "驳回"
    if ext.status != ExtensionStatus.PENDING:
        raise Conflict(f"该延期申请当前状态为「{ext.get_status_display()}」,不能{verb}", code="illegal_transition")
    require_status(appeal, EXTENDABLE, f"{verb}延期")
    if ext.round != appeal.round:
        raise Conflict("该延期申请属于上一轮办理,已失效")
    reason = text(reason, "reason", f"{verb}理由", required=not approve)
    ext.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    ext.decided_by, ext.decided_at, ext.decision_reason = actor, timezone.now(), reason
    ext.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    was = before(appeal)
    fields = recompute(appeal, ext.decided_at) if approve else []
    action = "approve_extension" if approve else "reject_extension"
    save(appeal, was, actor, action, reason=reason, fields=fields, data={"extension": ext.pk, "days": ext.days})
    notify(department_staff([appeal.department_id]), appeal, action, f"延期申请已{verb}", reason, suffix=str(ext.pk))
    return ext


@transaction.atomic
def do_approve_extension(actor, extension, reason: str = "") -> AppealExtension:
    """Approve a pending extension: its working days are added to the deadline."""
    return _decide(actor, extension, True, reason)


@transaction.atomic
def do_reject_extension(actor, extension, reason: str) -> AppealExtension:
    """Reject a pending extension (reason required); the deadline stays."""
    return _decide(actor, extension, False, reason)


@transaction.atomic
def do_reply(actor, appeal, result: str, content: str) -> Appeal:
    """答复: the lead department's answer with a result code; the escalation timer stops."""
    appeal = lock(appeal)
    access.access_handle(actor, appeal)
    require_status(appeal, WORKING, "答复")
    choice(result, "result", "办理结果", Result)
    content, was, now = text(content, "content", "答复内容", limit=MAX_TEXT), before(appeal), timezone.now()
    appeal.status, appeal.result, appeal.reply, appeal.replied_at = Status.REPLIED, result, content, now
    _lead_task(appeal).update(replied_at=now, content=content)
    save(appeal, was, actor, "reply", fields=["reply", *clear_timers(appeal)], data={"result": result})
    notify(appellants(appeal), appeal, "reply", "已答复,请评价", content[:200])
    hotline.queue_update(appeal, "reply")
    return appeal


# ---------------------------------------------------------------- the appellant and the dispatcher
@transaction.atomic
def do_rate(actor, appeal, resolved: bool, satisfaction: str, comment: str = "") -> Appeal:
    """The enterprise (or submitting supervisor) rates the answer; this closes the case."""
    appeal = lock(appeal)
    access.access_appellant(actor, appeal)
    require_status(appeal, (Status.REPLIED,), "评价")
    if not isinstance(resolved, bool):
        fail("resolved", "必须说明问题是否已解决(是/否)")
    choice(satisfaction, "satisfaction", "满意度", Satisfaction)
    comment, was, now = text(comment, "comment", "评价意见", required=False, limit=2000), before(appeal), timezone.now()
    appeal.rated_resolved, appeal.satisfaction, appeal.rating_comment = resolved, satisfaction, comment
    appeal.rated_at, appeal.closed_at, appeal.status = now, now, Status.CLOSED
    save(appeal, was, actor, "rate", reason=comment, fields=["rating_comment", "rated_at"],
         data={"resolved": resolved, "satisfaction": satisfaction})
    hotline.queue_update(appeal, "rating")
    return appeal


@transaction.atomic
def do_close(actor, appeal, reason: str) -> Appeal:
    """Close a replied case without a rating (e.g. the rating window expired): the default applies."""
    appeal = lock(appeal)
    access.access_dispatch(actor, appeal)
    require_status(appeal, (Status.REPLIED,), "办结")
    return close_unrated(appeal, actor, text(reason, "reason", "办结理由"))


def close_unrated(appeal: Appeal, actor, reason: str) -> Appeal:
    """Close the (locked, replied) case with the default rating; ``actor`` None for the rating-window job."""
    was = before(appeal)
    appeal.status, appeal.closed_at, appeal.rating_defaulted = Status.CLOSED, timezone.now(), True
    save(appeal, was, actor, "close", reason=reason)
    hotline.queue_update(appeal, "close")
    return appeal


def _check_window(appeal: Appeal, now: dt.datetime) -> None:
    days = reopen_days()
    if appeal.closed_at is None or now > appeal.closed_at + dt.timedelta(days=days):
        raise Conflict(f"诉求 {appeal.number} 办结已超过 {days} 天,不能再申请重办", code="reopen_window")


def _new_round(appeal: Appeal, now: dt.datetime) -> list[str]:
    """Back to the same department as a new round with its own clock."""
    appeal.round, appeal.reopen_count, appeal.status = appeal.round + 1, appeal.reopen_count + 1, Status.DISPATCHED
    appeal.dispatched_at, appeal.escalation_level = now, 0
    appeal.signed_at = appeal.first_contact_at = appeal.replied_at = appeal.closed_at = appeal.rated_at = None
    appeal.result = appeal.reply = appeal.satisfaction = appeal.rating_comment = ""
    appeal.rated_resolved, appeal.rating_defaulted = None, False
    fields = ["reply", "rating_comment", "rated_at", "escalation_level", *recompute(appeal, now)]
    AppealTask.objects.create(appeal=appeal, department_id=appeal.department_id, role=TaskRole.LEAD,
                              round=appeal.round, dispatched_at=now, due_date=appeal.due_date)
    return fields


@transaction.atomic
def do_reopen(actor, appeal, reason: str) -> Appeal:
    """重办: the appellant reopens a closed case inside the window; it goes back to the same department."""
    appeal = lock(appeal)
    access.access_appellant(actor, appeal)
    require_status(appeal, (Status.CLOSED,), "重办")
    reason, now = text(reason, "reason", "重办理由"), timezone.now()
    _check_window(appeal, now)
    was = before(appeal)
    rating = {"result": appeal.result, "satisfaction": appeal.satisfaction, "resolved": appeal.rated_resolved}
    fields = _new_round(appeal, now)
    save(appeal, was, actor, "reopen", reason=reason, fields=fields, data={"round": appeal.round, "previous": rating})
    notify(department_staff([appeal.department_id]), appeal, "reopen", "企业申请重办,请及时签收", reason)
    return appeal
