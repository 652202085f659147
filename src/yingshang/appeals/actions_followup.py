"""Follow-up steps: co-handling sub-tasks, bulk dispatch, attachments, audited reads of contact data,
回头看 (sampling closed cases and re-checking them; a failed check reopens the case) and closing cases
whose rating window ran out."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from yingshang.appeals import access
from yingshang.appeals.actions import (MAX_TEXT, before, department_staff, dispatchers_for, fail, lock, notify,
                                       require_status, save, text)
from yingshang.appeals.models import (Appeal, AppealAttachment, AppealReview, AppealTask, Satisfaction, Status,
                                      TaskRole)
from yingshang.core import audit
from yingshang.core.errors import Conflict, NotFound, ValidationFailed
from yingshang.core.models import AuditAction
from yingshang.core.uploads import check_upload

MAX_ATTACHMENTS = 10
MAX_BULK = 200
REVIEW_LOOKBACK_DAYS = 30  # a sampling run that was missed for up to this long still catches its cases
REPORTABLE = (Conflict, ValidationFailed, PermissionDenied, NotFound)
OPEN_FOR_FILES = (Status.SUBMITTED, Status.GRADED, Status.DISPATCHED, Status.RETURNED, Status.SIGNED,
                  Status.IN_PROGRESS, Status.PAUSED, Status.REPLIED)
CO_WORKING = (Status.DISPATCHED, Status.RETURNED, Status.SIGNED, Status.IN_PROGRESS, Status.PAUSED)


# ---------------------------------------------------------------- co-handling sub-tasks
def _co_task(actor, appeal: Appeal) -> AppealTask:
    """The open co-handling task of the actor's department in the current round (locked)."""
    access.access_co_handle(actor, appeal)
    task = (AppealTask.objects.select_for_update()
            .filter(appeal=appeal, round=appeal.round, role=TaskRole.CO, department_id=actor.department_id,
                    returned_at__isnull=True).first())
    if task is None:
        raise Conflict(f"贵单位在诉求 {appeal.number} 本轮没有协办任务", code="no_co_task")
    return task


@transaction.atomic
def do_sign_task(actor, appeal) -> AppealTask:
    """A co-handling department signs its sub-task (签收协办)."""
    appeal = lock(appeal)
    task = _co_task(actor, appeal)
    require_status(appeal, CO_WORKING, "签收协办任务")
    if task.signed_at is not None:
        raise Conflict(f"协办任务已于 {timezone.localtime(task.signed_at):%Y-%m-%d %H:%M} 签收", code="already_signed")
    task.signed_at = timezone.now()
    task.save(update_fields=["signed_at"])
    # save() stamps the case's updated_at, which is the event's time (log_step alone would reuse the old one)
    save(appeal, before(appeal), actor, "sign_task", department=task.department, data={"task": task.pk, "role": "co"})
    return task


@transaction.atomic
def do_reply_task(actor, appeal, content: str) -> AppealTask:
    """A co-handling department hands its part (办理意见) to the lead department."""
    appeal = lock(appeal)
    task = _co_task(actor, appeal)
    require_status(appeal, CO_WORKING, "提交协办意见")
    if task.replied_at is not None:
        raise Conflict("协办意见已提交,不能重复提交", code="already_replied")
    task.content, now = text(content, "content", "协办意见", limit=MAX_TEXT), timezone.now()
    task.replied_at, task.signed_at = now, task.signed_at or now
    task.save(update_fields=["content", "replied_at", "signed_at"])
    save(appeal, before(appeal), actor, "reply_task", department=task.department, reason=task.content[:300],
         data={"task": task.pk, "late": bool(task.due_date and timezone.localdate(now) > task.due_date)})
    notify(department_staff([appeal.department_id]), appeal, "reply_task", f"协办单位{task.department.name}已提交意见",
           task.content[:200], suffix=str(task.pk))
    return task


# ---------------------------------------------------------------- bulk dispatch
@dataclass
class BulkResult:
    done: list[Appeal] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (case number or id, reason)


def _bulk_ids(ids) -> list[int]:
    if not isinstance(ids, (list, tuple)) or not ids:
        fail("ids", "请选择要交办的诉求")
    if len(ids) > MAX_BULK:
        fail("ids", f"一次最多交办 {MAX_BULK} 件")
    if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids):
        fail("ids", "诉求 id 必须是正整数")
    return list(dict.fromkeys(ids))


