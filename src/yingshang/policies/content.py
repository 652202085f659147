"""Loading policy content files (``policies/data/*.json``) into documents and items.

File format::

    {"title": …, "notice": …, "documents": [
        {"title", "doc_number", "issuers", "published_on", "effective_from", "expires_on",
         "region" (GB/T 2260 code or null = nationwide), "source_url", "full_text",
         "departments" (local issuing departments, codes), "items": [
            {"code" (stable, unique), "title", "summary", "benefit_type", "mode", "department",
             "window_start", "window_end", "materials", "budget", "allocation", "amount_formula",
             "amount_floor", "amount_cap", "amount_note", "clause", "keywords", "rule", "params"}]}]}

Department codes are those of ``seeding/org.py``: a city suffix such as ``"SWU"`` means ``411600-SWU``
(the demo city's), a full code such as ``"411621-YSB"`` is taken as it is. When neither exists (a test
organisation, another city), the item falls back to the department that usually answers for its benefit
type (tax → 税务局, subsidy → 财政局, …), then to the 营商办, and the fallback is reported as a warning.

Writes go through the ORM in ONE transaction, not through ``actions_library``: a content file is curated
content applied as a whole (all or nothing, validated completely before the first write); its items are
published directly rather than through the officers' draft → review workflow, and items whose window or
document already ended are stored as expired, which that workflow (rightly) refuses to publish. Loading
is idempotent by item code: a second run finds every row unchanged and writes nothing. Each created or
changed document and item gets an audit row, ``search_text`` is kept in step with ``policies.search``,
an item's revision goes up when its rule, parameters or amount change, and published items that are new
or changed are queued for the ``"policies.match_item"`` job after commit (when ``match`` is true).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from yingshang.core import audit
from yingshang.core.errors import ValidationFailed, shorten
from yingshang.core.models import AuditAction, Department, Region, Role, User
from yingshang.policies.models import (AllocationRule, BenefitType, ItemStatus, Mode, PolicyDocument, PolicyItem)

DATA_DIR = Path(__file__).parent / "data"
NATIONAL = DATA_DIR / "national.json"
LOCAL = DATA_DIR / "local.json"
DEMO_CITY = "411600"
# Who usually answers for a benefit type when the item's own department does not exist.
FALLBACK_DEPARTMENTS = {"tax": "SWU", "subsidy": "CZJ", "loan_interest": "RSJ", "qualification": "KJJ",
                        "service": "YSB"}
MATCHING_FIELDS = ("rule", "params", "amount_formula", "amount_floor", "amount_cap")
DOC_FIELDS = ("title", "doc_number", "issuers", "published_on", "effective_from", "expires_on", "region_id",
              "source_url", "full_text")
ITEM_FIELDS = ("document_id", "title", "summary", "benefit_type", "mode", "department_id", "window_start",
               "window_end", "materials", "budget", "allocation", "amount_formula", "amount_floor", "amount_cap",
               "amount_note", "clause", "keywords", "rule", "params")
MATCH_JOB = "policies.match_item"


@dataclass
class LoadResult:
    """What one load did (counts per kind of row) and what it had to guess (warnings)."""

    documents_created: int = 0
    documents_updated: int = 0
    documents_unchanged: int = 0
    items_created: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    codes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)  # item ids queued for matching

    def merge(self, other: "LoadResult") -> "LoadResult":
        for name in ("documents_created", "documents_updated", "documents_unchanged", "items_created",
                     "items_updated", "items_unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.codes += other.codes
        self.warnings += other.warnings
        self.queued += other.queued
        return self

    def summary(self) -> str:
        return (f"政策文件 新增 {self.documents_created}、更新 {self.documents_updated}、未变 {self.documents_unchanged};"
                f"政策事项 新增 {self.items_created}、更新 {self.items_updated}、未变 {self.items_unchanged}")


# ---------------------------------------------------------------- reading and checking a file
def read_file(path) -> dict:
    """The parsed JSON of a content file; ValidationFailed naming the file and the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationFailed(f"找不到政策内容文件 {path}", fields={"file": "文件不存在"}) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"无法读取政策内容文件 {path}:{exc}", fields={"file": "无法读取"}) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{path.name} 不是合法的 JSON(第 {exc.lineno} 行第 {exc.colno} 列)",
                               fields={"file": "JSON 格式错误"}) from None


