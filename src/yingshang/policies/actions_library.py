"""Writes to the policy library: documents, attachments, items and the item life cycle.

Life cycle: draft → review → published → suspended ⇄ published; published/suspended → expired (job).
A rejected review goes back to draft. Every write runs under ``transaction.atomic``, appends an audit
row, keeps ``search_text`` in step and, for published items whose eligibility changed, queues
``"policies.match_item"`` after commit. Field checks answer ``ValidationFailed`` with a Chinese message
naming each field; an illegal transition answers ``Conflict``.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from yingshang import jobs
from yingshang.core import audit
from yingshang.core.errors import Conflict, ValidationFailed, shorten
from yingshang.core.models import AuditAction, Department, Region, Role, User
from yingshang.core.notify import do_notify
from yingshang.policies import access, search
from yingshang.policies.models import (AllocationRule, BenefitType, ItemReview, ItemStatus, Mode, PolicyAttachment,
                                       PolicyDocument, PolicyItem)

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


# ---------------------------------------------------------------- field checks
DOCUMENT_FIELDS = ("title", "doc_number", "issuers", "departments", "published_on", "effective_from", "expires_on",
                   "region", "source_url", "full_text")
ITEM_FIELDS = ("code", "title", "summary", "benefit_type", "mode", "department", "window_start", "window_end",
               "materials", "budget", "allocation", "amount_formula", "amount_floor", "amount_cap", "amount_note",
               "clause", "keywords", "rule", "params")
DOCUMENT_REQUIRED = {"title", "issuers"}
ITEM_REQUIRED = {"title", "benefit_type", "department"}
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_MONEY = Decimal("100000000000000")  # 10^14 元: MONEY has 16 digits, 2 of them decimals
MAX_MATERIALS = 50
DOC_AUDIT = [f if f != "region" else "region_id" for f in DOCUMENT_FIELDS if f != "departments"] + ["departments"]
ITEM_AUDIT = [f if f != "department" else "department_id" for f in ITEM_FIELDS] + ["status", "revision"]
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
ATTACHMENT_TYPES = {".pdf", ".ofd", ".doc", ".docx", ".wps", ".xls", ".xlsx", ".et", ".txt", ".jpg", ".jpeg",
                    ".png", ".zip"}


def label(name: str) -> str:
    """The Chinese name of a document or item field, for messages."""
    for model in (PolicyItem, PolicyDocument):
        try:
            return str(model._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:
            continue
    return {"reason": "原因", "document": "政策文件"}.get(name, name)


def fail(errors: dict[str, str], what: str = "政策事项") -> ValidationFailed:
    """One ValidationFailed naming every field with its reason."""
    summary = ";".join(f"{label(k)}: {v}" for k, v in errors.items())
    return ValidationFailed(f"{what}信息有误 — {summary}", fields=errors)


def _text(field, raw) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValueError("应为文本")
    if "\x00" in raw:
        raise ValueError("不能包含空字符")
    value = raw.strip()
    if field.max_length and len(value) > field.max_length:
        raise ValueError(f"过长(最多 {field.max_length} 个字符)")
    if value and field.choices and value not in {str(c[0]) for c in field.choices}:
        raise ValueError("应为 " + "、".join(f"{c[0]}({c[1]})" for c in field.choices) + " 之一")
    if value and isinstance(field, models.URLField):
        try:
            URLValidator(schemes=["http", "https"])(value)
        except DjangoValidationError:
            raise ValueError("不是有效的网址(应以 http:// 或 https:// 开头)") from None
    return value


def _money(raw) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
        raise ValueError("应为数字")
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"“{shorten(str(raw))}”不是数字") from None
    if not value.is_finite():
        raise ValueError("应为有限的数字")
    if value < 0:
        raise ValueError("不能为负数")
    if value >= MAX_MONEY:
        raise ValueError("数值过大")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("金额最多两位小数(单位:元)")
    return value.quantize(Decimal("0.01"))


def _date(raw) -> dt.date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if not isinstance(raw, str) or not _DATE.match(raw.strip()):
        raise ValueError("应为日期 YYYY-MM-DD")
    try:
        value = dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"“{shorten(raw)}”不是有效的日期") from None
    if not 1949 <= value.year <= 2100:
        raise ValueError("年份应在 1949–2100 之间")
    return value


def parse_json(raw, kind: type, what: str):
    """A JSON value (or its text, as typed into a form) of type ``kind``; ValueError with a Chinese reason."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else kind()
        except json.JSONDecodeError as exc:
            raise ValueError(f"不是合法的 JSON(第 {exc.lineno} 行第 {exc.colno} 列)") from None
    if raw is None:
        return kind()
    if not isinstance(raw, kind):
        raise ValueError(f"应为{what}")
    return raw


