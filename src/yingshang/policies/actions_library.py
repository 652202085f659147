"""Writes to the policy library: documents, attachments, items and the item life cycle.

Life cycle: draft → review → published → suspended ⇄ published; published/suspended → expired (job).
A rejected review goes back to draft. Every write runs under ``transaction.atomic``, appends an audit
row, keeps ``search_text`` in step and, for published items whose eligibility changed, queues
``"policies.match_item"`` after commit. Field checks answer ``ValidationFailed`` with a Chinese message
naming each field; an illegal transition answers ``Conflict``.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from yingshang import jobs
from yingshang.core import audit
from yingshang.core.errors import Conflict, ValidationFailed, shorten
from yingshang.core.models import AuditAction, Department, Role, User
from yingshang.core.notify import do_notify
from yingshang.policies import access, search
# Checks live in library_checks; the names other modules use are re-exported here.
from yingshang.policies.library_checks import (ATTACHMENT_MAX_BYTES, ATTACHMENT_TYPES, DOC_AUDIT,  # noqa: F401
                                               ITEM_AUDIT, _budget_error, check_item, clean_document, fail, label,
                                               parse_json, tag_names, validate_attachment)
from yingshang.policies.models import ItemReview, ItemStatus, PolicyAttachment, PolicyDocument, PolicyItem

MATCH_JOB = "policies.match_item"
# Changing one of these changes who qualifies, how much, or how it is delivered (mode: 免申即享 items get
# redemptions; benefit_type: only payable ones do): new revision, re-match when published.
MATCHING_FIELDS = ("rule", "params", "amount_formula", "amount_floor", "amount_cap", "mode", "benefit_type")
EDITABLE_STATUSES = {ItemStatus.DRAFT, ItemStatus.PUBLISHED, ItemStatus.SUSPENDED}
LIVE_STATUSES = (ItemStatus.PUBLISHED, ItemStatus.SUSPENDED)


def _doc_state(doc: PolicyDocument) -> dict:
    state = audit.snapshot(doc, [f for f in DOC_AUDIT if f != "departments"])
    state["departments"] = sorted(doc.departments.values_list("code", flat=True)) if doc.pk else []
    return state


def _enqueue_match(item: PolicyItem, reason: str) -> None:
    jobs.enqueue_on_commit(MATCH_JOB, item.pk, reason)


def _status_label(status: str) -> str:
    return str(ItemStatus(status).label)


# ---------------------------------------------------------------- documents
def do_create_document(actor, data: dict[str, Any], upload=None, upload_name: str = "") -> PolicyDocument:
    """Create a policy document (政策文件) from raw data, with an optional attachment: all or nothing."""
    access.access_document_write(actor)
    clean = clean_document(data, partial=False, upload=upload, upload_name=upload_name)
    attachment = clean.pop("_attachment", None)
    with transaction.atomic():
        now = timezone.now()
        doc = PolicyDocument(created_by=actor, created_at=now, updated_at=now)
        departments = clean.pop("departments", [])
        for key, value in clean.items():
            setattr(doc, key, value)
        doc.save(force_insert=True)
        doc.departments.set(departments)
        audit.record(actor, AuditAction.CREATE, doc, changes=audit.diff({}, _doc_state(doc)))
        if upload is not None:
            _attach(actor, doc, upload, attachment)
    return doc


def do_update_document(actor, doc: PolicyDocument, data: dict[str, Any], upload=None,
                       upload_name: str = "") -> PolicyDocument:
    """Change a document's fields (only those given), with an optional attachment: all or nothing. A new
    title/文号 re-indexes its items; a new region re-matches its published items."""
    access.access_document_write(actor, doc)
    clean = clean_document(data, partial=True, upload=upload, upload_name=upload_name)
    attachment = clean.pop("_attachment", None)
    with transaction.atomic():
        doc = PolicyDocument.objects.select_for_update().get(pk=doc.pk)
        before = _doc_state(doc)
        departments = clean.pop("departments", None)
        for key, value in clean.items():
            setattr(doc, key, value)
        doc.updated_at = timezone.now()
        doc.save()
        if departments is not None:
            doc.departments.set(departments)
        changes = audit.diff(before, _doc_state(doc))
        if changes:
            audit.record(actor, AuditAction.UPDATE, doc, changes=changes)
            _after_document_change(actor, doc, changes)
        if upload is not None:
            _attach(actor, doc, upload, attachment)
    return doc


def _after_document_change(actor, doc: PolicyDocument, changes: dict) -> None:
    if "title" in changes or "doc_number" in changes:
        for item in doc.items.all():
            PolicyItem.objects.filter(pk=item.pk).update(search_text=search.item_text(item))
    if "region_id" in changes or "expires_on" in changes:
        # The region bounds who qualifies: results computed for the old region are stale.
        for item in doc.items.filter(status__in=LIVE_STATUSES):
            PolicyItem.objects.filter(pk=item.pk).update(revision=item.revision + 1, updated_at=timezone.now())
            audit.record(actor, AuditAction.UPDATE, item, changes={"revision": [item.revision, item.revision + 1]},
                         reason="所属政策文件的适用区划或有效期变更")
            if item.status == ItemStatus.PUBLISHED:
                _enqueue_match(item, "change")


def do_add_attachment(actor, doc: PolicyDocument, upload, name: str = "") -> PolicyAttachment:
    """Attach a file (PDF, OFD, Word, Excel, WPS, image or zip; at most 20 MB) to a document."""
    access.access_document_write(actor, doc)
    name = validate_attachment(upload, name)
    with transaction.atomic():
        return _attach(actor, doc, upload, name)


def _attach(actor, doc: PolicyDocument, upload, name: str) -> PolicyAttachment:
    att = PolicyAttachment(document=doc, name=name, uploaded_by=actor, uploaded_at=timezone.now())
    att.file.save(upload.name, upload, save=False)
    att.save(force_insert=True)
    audit.record(actor, AuditAction.UPDATE, doc, changes={"attachments": [None, name]}, reason=f"上传附件 {name}")
    return att


def _new_code(department: Department) -> str:
    """A fresh item code like ``SCJG-2025-007`` (random suffix if that range is crowded)."""
    stem = f"{department.code[:24]}-{timezone.localdate():%Y}-"
    used = PolicyItem.objects.filter(code__startswith=stem).count()
    for n in range(used + 1, used + 50):
        code = f"{stem}{n:03d}"
        if not PolicyItem.objects.filter(code=code).exists():
            return code
    return stem + secrets.token_hex(4).upper()


def _code_taken(code: str, item: PolicyItem | None = None) -> Conflict:
    return Conflict(f"事项编码“{shorten(code)}”已被使用,请换一个或留空自动生成", fields={"code": "事项编码已被使用"})


def _ensure_code_free(code: str, item: PolicyItem | None) -> None:
    qs = PolicyItem.objects.filter(code=code)
    if item is not None:
        qs = qs.exclude(pk=item.pk)
    if qs.exists():
        raise _code_taken(code)


def do_create_item(actor, document: PolicyDocument, data: dict[str, Any]) -> PolicyItem:
    """Create a draft item of a document; the department defaults to the officer's own."""
    access.access_policy_write(actor)
    data = dict(data)
    if not data.get("department") and getattr(actor, "department_id", None):
        data["department"] = actor.department_id
    clean = check_item(data, None)
    access.access_policy_write(actor, department=clean["department"])
    clean["code"] = clean.get("code") or _new_code(clean["department"])
    _ensure_code_free(clean["code"], None)
    try:
        with transaction.atomic():
            return _insert_item(actor, document, clean)
    except IntegrityError:  # a concurrent create took the code between the check and the insert
        raise _code_taken(clean["code"]) from None