class _Bad(Exception):
    """One field problem; the caller adds where it is."""

    def __init__(self, name: str, reason: str):
        super().__init__(reason)
        self.name, self.reason = name, reason


def _text(raw: dict, name: str, limit: int, required: bool = False) -> str:
    value = raw.get(name)
    value = "" if value is None else value
    if not isinstance(value, str):
        raise _Bad(name, f"应为文本,收到 {shorten(json.dumps(value, ensure_ascii=False))}")
    value = value.strip()
    if required and not value:
        raise _Bad(name, "必填")
    if len(value) > limit:
        raise _Bad(name, f"过长(最多 {limit} 个字符,实际 {len(value)})")
    return value


def _date(raw: dict, name: str) -> dt.date | None:
    value = raw.get(name)
    if value in (None, ""):
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _Bad(name, f"日期 {shorten(str(value))} 不存在或格式不是 YYYY-MM-DD") from None


def _money(raw: dict, name: str) -> Decimal | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad(name, "应为金额数字(元)")
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise _Bad(name, f"金额 {shorten(str(value))} 不是数字") from None
    if amount < 0 or amount >= Decimal("1e14"):
        raise _Bad(name, f"金额 {value} 应在 0 到 10^14 元之间")
    return amount


def _choice(raw: dict, name: str, choices, default: str | None = None) -> str:
    value = raw.get(name, default)
    if value not in choices.values:
        allowed = "、".join(f"{c}({label})" for c, label in choices.choices)
        raise _Bad(name, f"取值 {shorten(str(value))} 无效,可选:{allowed}")
    return value


