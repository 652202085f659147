"""The one validator of enterprise data, shared by the API, the file import and the UI.

``validate_enterprise(raw, ctx)`` takes raw values (strings from Excel/CSV cells, JSON values from
the API; keys are API field names or the import template's Chinese column headers) and returns a
``Checked`` with clean Python values and ``{field: Chinese reason}`` for everything wrong.
A blank value means "not given" (PATCH semantics); required fields are checked by the caller,
who knows whether the enterprise already exists (``missing_required``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils import timezone

from yingshang.core import phones
from yingshang.core.errors import shorten
from yingshang.enterprises import certificates, industries
from yingshang.enterprises.models import (
    FIGURE_FIELDS,
    CertificationKind,
    EnterpriseStatus,
    LegalForm,
    TaxCreditRating,
    TaxpayerKind,
)
from yingshang.enterprises.models import PERSONAL_FIELDS as PERSONAL  # noqa: F401  (re-exported)
from yingshang.enterprises.uscc import UsccError, validate_uscc

# API field name → column header of the import template (also the order of the template's columns).
HEADERS: dict[str, str] = {
    "uscc": "统一社会信用代码",
    "name": "企业名称",
    "legal_form": "组织形式",
    "status": "登记状态",
    "region_code": "所在区划代码",
    "industry_code": "行业代码",
    "established_on": "成立日期",
    "registered_capital": "注册资本(万元)",
    "employees": "从业人员(人)",
    "operating_revenue": "营业收入(万元)",
    "total_assets": "资产总额(万元)",
    "rd_expense": "研发费用(万元)",
    "taxable_income": "应纳税所得额(万元)",
    "tax_credit_rating": "纳税信用等级",
    "taxpayer_kind": "纳税人类型",
    "certifications": "资质",
    "tags": "标签",
    "source": "数据来源",
    "as_of": "数据日期",
    "legal_representative": "法定代表人",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "address": "住所",
    "business_scope": "经营范围",
}
FIELD_BY_HEADER = {v: k for k, v in HEADERS.items()}
# Looser spellings people type into their own spreadsheets.
FIELD_BY_HEADER.update({"注册资本": "registered_capital", "从业人员": "employees", "营业收入": "operating_revenue",
                        "资产总额": "total_assets", "研发费用": "rd_expense", "区划代码": "region_code",
                        "行业分类代码": "industry_code", "企业资质": "certifications", "企业标签": "tags",
                        "应纳税所得额": "taxable_income", "年应纳税所得额": "taxable_income",
                        "增值税纳税人类型": "taxpayer_kind", "纳税人资格": "taxpayer_kind"})
# Labels of fields that are not template columns (API and form only).
FIELD_LABELS = {**HEADERS, "steward": "服务管家"}
REQUIRED_FOR_NEW = ("uscc", "name", "region_code", "industry_code")
MONEY_FIELDS = ("registered_capital", "operating_revenue", "total_assets", "rd_expense", "taxable_income")
FOUNDING_OF_PRC = dt.date(1949, 10, 1)
MAX_MONEY = Decimal("1000000000")  # 1e9 万元 = 10 万亿元: above any real enterprise
MAX_EMPLOYEES = 2_000_000
FOUR_PLACES = Decimal("0.0001")
_LIST_SPLIT = re.compile(r"[、,,;;\s]+")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
# C0 control characters other than tab/newline/CR, and DEL: never meaningful in register data, and
# PostgreSQL refuses NUL in text columns outright (a 500 instead of a message).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\t\n\r]")
# Decimal exponents far beyond any register figure: rejected before arithmetic that would overflow
# the decimal context (9e999999999) or silently round to zero (1e-999999999).
MAX_ADJUSTED_EXPONENT = 30


@dataclass
class Context:
    """What the validator needs from the database, loaded once per request or per file."""

    actor: Any = None
    region_codes: set[str] | None = None  # None = look each code up
    tags_by_key: dict[str, tuple[str, str]] = field(default_factory=dict)  # code/name → (code, kind)
    today: dt.date = field(default_factory=timezone.localdate)

    @classmethod
    def load(cls, actor=None, *, all_regions: bool = False) -> "Context":
        """A context for ``actor``; ``all_regions`` preloads every region code (for files)."""
        from yingshang.core.models import Region
        from yingshang.enterprises.models import Tag

        tags = {}
        for code, name, kind in Tag.objects.values_list("code", "name", "kind"):
            tags[code] = tags[name] = (code, kind)
        codes = set(Region.objects.values_list("code", flat=True)) if all_regions else None
        return cls(actor=actor, region_codes=codes, tags_by_key=tags)

    def region_exists(self, code: str) -> bool:
        if self.region_codes is not None:
            return code in self.region_codes
        from yingshang.core.models import Region

        return Region.objects.filter(code=code).exists()

    def find_user(self, key: str):
        """A user by username, or by id when ``key`` is all digits and no username matches."""
        from yingshang.core.models import User

        users = User.objects.select_related("region", "department__region")
        found = users.filter(username=key).first()
        if found is None and key.isdigit() and len(key) < 19:
            found = users.filter(pk=int(key)).first()
        return found


@dataclass
class Checked:
    clean: dict[str, Any]
    errors: dict[str, str]


class Invalid(ValueError):
    """A field's value is wrong; the message is the Chinese reason."""