def _insert_item(actor, document: PolicyDocument, clean: dict) -> PolicyItem:
    now = timezone.now()
    item = PolicyItem(document=document, created_by=actor, created_at=now, updated_at=now, status=ItemStatus.DRAFT)
    for key, value in clean.items():
        setattr(item, key, value)
    item.search_text = search.item_text(item)
    item.save(force_insert=True)
    audit.record(actor, AuditAction.CREATE, item, changes=audit.diff({}, audit.snapshot(item, ITEM_AUDIT)))
    return item


def do_update_item(actor, item: PolicyItem, data: dict[str, Any]) -> PolicyItem:
    """Change an item's fields (only those given). A change of rule, parameters, amount, mode or benefit
    type bumps the revision; on a published item it re-matches after commit."""
    access.access_policy_write(actor, item)
    clean = check_item(data, item)
    if "department" in clean:
        access.access_policy_write(actor, department=clean["department"])
    if clean.get("code"):
        _ensure_code_free(clean["code"], item)
    if "code" in clean and not clean["code"]:
        del clean["code"]  # a blank code on update keeps the current one
    try:
        with transaction.atomic():
            return _apply_update(actor, item, clean)
    except IntegrityError:
        raise _code_taken(clean.get("code", "")) from None


def _apply_update(actor, item: PolicyItem, clean: dict) -> PolicyItem:
    item = PolicyItem.objects.select_for_update().select_related("document").get(pk=item.pk)
    if item.status not in EDITABLE_STATUSES:
        raise Conflict(f"{_status_label(item.status)}的政策事项不能修改"
                       + ("(请先由审核人退回)" if item.status == ItemStatus.REVIEW else ""))
    if clean.get("budget") is not None:  # checked under the item lock that confirmations and approvals take
        reason = _budget_error(item, clean["budget"])
        if reason:
            raise fail({"budget": reason})
    before = audit.snapshot(item, ITEM_AUDIT)
    for key, value in clean.items():
        setattr(item, key, value)
    changed = audit.diff(before, audit.snapshot(item, ITEM_AUDIT))
    if not changed:
        return item
    if any(name in changed for name in MATCHING_FIELDS):
        item.revision += 1
    item.search_text = search.item_text(item)
    item.updated_at = timezone.now()
    item.save()
    audit.record(actor, AuditAction.UPDATE, item, changes=audit.diff(before, audit.snapshot(item, ITEM_AUDIT)))
    if item.status == ItemStatus.PUBLISHED and item.revision != before["revision"]:
        _enqueue_match(item, "change")
    return item