def do_dispatch_many(actor, ids, department_code: str, co_department_codes=None,
                     grade_code: str | None = None) -> BulkResult:
    """批量交办: each case graded (when still ungraded and a grade is given) and dispatched in its own
    transaction; cases that cannot be dispatched are reported with the reason, the others go through."""
    from yingshang.appeals.actions_intake import _co_departments, _department, _grade, do_dispatch, do_grade

    access.access_dispatcher(actor, "批量交办")
    ids, lead = _bulk_ids(ids), _department(department_code)
    _co_departments(co_department_codes, lead)  # bad input fails the whole request before anything is written
    grade = _grade(grade_code).code if grade_code else None
    result, numbers = BulkResult(), dict(Appeal.objects.filter(pk__in=ids).values_list("pk", "number"))
    for pk in ids:
        try:
            with transaction.atomic():
                if grade and Appeal.objects.filter(pk=pk, status=Status.SUBMITTED).exists():
                    do_grade(actor, pk, grade)
                result.done.append(do_dispatch(actor, pk, lead.code, co_department_codes))
        except REPORTABLE as exc:  # this case is reported, the others go on
            result.failed.append(_failure(exc, pk, numbers.get(pk)))
    return result


def _failure(exc: Exception, pk: int, number: str | None) -> tuple[str, str]:
    """(what identifies the case, why): the number only of a case the actor may see."""
    if number is None:
        return str(pk), "诉求不存在"
    shown = str(pk) if isinstance(exc, PermissionDenied) else number
    return shown, str(getattr(exc, "message", None) or exc)


# ---------------------------------------------------------------- attachments and contact data
@transaction.atomic
def do_attach(actor, appeal, uploads: list) -> list[AppealAttachment]:
    """Attach files (PDF, images, Office) to an open case: the appellant, the submitter, the lead
    department or the dispatcher; at most 10 per case, each checked by type, size and content."""
    appeal = lock(appeal)
    access.access_attach(actor, appeal)
    require_status(appeal, OPEN_FOR_FILES, "上传附件")
    return _store(appeal, actor, uploads)


def _store(appeal: Appeal, actor, uploads: list) -> list[AppealAttachment]:
    """Check and store ``uploads`` on the (locked) case, with a timeline step."""
    if not uploads:
        fail("files", "请选择要上传的文件")
    if appeal.attachments.count() + len(uploads) > MAX_ATTACHMENTS:
        fail("files", f"每件诉求最多 {MAX_ATTACHMENTS} 个附件")
    for upload in uploads:
        check_upload(f"附件「{upload.name}」", "files", upload)
    rows = [AppealAttachment.objects.create(appeal=appeal, file=u, name=u.name[:200], uploaded_by=_user(actor))
            for u in uploads]
    save(appeal, before(appeal), actor, "attach", data={"files": [r.name for r in rows]}, public=False)
    return rows


@transaction.atomic
def do_submit_appeal_with_files(actor, data: dict, uploads: list, idempotency_key: str | None = None) -> Appeal:
    """Submit a case together with its files (anonymous submitters too: the files come with the
    submission); a bad file leaves no case behind, a replayed submission keeps its first files."""
    from yingshang.appeals.actions_intake import do_submit_appeal

    appeal = do_submit_appeal(actor, data, idempotency_key)
    if uploads and appeal.was_created:
        created = appeal.was_created
        appeal = lock(appeal)
        _store(appeal, actor if getattr(actor, "is_authenticated", False) else None, uploads)
        appeal.was_created = created
    return appeal


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def do_reveal_contact(actor, appeal) -> dict:
    """The case's contact name and phone in full for a member of staff who may read the case; the read is
    audited (DOMAIN §4). Appellants see their own contact data without this step."""
    access.access_appeal_read(actor, appeal)
    audit.record(actor, AuditAction.READ_PERSONAL, appeal, changes={"fields": ["contact_name", "contact_phone"]},
                 reason="查看诉求联系人")
    return {"contact_name": appeal.contact_name, "contact_phone": appeal.contact_phone}


# ---------------------------------------------------------------- 回头看
def _pending_review(appeal: Appeal) -> AppealReview:
    review, _ = AppealReview.objects.select_for_update().get_or_create(appeal=appeal, round=appeal.round)
    if review.checked_at is not None:
        raise Conflict(f"诉求 {appeal.number} 本轮已回头看({'通过' if review.passed else '未通过'})",
                       code="already_reviewed")
    return review


@transaction.atomic
def do_review(actor, appeal, passed, note: str = "") -> Appeal:
    """回头看: the dispatcher re-checks a closed case; a failed check (reason required) reopens it to the
    same department as a new round, counted as a reopening."""
    appeal = lock(appeal)
    access.access_dispatch(actor, appeal)
    require_status(appeal, (Status.CLOSED,), "回头看")
    if not isinstance(passed, bool):
        fail("passed", "必须说明回头看是否通过(是/否)")
    note = text(note, "note", "回头看情况说明", required=not passed, limit=2000)
    review, now = _pending_review(appeal), timezone.now()
    review.checked_by, review.checked_at, review.passed, review.note = actor, now, passed, note
    review.save(update_fields=["checked_by", "checked_at", "passed", "note"])
    if passed:
        save(appeal, before(appeal), actor, "review", reason=note, data={"passed": True})
        return appeal
    return _reopen_after_review(appeal, actor, note, now)