def _materials(raw) -> list[dict]:
    items = [] if raw is None else raw
    if not isinstance(items, list):
        raise ValueError('应为列表,如 [{"name": "营业执照", "required": true}]')
    if len(items) > MAX_MATERIALS:
        raise ValueError(f"最多 {MAX_MATERIALS} 项")
    out = []
    for i, entry in enumerate(items, 1):
        entry = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise ValueError(f"第 {i} 项应为带 name(材料名称)的对象")
        if set(entry) - {"name", "required", "note"}:
            raise ValueError(f"第 {i} 项含有不可识别的键:{'、'.join(sorted(set(entry) - {'name', 'required', 'note'}))}")
        required, note = entry.get("required", True), entry.get("note", "")
        if not isinstance(required, bool) or not isinstance(note, str):
            raise ValueError(f"第 {i} 项的 required 应为 true/false,note 应为文本")
        if len(entry["name"].strip()) > 200 or len(note) > 200:
            raise ValueError(f"第 {i} 项过长(名称和说明最多 200 个字符)")
        out.append({"name": entry["name"].strip(), "required": required, **({"note": note.strip()} if note else {})})
    return out


def _department(raw) -> Department | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, Department):
        return raw
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ValueError("应为单位代码")
    text = str(raw).strip()
    found = Department.objects.filter(code=text).first()
    if found is None and text.isdigit() and len(text) < 18:
        found = Department.objects.filter(pk=int(text)).first()
    if found is None:
        raise ValueError(f"单位“{shorten(text)}”不存在")
    return found


def _region(raw) -> Region | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, Region):
        return raw
    found = Region.objects.filter(code=str(raw).strip()).first() if isinstance(raw, str) else None
    if found is None:
        raise ValueError(f"区划代码“{shorten(str(raw))}”不存在")
    return found


def _departments(raw) -> list[Department]:
    if raw in (None, ""):
        return []
    values = raw.split() if isinstance(raw, str) else raw
    if not isinstance(values, (list, tuple)):
        raise ValueError("应为单位代码的列表")
    return [_department(v) for v in values if v not in (None, "")]


def _code(raw) -> str:
    value = _text(PolicyItem._meta.get_field("code"), raw)
    if value and not _CODE.match(value):
        raise ValueError("只能由字母、数字、点、横线和下划线组成,以字母或数字开头(最多 40 个字符)")
    return value


_SPECIAL = {"department": _department, "region": _region, "departments": _departments, "code": _code,
            "rule": lambda raw: parse_json(raw, dict, "对象(JSON object)"),
            "params": lambda raw: parse_json(raw, dict, "对象(JSON object)"), "materials": _materials}


def _clean_one(model, name: str, raw):
    if name in _SPECIAL:
        return _SPECIAL[name](raw)
    field = model._meta.get_field(name)
    if isinstance(field, models.DecimalField):
        return _money(raw)
    if isinstance(field, models.DateField):
        return _date(raw)
    return _text(field, raw)


def _clean(model, names, required, data: dict, partial: bool, what: str) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed(f"{what}信息有误 — 应为对象")
    errors = {str(k): "不是可识别的字段" for k in data if k not in names}
    clean: dict[str, Any] = {}
    for name in names:
        if name not in data:
            if not partial and name in required:
                errors[name] = "必填"
            continue
        try:
            value = _clean_one(model, name, data[name])
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if name in required and value in (None, "", []):
            errors[name] = "必填"
        else:
            clean[name] = value
    if errors:
        raise fail(errors, what)
    return clean


def clean_document(data: dict, *, partial: bool) -> dict:
    """Checked document values (model attribute names; ``departments`` a list of Department)."""
    clean = _clean(PolicyDocument, DOCUMENT_FIELDS, DOCUMENT_REQUIRED, data, partial, "政策文件")
    start, end = clean.get("effective_from"), clean.get("expires_on")
    if start and end and start > end:
        raise fail({"expires_on": f"有效期至({end})不能早于施行日期({start})"}, "政策文件")
    return clean


def clean_item(data: dict, *, partial: bool) -> dict:
    """Checked item values (model attribute names; ``department`` a Department)."""
    clean = _clean(PolicyItem, ITEM_FIELDS, ITEM_REQUIRED, data, partial, "政策事项")
    for name, default in (("mode", Mode.APPLY), ("allocation", AllocationRule.ORDER)):
        if name in clean and not clean[name]:
            clean[name] = default
    return clean