# ------------------------------------------------------------------ helpers
def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, (dict, list, tuple, set)):
        raise Invalid("应为单个值(文本或数字),不能是对象或列表")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel numeric cells: 411602.0 → "411602"
    text = str(value).strip()
    bad = _CONTROL.search(text)
    if bad:
        raise Invalid(f"含有不可见的控制字符(U+{ord(bad.group()):04X}),请删除后重试")
    return text


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if len(text) == 10 and text[4] == "-":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise Invalid(f"“{shorten(text)}”不是有效日期,应为 YYYY-MM-DD")


def parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise Invalid("应为数字")
    if isinstance(value, float):
        value = repr(value)  # shortest round-trip text: 1234.5678 stays 1234.5678
    text = _text(value).replace(",", "").replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Invalid(f"“{shorten(text)}”不是数字") from None
    if not number.is_finite():
        raise Invalid(f"“{shorten(text)}”不是数字")
    if number and abs(number.adjusted()) > MAX_ADJUSTED_EXPONENT:
        raise Invalid(f"数值“{shorten(text)}”超出合理范围")
    return number


@lru_cache(maxsize=None)
def _choice_map(choices) -> dict[str, str]:
    """Code and Chinese label → code (enum ``.choices`` is slow to rebuild for every cell)."""
    out = {}
    for code, name in choices.choices:
        out[code] = out[str(name)] = code
    return out


def _choice(value: Any, choices, label: str) -> str:
    text = _text(value)
    code = _choice_map(choices).get(text)
    if code is None:
        allowed = "、".join(str(n) for _, n in choices.choices)
        raise Invalid(f"“{shorten(text)}”不是有效的{label},可选: {allowed}")
    return code


# ------------------------------------------------------------------ field checks
def check_uscc(value: Any, ctx: Context) -> str:
    try:
        return validate_uscc(_text(value))
    except UsccError as exc:
        raise Invalid(exc.message) from None


def check_name(value: Any, ctx: Context) -> str:
    text = _text(value)
    if _LINE_BREAK.search(text):
        raise Invalid("企业名称不能含有换行符或制表符")
    if len(text) > 200:
        raise Invalid(f"企业名称过长({len(text)}字),最多200字")
    return text


def check_region(value: Any, ctx: Context) -> str:
    code = _text(value)
    if not code.isdigit() or len(code) not in (6, 9, 12):
        raise Invalid(f"区划代码“{shorten(code)}”格式不正确,应为6位(县级)或9位(乡镇街道)数字")
    if not ctx.region_exists(code):
        raise Invalid(f"区划代码“{code}”不存在于本平台的行政区划中")
    if ctx.actor is not None:
        from yingshang.core.access import in_scope

        if not in_scope(ctx.actor, code):
            raise Invalid(f"区划“{code}”不在您的管辖范围内")
    return code


def check_industry(value: Any, ctx: Context) -> str:
    text = _text(value)
    if len(text) > 8:
        raise Invalid(f"行业代码“{shorten(text)}”过长,应为门类字母或2–4位数字")
    try:
        return industries.resolve(text)[0]
    except industries.IndustryError as exc:
        raise Invalid(str(exc)) from None