def _reopen_after_review(appeal: Appeal, actor, note: str, now: dt.datetime) -> Appeal:
    from yingshang.appeals.actions_handling import _new_round

    was = before(appeal)
    fields = _new_round(appeal, now)
    save(appeal, was, actor, "review", reason=note, fields=fields, public=True,
         data={"passed": False, "round": appeal.round})
    notify(department_staff([appeal.department_id]), appeal, "review", "回头看未通过,诉求重新交办,请及时签收", note)
    return appeal


def _sampled(appeal: Appeal, rate: float) -> bool:
    """Always the doubtful closures; of the rest a stable pseudo-random share (same answer on every run)."""
    if appeal.rated_resolved is False or appeal.satisfaction == Satisfaction.UNSATISFIED or appeal.rating_defaulted:
        return True
    digest = hashlib.sha256(f"review:{appeal.pk}:{appeal.round}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < rate * 2 ** 32


def sample_reviews(now: dt.datetime | None = None) -> int:
    """Sample closed cases for 回头看 once they have been closed N days (setting); the number sampled."""
    now = now or timezone.now()
    after = dt.timedelta(days=settings.YINGSHANG_APPEAL_REVIEW_AFTER_DAYS)
    window = (now - after - dt.timedelta(days=REVIEW_LOOKBACK_DAYS), now - after)
    reviewed = AppealReview.objects.filter(appeal_id=OuterRef("pk"), round=OuterRef("round"))
    closed = Appeal.objects.filter(status=Status.CLOSED, closed_at__range=window).exclude(Exists(reviewed))
    picked = [a for a in closed.iterator(chunk_size=2000) if _sampled(a, settings.YINGSHANG_APPEAL_REVIEW_RATE)]
    with transaction.atomic():  # the sample and its announcement together
        AppealReview.objects.bulk_create([AppealReview(appeal=a, round=a.round, sampled_at=now) for a in picked],
                                         ignore_conflicts=True)
        _notify_sampled(picked, now)
    return len(picked)


def _notify_sampled(picked: list[Appeal], now: dt.datetime) -> None:
    """One message per region to its dispatchers: how many cases await 回头看."""
    from yingshang.core.notify import do_notify

    by_region: dict[str, list[Appeal]] = {}
    for appeal in picked:
        by_region.setdefault(appeal.region_id, []).append(appeal)
    today = timezone.localdate(now)
    for region, cases in by_region.items():
        do_notify(dispatchers_for(cases[0]), key=f"appeal-review:{region}:{today:%Y%m%d}", category="appeal",
                  title=f"{len(cases)} 件已办结诉求待回头看", link="/appeals/reviews/",
                  body="、".join(a.number for a in cases[:20]) + (" 等" if len(cases) > 20 else ""))


# ---------------------------------------------------------------- the rating window
def rating_deadline(now: dt.datetime) -> dt.datetime:
    """Cases replied before this moment have had their whole rating window (setting, calendar days)."""
    return now - dt.timedelta(days=settings.YINGSHANG_APPEAL_RATING_DAYS)


def close_unrated_due(now: dt.datetime | None = None, batch: int = 500) -> int:
    """Close the replied cases whose rating window ran out, with the default rating; the number closed."""
    from yingshang.appeals.actions_handling import close_unrated

    ids = list(Appeal.objects.filter(status=Status.REPLIED, replied_at__lt=rating_deadline(now or timezone.now()))
               .order_by("replied_at").values_list("pk", flat=True)[:batch])
    closed = 0
    for pk in ids:
        with transaction.atomic():
            appeal = lock(pk)
            if appeal.status != Status.REPLIED:  # rated meanwhile
                continue
            days = settings.YINGSHANG_APPEAL_RATING_DAYS
            close_unrated(appeal, None, f"答复后 {days} 天内未评价,按默认评价办结")
            closed += 1
    return closed


def do_read_attachment(actor, appeal, attachment_id: int) -> AppealAttachment:
    """An attachment of a case the actor may read; a staff read is audited (it may hold personal data)."""
    access.access_appeal_read(actor, appeal)
    found = appeal.attachments.filter(pk=attachment_id).first()
    if found is None:
        raise NotFound(f"诉求 {appeal.number} 没有编号为 {attachment_id} 的附件")
    if not access.sees_contact_plainly(actor, appeal) and found.uploaded_by_id != actor.pk:
        audit.record(actor, AuditAction.READ_PERSONAL, appeal, changes={"attachment": found.name},
                     reason="下载诉求附件")
    return found
