"""Checks of policy documents and items before they are written: fields, dates, amounts, rule, codes, budget.

Every check answers ``ValidationFailed`` with a Chinese message naming each field; ``check_item`` reports every
problem of an item in one pass. Used by ``actions_library`` (the writes) and its views.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import models

from yingshang.core.errors import ValidationFailed, shorten
from yingshang.core.models import Department, Region
from yingshang.policies.models import AllocationRule, Mode, PolicyDocument, PolicyItem

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
    return {"reason": "原因", "document": "政策文件", "file": "附件", "attachments": "附件",
            "amount": "金额"}.get(name, name)


def _labelled(name: str, reason: str) -> str:
    """“label: reason”, or the reason alone when it already names the field (no “金额公式: 金额公式…”)."""
    text = label(name)
    stem = re.split(r"[((]", text, maxsplit=1)[0]
    return str(reason) if stem and str(reason).startswith(stem) else f"{text}: {reason}"


def fail(errors: dict[str, str], what: str = "政策事项") -> ValidationFailed:
    """One ValidationFailed naming every field with its reason."""
    summary = ";".join(_labelled(k, v) for k, v in errors.items())
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


def _clean_fields(model, names, required, data: dict, partial: bool, what: str) -> tuple[dict, dict]:
    """(checked values, {field: reason}) — every field is checked, so the form shows all problems at once."""
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
    return clean, errors


def _clean(model, names, required, data: dict, partial: bool, what: str) -> dict:
    clean, errors = _clean_fields(model, names, required, data, partial, what)
    if errors:
        raise fail(errors, what)
    return clean


def _document_errors(clean: dict) -> dict[str, str]:
    start, end = clean.get("effective_from"), clean.get("expires_on")
    if start and end and start > end:
        return {"expires_on": f"有效期至({end})不能早于施行日期({start})"}
    return {}


def clean_document(data: dict, *, partial: bool, upload=None, upload_name: str = "") -> dict:
    """Checked document values (model attribute names; ``departments`` a list of Department); with
    ``upload``, the attachment is checked in the same pass and its display name put under ``_attachment``."""
    clean, errors = _clean_fields(PolicyDocument, DOCUMENT_FIELDS, DOCUMENT_REQUIRED, data, partial, "政策文件")
    errors.update(_document_errors(clean))
    if upload is not None:
        try:
            clean["_attachment"] = validate_attachment(upload, upload_name)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise fail(errors, "政策文件")
    return clean


def clean_item(data: dict, *, partial: bool) -> dict:
    """Checked item values (model attribute names; ``department`` a Department)."""
    clean, errors = clean_item_fields(data, partial=partial)
    if errors:
        raise fail(errors, "政策事项")
    return clean


def clean_item_fields(data: dict, *, partial: bool) -> tuple[dict, dict]:
    """(checked item values, {field: reason}) without raising, so later checks can add their own reasons."""
    clean, errors = _clean_fields(PolicyItem, ITEM_FIELDS, ITEM_REQUIRED, data, partial, "政策事项")
    for name, default in (("mode", Mode.APPLY), ("allocation", AllocationRule.ORDER)):
        if name in clean and not clean[name]:
            clean[name] = default
    return clean, errors


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
    given = (name or "").strip()
    if "\x00" in given:
        errors["name"] = "附件名称不能包含空字符"
    elif len(given) > 200:  # a name typed by the user is refused, not cut (a file's own name is cut)
        errors["name"] = "附件名称过长(最多 200 个字符)"
    name = (given or filename.strip())[:200]
    if errors:
        raise ValidationFailed("附件有误 — " + ";".join(errors.values()), fields=errors)
    return name


# ---------------------------------------------------------------- items: create and update
def tag_names() -> dict[str, str]:
    from yingshang.enterprises.models import Tag

    return dict(Tag.objects.values_list("code", "name"))


def _rule_error_text(exc, field: str) -> str:
    """The engine's message with its position, unless the position only repeats the field's label."""
    path = getattr(exc, "path", "") or ""
    return f"{path}:{exc.message}" if path and path != label(field) else exc.message


def _engine_errors(clean: dict, item: PolicyItem | None, skip: set) -> dict[str, str]:
    """The rule, its parameters and the amount formula, checked by the engine (precise messages)."""
    from yingshang.policies.engine import amounts, rules

    rule = clean.get("rule", item.rule if item else {})
    params = clean.get("params", item.params if item else {})
    formula = clean.get("amount_formula", item.amount_formula if item else "")
    errors: dict[str, str] = {}
    for name, check in (("params", lambda: rules.check_params(params)),
                        ("rule", lambda: rules.check_rule(rule, params, tags=tag_names())),
                        ("amount_formula", lambda: amounts.check_formula(formula, params))):
        if name in skip or (name != "params" and ("params" in errors or "params" in skip)):
            continue  # references to parameters cannot be judged against broken parameters
        try:
            check()
        except rules.RuleError as exc:
            errors[name] = _rule_error_text(exc, name)
    return errors


def _code_conditions(rule, pos: str, params: dict):
    """(position, field, codes) of every region/industry condition, literal values and parameter values alike."""
    from yingshang.policies.engine import rules

    if not isinstance(rule, dict):
        return
    if "not" in rule:
        yield from _code_conditions(rule["not"], rules._child(pos, 1), params)
    for kind in ("all", "any"):
        for i, child in enumerate(rule.get(kind) or [], 1):
            yield from _code_conditions(child, rules._child(pos, i), params)
    if rule.get("field") in ("region", "industry"):
        values = [rule.get("value")] if "param" not in rule else \
            [e.get("value") for e in (params or {}).get(rule["param"]) or [] if isinstance(e, dict)]
        codes = [c for v in values for c in (v if isinstance(v, list) else [v]) if isinstance(c, str)]
        yield rules._where(pos), rule["field"], codes


def _unknown_codes(rule, params) -> str:
    """A message naming region codes no region starts with and industry codes not in the industry table."""
    from yingshang.enterprises.models import Industry
    from yingshang.policies.engine import rules

    found = list(_code_conditions(rule, rules._root_pos(rule), params))
    digits = {c for _, f, codes in found if f == "industry" for c in codes if not c.isalpha()}
    known = set(Industry.objects.filter(code__in=digits).values_list("code", flat=True))
    problems = []
    for where, field, codes in found:
        for code in dict.fromkeys(codes):
            if field == "region" and not Region.objects.filter(code__startswith=code).exists():
                problems.append(f"{where}:区划代码 {shorten(code)} 不存在(没有以它开头的行政区划)")
            elif field == "industry" and not code.isalpha() and code not in known:
                problems.append(f"{where}:行业代码 {shorten(code)} 不存在(不在国民经济行业分类表中)")
    return ";".join(problems)


def _cross_errors(clean: dict, item: PolicyItem | None) -> dict[str, str]:
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
    return errors


def _budget_error(item: PolicyItem, budget) -> str:
    """Why ``budget`` is too small for what was already confirmed/approved ('' when it is fine)."""
    from yingshang.policies.actions_redemption import committed_amount

    committed = committed_amount(item.pk)
    if budget is not None and Decimal(budget) < committed:
        return f"预算不能低于已确认/已批准的金额 {committed:,.2f} 元"
    return ""


def check_item(data: dict, item: PolicyItem | None) -> dict:
    """Checked item values; every problem (fields, dates, amounts, rule, codes, budget) reported in one pass."""
    clean, errors = clean_item_fields(data, partial=item is not None)
    errors.update({k: v for k, v in _cross_errors(clean, item).items() if k not in errors})
    if item is None or any(name in clean or name in errors for name in ("rule", "params", "amount_formula")):
        errors.update(_engine_errors(clean, item, set(errors)))
        if "rule" not in errors and "params" not in errors and (item is None or "rule" in clean or "params" in clean):
            problems = _unknown_codes(clean.get("rule", item.rule if item else {}),
                                      clean.get("params", item.params if item else {}))
            if problems:
                errors["rule"] = problems
    if item is not None and clean.get("budget") is not None and "budget" not in errors:
        reason = _budget_error(item, clean["budget"])  # re-checked under the lock in _apply_update
        if reason:
            errors["budget"] = reason
    if errors:
        raise fail(errors)
    return clean