def check_established(value: Any, ctx: Context) -> dt.date:
    day = parse_date(value)
    if day > ctx.today:
        raise Invalid(f"成立日期 {day} 晚于今天,不能是将来的日期")
    if day < FOUNDING_OF_PRC:
        raise Invalid(f"成立日期 {day} 早于1949-10-01,请核对")
    return day


def check_employees(value: Any, ctx: Context) -> int:
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise Invalid(f"从业人员应为整数,实际为“{shorten(_text(value))}”")
    if number < 0:
        raise Invalid(f"从业人员不能为负数({number})")
    if number > MAX_EMPLOYEES:
        raise Invalid(f"从业人员 {number} 人超过合理上限 {MAX_EMPLOYEES:,} 人,请核对单位(人)")
    return int(number)


def check_money(value: Any, ctx: Context) -> Decimal:
    number = parse_decimal(value)
    if number < 0:
        raise Invalid(f"金额不能为负数({number})")
    if number > MAX_MONEY:
        raise Invalid(f"金额 {_fmt(number)} 万元超过合理上限(10亿万元),请核对单位是否为万元")
    # Same representation as the database returns (4 places), so comparisons are exact. Compared with
    # the value itself rather than its normalised exponent, which rounds tiny values to 0.
    quantized = number.quantize(FOUR_PLACES)
    if quantized != number:
        raise Invalid(f"金额“{_fmt(number)}”小数位数超过4位(单位万元,精确到元)")
    return quantized


_RATINGS = frozenset(TaxCreditRating.values)


def check_rating(value: Any, ctx: Context) -> str:
    text = _text(value).upper().removesuffix("级")
    if text not in _RATINGS:
        raise Invalid(f"纳税信用等级“{shorten(_text(value))}”无效,应为 A、B、M、C、D 之一")
    return text


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, set)):
        return [_text(v) for v in value if not blank(v)]
    return [p for p in _LIST_SPLIT.split(_text(value)) if p]


def check_taxable_income(value: Any, ctx: Context) -> Decimal:
    number = parse_decimal(value)
    if number < 0:
        raise Invalid(f"应纳税所得额不能为负数({_fmt(number)});亏损或弥补亏损后无所得的填 0")
    return check_money(number, ctx)


# Short forms people write for 纳税人类型 (the codes and full Chinese labels are accepted as well).
_TAXPAYER_ALIASES = {"一般": TaxpayerKind.GENERAL, "一般纳税人企业": TaxpayerKind.GENERAL,
                     "小规模": TaxpayerKind.SMALL_SCALE, "小规模纳税人企业": TaxpayerKind.SMALL_SCALE}


def check_taxpayer_kind(value: Any, ctx: Context) -> str:
    text = _text(value)
    if text in _TAXPAYER_ALIASES:
        return str(_TAXPAYER_ALIASES[text])
    try:
        return _choice(text, TaxpayerKind, "纳税人类型")
    except Invalid:
        raise Invalid(f"纳税人类型“{shorten(text)}”无效,应为“一般纳税人”或“小规模纳税人”"
                      "(也可填 general / small_scale)") from None


def _cert_day(value: Any, ctx: Context) -> dt.date:
    day = parse_date(value)
    if day < FOUNDING_OF_PRC or day.year > ctx.today.year + 30:
        raise Invalid(f"资质有效期日期 {day} 不合理,请核对")
    return day


def _cert_kind(value: Any) -> str:
    return _choice(value, CertificationKind, "资质")


def check_certifications(value: Any, ctx: Context) -> list[certificates.CertPatch]:
    """Certifications requested: cell text (``类别[:起~止][:证书编号]``, see ``certificates``), a list of
    such texts, or a list of objects ``{"kind", "certificate_no", "valid_from", "valid_to"}``."""
    items = _cert_items(value)
    if items == ["无"]:
        return []
    patches, seen = [], set()
    for item in items:
        try:
            patch = _cert_object(item, ctx) if isinstance(item, dict) else \
                certificates.parse_entry(item, _cert_kind, lambda t: _cert_day(t, ctx))
            certificates.check_range(patch)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        if patch.kind in seen:
            raise Invalid(f"资质“{certificates.NAMES[patch.kind]}”重复填写")
        seen.add(patch.kind)
        patches.append(patch)
    return sorted(patches, key=lambda p: p.kind)