def validate_attachment(upload, name: str = "") -> str:
    """The attachment's display name, after checking its size and type."""
    errors = {}
    filename = getattr(upload, "name", "") or ""
    suffix = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    if upload is None or not getattr(upload, "size", 0):
        errors["file"] = "请选择文件(文件不能为空)"
    elif upload.size > ATTACHMENT_MAX_BYTES:
        errors["file"] = f"文件过大({upload.size / 1048576:.1f} MB),最大 {ATTACHMENT_MAX_BYTES // 1048576} MB"
    elif suffix not in ATTACHMENT_TYPES:
        errors["file"] = "文件类型不支持,允许:" + "、".join(sorted(t.lstrip(".") for t in ATTACHMENT_TYPES))
    name = (name or filename).strip()[:200]
    if errors:
        raise ValidationFailed("附件有误 — " + ";".join(errors.values()), fields=errors)
    return name


# ---------------------------------------------------------------- documents
def do_create_document(actor, data: dict[str, Any]) -> PolicyDocument:
    """Create a policy document (政策文件) from raw data."""
    access.access_document_write(actor)
    clean = clean_document(data, partial=False)
    with transaction.atomic():
        now = timezone.now()
        doc = PolicyDocument(created_by=actor, created_at=now, updated_at=now)
        departments = clean.pop("departments", [])
        for key, value in clean.items():
            setattr(doc, key, value)
        doc.save(force_insert=True)
        doc.departments.set(departments)
        audit.record(actor, AuditAction.CREATE, doc, changes=audit.diff({}, _doc_state(doc)))
    return doc


def do_update_document(actor, doc: PolicyDocument, data: dict[str, Any]) -> PolicyDocument:
    """Change a document's fields (only those given). A new title/文号 re-indexes its items; a new
    region re-matches its published items."""
    access.access_document_write(actor, doc)
    clean = clean_document(data, partial=True)
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
        att = PolicyAttachment(document=doc, name=name, uploaded_by=actor, uploaded_at=timezone.now())
        att.file.save(upload.name, upload, save=False)
        att.save(force_insert=True)
        audit.record(actor, AuditAction.UPDATE, doc, changes={"attachments": [None, name]},
                     reason=f"上传附件 {name}")
    return att


# ---------------------------------------------------------------- items: create and update
def tag_names() -> dict[str, str]:
    from yingshang.enterprises.models import Tag

    return dict(Tag.objects.values_list("code", "name"))


def _check_engine(clean: dict, item: PolicyItem | None) -> None:
    """The rule, its parameters and the amount formula, checked by the engine (precise messages)."""
    from yingshang.policies.engine import amounts, rules

    rule = clean.get("rule", item.rule if item else {})
    params = clean.get("params", item.params if item else {})
    formula = clean.get("amount_formula", item.amount_formula if item else "")
    errors: dict[str, str] = {}
    for name, check in (("params", lambda: rules.check_params(params)),
                        ("rule", lambda: rules.check_rule(rule, params, tags=tag_names())),
                        ("amount_formula", lambda: amounts.check_formula(formula, params))):
        if name != "params" and "params" in errors:
            continue  # references to parameters cannot be judged against broken parameters
        try:
            check()
        except rules.RuleError as exc:
            errors[name] = f"{exc.path}:{exc.message}" if getattr(exc, "path", "") else exc.message
    if errors:
        raise fail(errors)


def _cross_checks(clean: dict, item: PolicyItem | None) -> None:
    """Checks across fields: window start ≤ end, floor ≤ cap."""
    def value(name):
        return clean[name] if name in clean else (getattr(item, name) if item else None)

    errors = {}
    start, end = value("window_start"), value("window_end")
    if start and end and start > end:
        errors["window_end"] = f"申报截止({end})不能早于申报开始({start})"
    floor, cap = value("amount_floor"), value("amount_cap")
    if floor is not None and cap is not None and floor > cap:
        errors["amount_cap"] = f"金额上限({cap})不能低于金额下限({floor})"
    if errors:
        raise fail(errors)


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
    clean = clean_item(data, partial=False)
    access.access_policy_write(actor, department=clean["department"])
    _cross_checks(clean, None)
    _check_engine(clean, None)
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
    clean = clean_item(data, partial=True)
    if "department" in clean:
        access.access_policy_write(actor, department=clean["department"])
    _cross_checks(clean, item)
    if any(name in clean for name in ("rule", "params", "amount_formula")):
        _check_engine(clean, item)
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
        from yingshang.policies.actions_redemption import committed_amount

        committed = committed_amount(item.pk)
        if Decimal(clean["budget"]) < committed:
            raise ValidationFailed(f"budget: 预算不能低于已确认/已批准的金额 {committed:.2f} 元",
                                   fields={"budget": f"不能低于已确认/已批准的金额 {committed:.2f} 元"})
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