# ---------------------------------------------------------------- items: life cycle
def _transition(actor, item: PolicyItem, allowed: tuple, new: str, reason: str = "", **extra) -> PolicyItem:
    """Move a locked item from one of ``allowed`` to ``new`` and audit it; Conflict otherwise."""
    locked = PolicyItem.objects.select_for_update().get(pk=item.pk)
    if locked.status not in allowed:
        names = "、".join(_status_label(s) for s in allowed)
        raise Conflict(f"当前状态为“{_status_label(locked.status)}”,只有{names}的政策事项可以"
                       f"{_VERBS.get(new, '变更为' + _status_label(new))}")
    old = locked.status
    locked.status, locked.updated_at = new, timezone.now()
    for key, value in extra.items():
        setattr(locked, key, value)
    locked.save(update_fields=["status", "updated_at", *extra])
    entry = audit.record(actor, AuditAction.TRANSITION, locked, changes={"status": [old, new]}, reason=reason)
    locked._audit_entry = entry
    return locked


_VERBS = {ItemStatus.REVIEW: "提交审核", ItemStatus.PUBLISHED: "发布", ItemStatus.SUSPENDED: "暂停",
          ItemStatus.EXPIRED: "设为失效", ItemStatus.DRAFT: "退回"}


def _reason(reason: str | None, required: bool, what: str) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationFailed(f"请填写{what}原因", fields={"reason": "必填"})
    if len(reason) > 500:
        raise ValidationFailed(f"{what}原因过长(最多 500 个字符)", fields={"reason": "过长(最多 500 个字符)"})
    return reason


def _department_reviewers(item: PolicyItem, exclude: int | None):
    return User.objects.filter(department_id=item.department_id, is_active=True,
                               role__in=[Role.POLICY_OFFICER, Role.DEPT_LEADER]).exclude(pk=exclude)


def do_submit_item(actor, item: PolicyItem) -> PolicyItem:
    """Submit a draft for review (draft → review); the department's reviewers are notified."""
    access.access_policy_write(actor, item)
    with transaction.atomic():
        item = _transition(actor, item, (ItemStatus.DRAFT,), ItemStatus.REVIEW)
        do_notify(_department_reviewers(item, actor.pk), key=f"policy-submit:{item._audit_entry.pk}",
                  title=f"政策事项待审核:{item.title}"[:200], link=f"/policies/items/{item.pk}/",
                  category="policy_review")
    return item