def _cert_items(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [v if isinstance(v, dict) else _text(v) for v in value if not blank(v)]
    if isinstance(value, dict):
        raise Invalid("资质应为列表")
    return certificates.split_cell(_text(value))


def _cert_object(item: dict, ctx: Context) -> certificates.CertPatch:
    unknown = set(item) - {"kind", *certificates.DETAIL_KEYS}
    if unknown or blank(item.get("kind")):
        raise Invalid('资质对象应为 {"kind": 类别, "certificate_no": …, "valid_from": …, "valid_to": …}'
                      + (f",不认识“{'、'.join(sorted(unknown))}”" if unknown else ",kind 必填"))
    changes: dict[str, Any] = {}
    for key in certificates.DETAIL_KEYS:
        if key not in item:
            continue  # not sent: keep what is on record
        raw = item[key]
        if key == "certificate_no":
            changes[key] = "" if blank(raw) else certificates.check_number(_text(raw))
        else:
            changes[key] = None if blank(raw) else _cert_day(raw, ctx)
    return certificates.CertPatch(_cert_kind(item["kind"]), changes)


def check_steward(value: Any, ctx: Context):
    """A user with role steward, by username or numeric id (the caller checks the region scope)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise Invalid("应为服务管家的用户名或用户编号")
    user = ctx.find_user(_text(value))
    if user is None:
        raise Invalid(f"用户“{shorten(_text(value))}”不存在")
    if user.role != "steward" or not user.is_active:
        raise Invalid(f"用户“{user.username}”不是在岗的服务管家,只能指定角色为服务管家的用户")
    return user


def check_tags(value: Any, ctx: Context) -> list[str]:
    items = _as_list(value)
    if items == ["无"]:
        return []
    codes = []
    for item in items:
        found = ctx.tags_by_key.get(item)
        if found is None:
            raise Invalid(f"标签“{shorten(item)}”不存在,请先由管理员建立该标签")
        if found[1] != "manual":
            raise Invalid(f"标签“{item}”由规则自动计算,不能手工设置")
        codes.append(found[0])
    return sorted(set(codes))


def check_source(value: Any, ctx: Context) -> str:
    text = _text(value)
    if len(text) > 64:
        raise Invalid("数据来源过长,最多64字")
    return text


def check_as_of(value: Any, ctx: Context) -> str:
    day = parse_date(value)
    if day > ctx.today:
        raise Invalid(f"数据日期 {day} 晚于今天,不能是将来的日期")
    if day < FOUNDING_OF_PRC:
        raise Invalid(f"数据日期 {day} 过早,请核对")
    return day.isoformat()


def check_phone(value: Any, ctx: Context) -> str:
    text = _text(value).replace(" ", "")
    if not phones.is_phone(text):
        raise Invalid(f"联系电话“{shorten(text)}”格式不正确,{phones.HINT}")
    return text


def _short_text(limit: int):
    def check(value: Any, ctx: Context) -> str:
        text = _text(value)
        if len(text) > limit:
            raise Invalid(f"内容过长({len(text)}字),最多{limit}字")
        return text

    return check


CHECKS = {
    "uscc": check_uscc, "name": check_name, "region_code": check_region, "industry_code": check_industry,
    "legal_form": lambda v, c: _choice(v, LegalForm, "组织形式"),
    "status": lambda v, c: _choice(v, EnterpriseStatus, "登记状态"),
    "established_on": check_established, "registered_capital": check_money, "employees": check_employees,
    "operating_revenue": check_money, "total_assets": check_money, "rd_expense": check_money,
    "taxable_income": check_taxable_income, "taxpayer_kind": check_taxpayer_kind, "steward": check_steward,
    "tax_credit_rating": check_rating, "certifications": check_certifications, "tags": check_tags,
    "source": check_source, "as_of": check_as_of, "contact_phone": check_phone,
    "legal_representative": _short_text(64), "contact_name": _short_text(64), "address": _short_text(200),
    "business_scope": _short_text(4000),
}
KNOWN_FIELDS = set(CHECKS) | {"figure_sources"}


# ------------------------------------------------------------------ the validator
@lru_cache(maxsize=512)
def field_name(key: str) -> str | None:
    """The API field for an API name or a Chinese column header (None when unknown)."""
    key = key.strip()
    if key in KNOWN_FIELDS:
        return key
    return FIELD_BY_HEADER.get(key) or FIELD_BY_HEADER.get(key.replace("(", "(").replace(")", ")"))


# What an explicit JSON null sets a field to (API PATCH); required fields cannot be cleared.
CLEARED = {"established_on": None, "registered_capital": None, "employees": None, "operating_revenue": None,
           "total_assets": None, "rd_expense": None, "taxable_income": None, "tax_credit_rating": "",
           "taxpayer_kind": "", "steward": None, "certifications": [], "tags": [],
           "legal_representative": "", "contact_name": "", "contact_phone": "", "address": "",
           "business_scope": "", "figure_sources": {}}


def validate_enterprise(raw: dict[str, Any], ctx: Context, *, existing: dict[str, Any] | None = None,
                        null_clears: bool = False) -> Checked:
    """Check every given field; blank values are left out of ``clean`` (not given), except that with
    ``null_clears`` (JSON PATCH, edit form) an explicit null or blank text clears an optional field
    and is refused for a required one (a silent no-op would look like success)."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in raw.items():
        name = field_name(key)
        if name is None:
            errors[key] = "不是可识别的字段"
            continue
        if null_clears and blank(value):
            if name in CLEARED:
                clean[name] = CLEARED[name]
            elif name not in ("source", "as_of"):
                errors[name] = "不能为空"
            continue
        if name == "figure_sources":
            _check_figure_sources(value, ctx, clean, errors)
            continue
        if blank(value):
            continue
        try:
            clean[name] = CHECKS[name](value, ctx)
        except Invalid as exc:
            errors[name] = str(exc)
    cross_check(clean, errors, existing or {})
    _fold_sources(clean)
    return Checked(clean, errors)


def _check_figure_sources(value: Any, ctx: Context, clean: dict, errors: dict) -> None:
    if blank(value):
        return
    if not isinstance(value, dict):
        errors["figure_sources"] = '应为对象,如 {"employees": {"source": "统计局", "as_of": "2024-12-31"}}'
        return
    out = {}
    for figure, entry in value.items():
        if figure not in FIGURE_FIELDS:
            errors["figure_sources"] = f"“{figure}”不是带来源的数据项,可选: {'、'.join(FIGURE_FIELDS)}"
            return
        if not isinstance(entry, dict) or set(entry) - {"source", "as_of"}:
            errors["figure_sources"] = f"{figure}: 应为 {{\"source\": …, \"as_of\": \"YYYY-MM-DD\"}}"
            return
        try:
            out[figure] = {"source": check_source(entry.get("source") or "", ctx),
                           "as_of": check_as_of(entry["as_of"], ctx) if not blank(entry.get("as_of")) else ""}
        except Invalid as exc:
            errors["figure_sources"] = f"{figure}: {exc}"
            return
    clean["figure_sources"] = out


def cross_check(clean: dict, errors: dict, existing: dict) -> None:
    """Rules across fields: R&D expense above operating revenue is almost always a unit mistake."""
    rd = clean.get("rd_expense", existing.get("rd_expense"))
    revenue = clean.get("operating_revenue", existing.get("operating_revenue"))
    if rd is not None and revenue is not None and "rd_expense" not in errors and "operating_revenue" not in errors:
        if Decimal(rd) > Decimal(revenue):
            errors["rd_expense"] = (f"研发费用({_fmt(rd)}万元)大于营业收入({_fmt(revenue)}万元),"
                                    "请核对数据或单位")


def _fmt(value) -> str:
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fold_sources(clean: dict) -> None:
    """Row-level ``source``/``as_of`` (file columns) apply to every figure given in the same row."""
    source, as_of = clean.pop("source", None), clean.pop("as_of", None)
    if source is None and as_of is None:
        return
    sources = clean.setdefault("figure_sources", {})
    for figure in FIGURE_FIELDS:
        if figure in clean and figure not in sources:
            sources[figure] = {"source": source or "", "as_of": as_of or ""}


def missing_required(clean: dict) -> dict[str, str]:
    """Reasons for required fields absent from a new enterprise's data."""
    return {f: f"新建企业时“{HEADERS[f]}”必填" for f in REQUIRED_FOR_NEW if f not in clean}


def field_label(name: str) -> str:
    """The Chinese label of a field (column header where it has one)."""
    return FIELD_LABELS.get(name, name)