def _materials(raw: dict) -> list[dict]:
    value = raw.get("materials") or []
    if not isinstance(value, list):
        raise _Bad("materials", '应为列表 [{"name": 材料名称, "required": true}]')
    out = []
    for i, entry in enumerate(value, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise _Bad("materials", f"第 {i} 项应为 {{\"name\": 材料名称, \"required\": true/false}}")
        out.append({"name": entry["name"].strip()[:200], "required": bool(entry.get("required", True))})
    return out


def _engine_checks(item: dict, tags: dict) -> None:
    """The rule, its parameters and the amount formula, checked by the engine (its Chinese messages)."""
    from yingshang.policies.engine import amounts, rules

    for name, check in (("params", lambda: rules.check_params(item["params"])),
                        ("rule", lambda: rules.check_rule(item["rule"], item["params"], tags=tags)),
                        ("amount_formula", lambda: amounts.check_formula(item["amount_formula"], item["params"]))):
        try:
            check()
        except rules.RuleError as exc:
            raise _Bad(name, f"{exc.path}:{exc.message}" if exc.path else exc.message) from None


def clean_item(raw: Any, tags: dict) -> dict:
    """One item of a content file, checked and typed; raises _Bad naming the field."""
    if not isinstance(raw, dict):
        raise _Bad("item", "事项应为对象")
    item = {"code": _text(raw, "code", 40, True), "title": _text(raw, "title", 200, True),
            "summary": _text(raw, "summary", 20000), "benefit_type": _choice(raw, "benefit_type", BenefitType),
            "mode": _choice(raw, "mode", Mode, Mode.APPLY), "department": _text(raw, "department", 32),
            "window_start": _date(raw, "window_start"), "window_end": _date(raw, "window_end"),
            "materials": _materials(raw), "budget": _money(raw, "budget"),
            "allocation": _choice(raw, "allocation", AllocationRule, AllocationRule.ORDER),
            "amount_formula": _text(raw, "amount_formula", 500), "amount_floor": _money(raw, "amount_floor"),
            "amount_cap": _money(raw, "amount_cap"), "amount_note": _text(raw, "amount_note", 300),
            "clause": _text(raw, "clause", 20000), "keywords": _text(raw, "keywords", 200),
            "rule": raw.get("rule") or {}, "params": raw.get("params") or {}}
    if item["window_start"] and item["window_end"] and item["window_start"] > item["window_end"]:
        raise _Bad("window_end", f"申报截止({item['window_end']})不能早于申报开始({item['window_start']})")
    if item["amount_floor"] is not None and item["amount_cap"] is not None and item["amount_floor"] > item["amount_cap"]:
        raise _Bad("amount_cap", "金额上限不能低于金额下限")
    _engine_checks(item, tags)
    return item


def clean_document(raw: Any) -> dict:
    """One document of a content file (without its items), checked and typed; raises _Bad."""
    if not isinstance(raw, dict):
        raise _Bad("document", "政策文件应为对象")
    doc = {"title": _text(raw, "title", 200, True), "doc_number": _text(raw, "doc_number", 100),
           "issuers": _text(raw, "issuers", 200, True), "published_on": _date(raw, "published_on"),
           "effective_from": _date(raw, "effective_from"), "expires_on": _date(raw, "expires_on"),
           "region": _text(raw, "region", 12), "source_url": _text(raw, "source_url", 400),
           "full_text": _text(raw, "full_text", 200000), "departments": raw.get("departments") or []}
    if doc["source_url"] and not doc["source_url"].startswith(("http://", "https://")):
        raise _Bad("source_url", "原文链接应以 http:// 或 https:// 开头")
    if not isinstance(doc["departments"], list) or not all(isinstance(c, str) for c in doc["departments"]):
        raise _Bad("departments", "应为单位代码列表")
    if not isinstance(raw.get("items"), list) or not raw["items"]:
        raise _Bad("items", "每个政策文件至少应有一个事项")
    return doc


def parse_content(data: Any, source: str = "") -> list[tuple[dict, list[dict]]]:
    """[(document, [item, …]), …] of a whole file, or ValidationFailed at the first problem (with its place)."""
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise ValidationFailed(f"{source}应为 {{\"documents\": [...]}}", fields={"documents": "缺少政策文件列表"})
    tags = _tag_names()
    out, seen = [], set()
    for d, raw_doc in enumerate(data["documents"], 1):
        where = f"{source}第 {d} 个政策文件"
        doc = _clean_or_fail(clean_document, where, raw_doc)
        items = []
        for i, raw_item in enumerate(raw_doc["items"], 1):
            code = raw_item.get("code") if isinstance(raw_item, dict) else None
            item = _clean_or_fail(clean_item, f"{where}第 {i} 个事项({code or '无编码'})", raw_item, tags)
            if item["code"] in seen:
                raise ValidationFailed(f"{where}第 {i} 个事项:事项编码 {item['code']} 在文件中重复",
                                       fields={"code": "重复"})
            seen.add(item["code"])
            items.append(item)
        out.append((doc, items))
    return out


def _clean_or_fail(func, where: str, *args):
    try:
        return func(*args)
    except _Bad as bad:
        raise ValidationFailed(f"{where}:{bad.name}:{bad.reason}", fields={bad.name: bad.reason}) from None


def _tag_names() -> dict[str, str]:
    from yingshang.enterprises.models import Tag

    return dict(Tag.objects.values_list("code", "name"))


# ---------------------------------------------------------------- who and which department
def resolve_actor(actor=None) -> User:
    """The user recorded as 录入人: ``actor`` when it is a user, else the first active administrator."""
    if isinstance(actor, User):
        return actor
    admin = (User.objects.filter(is_active=True, is_superuser=True).order_by("id").first()
             or User.objects.filter(is_active=True, role=Role.ADMIN).order_by("id").first())
    if admin is None:
        raise ValidationFailed("没有可作为录入人的管理员账号:请先运行 yingshang seed 或 yingshang users 创建管理员",
                               fields={"actor": "无管理员"})
    return admin


class DepartmentIndex:
    """Department lookup by code with the documented fallbacks (see the module docstring)."""

    def __init__(self):
        self.by_code = {d.code: d for d in Department.objects.filter(is_active=True)}
        if not self.by_code:
            raise ValidationFailed("系统中还没有任何单位:请先运行 yingshang seed 写入组织机构",
                                   fields={"department": "无单位"})

    def find(self, code: str) -> Department | None:
        if not code:
            return None
        return self.by_code.get(code) or self.by_code.get(f"{DEMO_CITY}-{code}")

    def resolve(self, code: str, benefit_type: str, warnings: list[str], what: str) -> Department:
        found = self.find(code)
        if found is not None:
            return found
        for fallback in (FALLBACK_DEPARTMENTS.get(benefit_type, "YSB"), "YSB"):
            found = self.find(fallback)
            if found is not None:
                break
        found = found or self.by_code[min(self.by_code)]
        warnings.append(f"{what}:找不到单位“{code}”,改由 {found.name} 负责")
        return found


# ---------------------------------------------------------------- writing
def _status_for(item: dict, doc: PolicyDocument, today: dt.date) -> str:
    """Published, or expired when the window or the document already ended before ``today``."""
    ended = (item["window_end"] and item["window_end"] < today) or (doc.expires_on and doc.expires_on < today)
    return ItemStatus.EXPIRED if ended else ItemStatus.PUBLISHED


def _doc_state(doc: PolicyDocument) -> dict:
    state = audit.snapshot(doc, list(DOC_FIELDS))
    state["departments"] = sorted(doc.departments.values_list("code", flat=True)) if doc.pk else []
    return state


def _find_document(doc: dict, items: list[dict]) -> PolicyDocument | None:
    """The stored document of this entry: the one its items already belong to, else by 文号, else by title."""
    owner = PolicyItem.objects.filter(code__in=[i["code"] for i in items]).values_list("document_id", flat=True).first()
    if owner:
        return PolicyDocument.objects.get(pk=owner)
    qs = PolicyDocument.objects.filter(doc_number=doc["doc_number"]) if doc["doc_number"] else \
        PolicyDocument.objects.filter(title=doc["title"])
    return qs.order_by("id").first()


def _region(code: str) -> Region | None:
    if not code:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationFailed(f"区划代码 {code} 不存在:请先运行 yingshang seed 写入行政区划",
                               fields={"region": "区划不存在"})
    return region


def _save_document(actor, spec: dict, departments: list, result: LoadResult, reason: str,
                   existing: PolicyDocument | None) -> PolicyDocument:
    now = timezone.now()
    doc = existing or PolicyDocument(created_by=actor, created_at=now, updated_at=now)
    before = _doc_state(doc) if existing else {}
    for key in ("title", "doc_number", "issuers", "published_on", "effective_from", "expires_on", "source_url",
                "full_text"):
        setattr(doc, key, spec[key])
    doc.region = _region(spec["region"])
    if existing is None:
        doc.save(force_insert=True)
    doc.departments.set(departments)
    changes = audit.diff(before, _doc_state(doc))
    if existing is None:
        result.documents_created += 1
        audit.record(actor, AuditAction.CREATE, doc, changes=changes, reason=reason)
    elif changes:
        doc.updated_at = now
        doc.save()
        result.documents_updated += 1
        audit.record(actor, AuditAction.UPDATE, doc, changes=changes, reason=reason)
    else:
        result.documents_unchanged += 1
    return doc


def _item_values(spec: dict, doc: PolicyDocument, department: Department) -> dict:
    values = {k: spec[k] for k in ITEM_FIELDS if k not in ("document_id", "department_id")}
    values.update(document_id=doc.pk, department_id=department.pk)
    return values


def _target_status(item: PolicyItem | None, spec: dict, doc: PolicyDocument, publish: bool, today) -> str:
    """New items: published/expired (or draft when not publishing). Existing items keep an officer's
    decision (under review, suspended); draft, published and expired follow the file and the date."""
    current = item.status if item is not None else ItemStatus.DRAFT
    if not publish or current in (ItemStatus.REVIEW, ItemStatus.SUSPENDED):
        return current
    return _status_for(spec, doc, today)


def _save_item(actor, spec: dict, doc: PolicyDocument, department: Department, ctx: dict) -> PolicyItem:
    from yingshang.policies import search

    result, now = ctx["result"], timezone.now()
    item = PolicyItem.objects.filter(code=spec["code"]).first()
    fields = list(ITEM_FIELDS) + ["status"]
    before = audit.snapshot(item, fields) if item is not None else {}
    if item is None:
        item = PolicyItem(code=spec["code"], created_by=actor, created_at=now, updated_at=now)
    for key, value in _item_values(spec, doc, department).items():
        setattr(item, key, value)
    item.document = doc
    item.status = _target_status(item if before else None, spec, doc, ctx["publish"], ctx["today"])
    changes = audit.diff(before, audit.snapshot(item, fields))
    if before and not changes:
        result.items_unchanged += 1
        return item
    if before and any(name in changes for name in MATCHING_FIELDS):
        item.revision += 1
    if item.status in (ItemStatus.PUBLISHED, ItemStatus.EXPIRED) and item.published_at is None:
        item.published_at = now
    item.search_text, item.updated_at = search.item_text(item), now
    item.save(force_insert=not before)
    _audit_item(actor, item, changes, bool(before), result, ctx["reason"])
    if ctx["match"] and item.status == ItemStatus.PUBLISHED:
        _queue_match(item, "change" if before and before.get("status") == ItemStatus.PUBLISHED else "publish", result)
    return item


def _audit_item(actor, item: PolicyItem, changes: dict, existed: bool, result: LoadResult, reason: str) -> None:
    if existed:
        result.items_updated += 1
        audit.record(actor, AuditAction.UPDATE, item, changes=changes, reason=reason)
    else:
        result.items_created += 1
        audit.record(actor, AuditAction.CREATE, item, changes=changes, reason=reason)


def _queue_match(item: PolicyItem, reason: str, result: LoadResult) -> None:
    """Queue the item's matching after commit, if the matching job is registered."""
    from yingshang import jobs

    try:
        jobs.lookup(MATCH_JOB)
    except KeyError:
        return
    jobs.enqueue_on_commit(MATCH_JOB, item.pk, reason)
    result.queued.append(item.pk)


def load_data(data: Any, actor=None, *, publish: bool = True, match: bool = True, source: str = "",
              today: dt.date | None = None) -> LoadResult:
    """Create or update the documents and items of parsed content (one transaction; idempotent by code)."""
    entries = parse_content(data, source)
    actor, result = resolve_actor(actor), LoadResult()
    ctx = {"result": result, "publish": publish, "match": match, "today": today or timezone.localdate(),
           "reason": f"导入政策内容文件 {source}".strip()}
    with transaction.atomic():
        index = DepartmentIndex()
        for doc_spec, items in entries:
            issuers = _issuing_departments(index, doc_spec, result.warnings)
            doc = _save_document(actor, doc_spec, issuers, result, ctx["reason"], _find_document(doc_spec, items))
            for spec in items:
                department = index.resolve(spec["department"], spec["benefit_type"], result.warnings,
                                           f"事项 {spec['code']}")
                _save_item(actor, spec, doc, department, ctx)
                result.codes.append(spec["code"])
    return result


def _issuing_departments(index: DepartmentIndex, doc: dict, warnings: list[str]) -> list[Department]:
    found = []
    for code in doc["departments"]:
        dept = index.find(code)
        if dept is None:
            warnings.append(f"政策文件《{shorten(doc['title'])}》:找不到发文单位“{code}”,已略过")
        else:
            found.append(dept)
    return found


def load_content(path, actor=None, *, publish: bool = True, match: bool = True,
                 today: dt.date | None = None) -> LoadResult:
    """Load one content file (see the module docstring); ValidationFailed before any write when it is invalid."""
    path = Path(path)
    return load_data(read_file(path), actor, publish=publish, match=match, source=path.name, today=today)


def load_all(actor=None, *, publish: bool = True, match: bool = True, today: dt.date | None = None) -> LoadResult:
    """Load the shipped national and local content files."""
    result = LoadResult()
    for path in (NATIONAL, LOCAL):
        result.merge(load_content(path, actor, publish=publish, match=match, today=today))
    return result


__all__ = ["load_content", "load_all", "load_data", "parse_content", "read_file", "LoadResult", "NATIONAL", "LOCAL"]