def do_review_item(actor, item: PolicyItem, approve: bool, reason: str = "") -> PolicyItem:
    """Approve (review → published, matching queued) or reject (review → draft, reason required)."""
    access.access_policy_review(actor, item)
    reason = _reason(reason, not approve, "退回")
    submitter = access.submitter_id(item)
    with transaction.atomic():
        if approve:
            _check_publishable(item)
            item = _transition(actor, item, (ItemStatus.REVIEW,), ItemStatus.PUBLISHED, reason,
                               published_at=timezone.now())
            _enqueue_match(item, "publish")
        else:
            item = _transition(actor, item, (ItemStatus.REVIEW,), ItemStatus.DRAFT, reason)
        ItemReview.objects.create(item=item, decision="approve" if approve else "reject", reason=reason,
                                  reviewer=actor)
        if submitter:
            verdict = "已通过审核并发布" if approve else "被退回"
            do_notify(list(User.objects.filter(pk=submitter)), key=f"policy-review:{item._audit_entry.pk}",
                      title=f"政策事项{verdict}:{item.title}"[:200], body=reason,
                      link=f"/policies/items/{item.pk}/", category="policy_review")
    return item


def _check_publishable(item: PolicyItem, today: dt.date | None = None) -> None:
    today = today or timezone.localdate()
    if item.window_end and item.window_end < today:
        raise Conflict(f"申报截止日期 {item.window_end} 已过,不能发布;请先修改申报期",
                       fields={"window_end": "已过期"})
    expires = PolicyDocument.objects.filter(pk=item.document_id).values_list("expires_on", flat=True).first()
    if expires and expires < today:
        raise Conflict(f"所属政策文件已于 {expires} 失效,不能发布", fields={"document": "政策文件已失效"})


def _access_manage(actor, item: PolicyItem) -> None:
    """Suspend/resume: the item's writers and its department head (no four-eyes: stopping is always allowed)."""
    if getattr(actor, "role", None) == Role.DEPT_LEADER and actor.department_id == item.department_id:
        return
    access.access_policy_write(actor, item)


def do_suspend_item(actor, item: PolicyItem, reason: str) -> PolicyItem:
    """Suspend a published item (published → suspended); a reason is required."""
    _access_manage(actor, item)
    reason = _reason(reason, True, "暂停")
    with transaction.atomic():
        return _transition(actor, item, (ItemStatus.PUBLISHED,), ItemStatus.SUSPENDED, reason)


def do_resume_item(actor, item: PolicyItem, reason: str = "") -> PolicyItem:
    """Resume a suspended item (suspended → published); re-matches after commit."""
    _access_manage(actor, item)
    reason = _reason(reason, False, "恢复")
    with transaction.atomic():
        _check_publishable(item)
        item = _transition(actor, item, (ItemStatus.SUSPENDED,), ItemStatus.PUBLISHED, reason)
        _enqueue_match(item, "change")
    return item


def do_expire_items(today: dt.date | None = None) -> int:
    """Expire published/suspended items whose window closed or whose document expired before ``today``.

    Safe to run concurrently: rows are locked and re-checked, so each item is expired and audited once."""
    from django.db.models import Q

    today = today or timezone.localdate()
    due = PolicyItem.objects.filter(status__in=LIVE_STATUSES).filter(
        Q(window_end__lt=today) | Q(document__expires_on__lt=today))
    with transaction.atomic():
        rows = list(PolicyItem.objects.select_for_update().filter(pk__in=list(due.values_list("pk", flat=True)),
                                                                   status__in=LIVE_STATUSES)
                    .values_list("pk", "status", "title"))
        if not rows:
            return 0
        PolicyItem.objects.filter(pk__in=[r[0] for r in rows]).update(status=ItemStatus.EXPIRED,
                                                                       updated_at=timezone.now())
        audit.record_bulk(None, AuditAction.TRANSITION,
                          [(PolicyItem._meta.label_lower, str(pk), title, {"status": [status, ItemStatus.EXPIRED]})
                           for pk, status, title in rows], reason=f"申报期或政策文件有效期已于 {today} 前届满")
    return len(rows)


__all__ = ["do_create_document", "do_update_document", "do_add_attachment", "do_create_item", "do_update_item",
           "do_submit_item", "do_review_item", "do_suspend_item", "do_resume_item", "do_expire_items"]
