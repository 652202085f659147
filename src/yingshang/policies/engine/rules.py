"""The JSON rule language: fields, checking with precise Chinese messages, parameters, compiling, sentences.

Django-free. The grammar and semantics are documented in ``engine/__init__.py``; the compiled form in
``engine/compiled.py``. Positions ("条件 2.1") count from 1 in the source tree: the children of the root
group are 1, 2, …; a child of the node at ``p`` is ``p.i``; the single child of ``not`` is ``p.1``; a rule
that is a single condition is "条件 1".
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import weakref
from dataclasses import dataclass
from decimal import Decimal

from .compiled import Atom, CompiledRule, Node


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # number | ratio | age | date | choice | region | industry | tag | certification | flag
    label: str
    unit: str = ""
    choices: tuple[tuple[str, str], ...] | None = None


SIZE_CHOICES = (("large", "大型"), ("medium", "中型"), ("small", "小型"), ("micro", "微型"))
RATING_CHOICES = tuple((c, c) for c in "ABMCD")
TAXPAYER_CHOICES = (("general", "一般纳税人"), ("small_scale", "小规模纳税人"))
LEGAL_FORM_CHOICES = (
    ("llc", "有限责任公司"), ("joint_stock", "股份有限公司"), ("sole", "个人独资企业"), ("partnership", "合伙企业"),
    ("cooperative", "农民专业合作社"), ("individual", "个体工商户"), ("foreign", "外商投资企业"),
    ("state", "全民所有制企业"), ("collective", "集体所有制企业"), ("branch", "分支机构"), ("other", "其他"))
CERT_CHOICES = (
    ("high_tech", "高新技术企业"), ("tech_sme", "科技型中小企业"), ("innovative_sme", "创新型中小企业"),
    ("specialized_sme", "专精特新中小企业"), ("little_giant", "专精特新“小巨人”企业"), ("above_scale", "规模以上企业"))
STATUS_LABELS = {"active": "存续", "suspended": "停业", "revoked": "吊销", "cancelled": "注销", "moved_out": "迁出"}

FIELDS: dict[str, FieldSpec] = {
    "employees": FieldSpec("number", "从业人员", "人"),
    "registered_capital": FieldSpec("number", "注册资本", "万元"),
    "operating_revenue": FieldSpec("number", "营业收入", "万元"),
    "total_assets": FieldSpec("number", "资产总额", "万元"),
    "rd_expense": FieldSpec("number", "研发费用", "万元"),
    "taxable_income": FieldSpec("number", "应纳税所得额", "万元"),
    "rd_ratio": FieldSpec("ratio", "研发费用占营业收入比例", "%"),
    "age_years": FieldSpec("age", "成立年限", "年"),
    "established_on": FieldSpec("date", "成立日期"),
    "size": FieldSpec("choice", "企业规模", choices=SIZE_CHOICES),
    "tax_credit_rating": FieldSpec("choice", "纳税信用等级", choices=RATING_CHOICES),
    "taxpayer_kind": FieldSpec("choice", "纳税人类型", choices=TAXPAYER_CHOICES),
    "legal_form": FieldSpec("choice", "组织形式", choices=LEGAL_FORM_CHOICES),
    "region": FieldSpec("region", "所在区划"),
    "industry": FieldSpec("industry", "所属行业"),
    "tag": FieldSpec("tag", "企业标签"),
    "certification": FieldSpec("certification", "资质", choices=CERT_CHOICES),
    "serious_dishonest": FieldSpec("flag", "列入严重失信主体名单"),
    "abnormal_operation": FieldSpec("flag", "列入经营异常名录"),
}
# The enterprise figures a derived field is computed from (what to supply when it is unknown).
SOURCES = {"rd_ratio": ("rd_expense", "operating_revenue"), "age_years": ("established_on",)}
MONEY_FIELDS = ("registered_capital", "operating_revenue", "total_assets", "rd_expense", "taxable_income")

_COMPARE = (">=", "<=", ">", "<", "==", "!=", "between")
_SETS = ("has", "not_has", "in", "not_in")
KIND_OPS = {
    "number": _COMPARE, "ratio": _COMPARE, "age": _COMPARE, "date": _COMPARE,
    "choice": ("==", "!=", "in", "not_in"), "region": ("in", "not_in"), "industry": ("in", "not_in"),
    "tag": _SETS, "certification": _SETS, "flag": ("==",),
}
_OP_WORDS = {">=": "不低于", "<=": "不超过", ">": "高于", "<": "低于", "==": "等于", "!=": "不等于", "between": "介于"}
_DATE_WORDS = {">=": "不早于", "<=": "不晚于", ">": "晚于", "<": "早于", "==": "为", "!=": "不为", "between": "介于"}
_SET_WORDS = {"==": "为", "!=": "不为", "in": "为以下之一", "not_in": "不为以下任何一项",
              "has": "具有", "not_has": "不具有"}
_PLACE_WORDS = {"in": "属于(含下级)", "not_in": "不属于(含下级)"}
_CERT_WORDS = {"has": "持有有效的", "not_has": "未持有有效的", "in": "持有以下任一有效资质", "not_in": "未持有以下任何有效资质"}
_TAG_WORDS = {"has": "具有标签", "not_has": "不具有标签", "in": "具有以下任一标签", "not_in": "不具有以下任何标签"}

# GB/T 4754-2017: division (2 digits) → section letter.
_SECTION_SPANS = (("A", 1, 5), ("B", 6, 12), ("C", 13, 43), ("D", 44, 46), ("E", 47, 50), ("F", 51, 52),
                  ("G", 53, 60), ("H", 61, 62), ("I", 63, 65), ("J", 66, 69), ("K", 70, 70), ("L", 71, 72),
                  ("M", 73, 75), ("N", 76, 79), ("O", 80, 82), ("P", 83, 83), ("Q", 84, 85), ("R", 86, 90),
                  ("S", 91, 96), ("T", 97, 97))
DIVISION_SECTION = {f"{n:02d}": s for s, lo, hi in _SECTION_SPANS for n in range(lo, hi + 1)}
SECTION_NAMES = dict(zip("ABCDEFGHIJKLMNOPQRST", (
    "农、林、牧、渔业", "采矿业", "制造业", "电力、热力、燃气及水生产和供应业", "建筑业", "批发和零售业",
    "交通运输、仓储和邮政业", "住宿和餐饮业", "信息传输、软件和信息技术服务业", "金融业", "房地产业",
    "租赁和商务服务业", "科学研究和技术服务业", "水利、环境和公共设施管理业", "居民服务、修理和其他服务业",
    "教育", "卫生和社会工作", "文化、体育和娱乐业", "公共管理、社会保障和社会组织", "国际组织")))

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REGION = re.compile(r"^\d{2,12}$")
_INDUSTRY = re.compile(r"^(?:[A-T]|\d{2,4})$")
_TAG = re.compile(r"^[-\w]{1,40}$")
MAX_DIGITS = 15


def industry_section(code: str | None) -> str | None:
    """The GB/T 4754-2017 section letter of a section, division, group or class code (None if unknown)."""
    if not code:
        return None
    if code.isalpha():
        return code if code in SECTION_NAMES else None
    return DIVISION_SECTION.get(code[:2])


class RuleError(ValueError):
    """A rule, parameter or formula that cannot be accepted; ``message`` is Chinese, ``path`` says where."""

    def __init__(self, message: str, path: str = ""):
        self.message, self.path = message, path
        super().__init__(f"{path}:{message}" if path else message)


class _Bad(Exception):
    """A value problem, turned into a RuleError by the caller who knows the position."""


def _where(pos: str) -> str:
    return f"条件 {pos}" if pos else "规则"


def _child(pos: str, i: int) -> str:
    return f"{pos}.{i}" if pos else str(i)


def _show(v) -> str:
    text = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else f"“{v}”"
    return text if len(text) <= 40 else text[:39] + "…"


def _list_fields() -> str:
    return "、".join(f"{n}({s.label})" for n, s in FIELDS.items())


# ---- values -------------------------------------------------------------------------------------------

def _number(v) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(f"应为数值,收到 {_show(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _Bad("数值必须是有限数(不能是 NaN 或无穷大)")
    d = Decimal(v) if isinstance(v, int) else Decimal(repr(v))
    if len(d.normalize().as_tuple().digits) > MAX_DIGITS:
        raise _Bad(f"数值 {v} 超过 {MAX_DIGITS} 位有效数字,请检查是否多输入了数字"
                   f"(政策条件中的数值不需要这么高的精度)")
    return d


def _scalar(spec: FieldSpec, v):
    """One value of a comparison on a number/ratio/age/date field, normalised."""
    if spec.kind == "date":
        if not isinstance(v, str) or not _DATE.match(v):
            raise _Bad(f"日期格式应为 YYYY-MM-DD,收到 {_show(v)}")
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            raise _Bad(f"日期 {_show(v)} 不存在") from None
    d = _number(v)
    if spec.kind == "age" and d != d.to_integral_value():
        raise _Bad(f"成立年限须为整数(周岁),收到 {v}")
    if spec.kind == "age":
        d = Decimal(int(d))
    if spec.kind == "ratio" and not (0 <= d <= 1):
        raise _Bad(f"比例以小数表示(3% 写作 0.03),应在 0 到 1 之间,收到 {v}")
    return d


def _code(spec: FieldSpec, field: str, v, tags) -> str:
    """One code of a choice/region/industry/tag/certification condition."""
    if not isinstance(v, str):
        raise _Bad(f"{spec.label}代码应为文本,收到 {_show(v)}")
    if spec.choices is not None:
        if v not in dict(spec.choices):
            allowed = "、".join(f"{c}({lab})" for c, lab in spec.choices)
            raise _Bad(f"“{spec.label}”的取值 {_show(v)} 无效,可选:{allowed}")
    elif spec.kind == "region" and not _REGION.match(v):
        raise _Bad(f"区划代码 {_show(v)} 无效:应为 2–12 位数字(GB/T 2260 代码或其前缀)")
    elif spec.kind == "industry" and not (_INDUSTRY.match(v) and industry_section(v)):
        raise _Bad(f"行业代码 {_show(v)} 无效:应为门类字母 A–T 或 2–4 位数字代码(大类 01–97,GB/T 4754-2017)")
    elif spec.kind == "tag":
        if not _TAG.match(v):
            raise _Bad(f"标签代码 {_show(v)} 无效:应为字母、数字、下划线或连字符")
        if tags is not None and v not in tags:
            raise _Bad(f"未知标签 {_show(v)}:不在标签库中")
    return v


def normalise_value(field: str, op: str, v, tags=None):
    """The compiled value of ``field op v`` (Decimal, date, tuple, frozenset or bool); raises _Bad."""
    spec = FIELDS[field]
    if op == "between":
        if not isinstance(v, list) or len(v) != 2:
            raise _Bad(f"“介于”(between) 需要 [下限, 上限] 两个值的列表,收到 {_show(v)}")
        low, high = _scalar(spec, v[0]), _scalar(spec, v[1])
        if low > high:
            raise _Bad(f"区间下限 {_show(v[0])} 大于上限 {_show(v[1])}")
        return (low, high)
    if spec.kind in ("number", "ratio", "age", "date"):
        return _scalar(spec, v)
    if spec.kind == "flag":
        if not isinstance(v, bool):
            raise _Bad(f"应为 true 或 false,收到 {_show(v)}")
        return v
    if op in ("in", "not_in"):
        if not isinstance(v, list) or not v:
            raise _Bad(f"运算符 {op} 需要非空列表,收到 {_show(v)}")
        return frozenset(_code(spec, field, x, tags) for x in v)
    return frozenset((_code(spec, field, v, tags),))


# ---- checking -----------------------------------------------------------------------------------------

def check_params(params) -> None:
    """Raise RuleError unless params is {name: [{"from": null|"YYYY-MM-DD", "value": V}, …]} in date order."""
    if params is None:
        return
    if not isinstance(params, dict):
        raise RuleError(f"参数应为对象 {{名称: [取值, …]}},收到 {_show(params)}", "参数")
    for name, entries in params.items():
        where = f"参数“{name}”"
        if not isinstance(name, str) or not name.strip():
            raise RuleError("参数名称不能为空", "参数")
        if not isinstance(entries, list) or not entries:
            raise RuleError("应为非空列表 [{\"from\": null, \"value\": …}, …]", where)
        previous = None
        for i, entry in enumerate(entries, 1):
            if not isinstance(entry, dict) or set(entry) != {"from", "value"}:
                raise RuleError(f"第 {i} 项应为 {{\"from\": 日期或 null, \"value\": 取值}},收到 {_show(entry)}", where)
            start = entry["from"]
            if i == 1:
                if start is not None:
                    raise RuleError("第 1 项的 from 应为 null(自始适用)", where)
                continue
            if not isinstance(start, str) or not _DATE.match(start):
                raise RuleError(f"第 {i} 项的 from 应为 YYYY-MM-DD 日期,收到 {_show(start)}", where)
            try:
                day = dt.date.fromisoformat(start)
            except ValueError:
                raise RuleError(f"第 {i} 项的日期 {_show(start)} 不存在", where) from None
            if previous is not None and day <= previous:
                raise RuleError(f"第 {i} 项的日期 {start} 应晚于上一项的 {previous.isoformat()}", where)
            previous = day


def check_rule(rule, params=None, *, tags=None) -> None:
    """Raise RuleError (Chinese message, position) unless ``rule`` is a valid rule for these params/tags."""
    check_params(params)
    if rule == {}:
        return
    _check(rule, _root_pos(rule), params or {}, tags)


def _root_pos(rule) -> str:
    return "1" if isinstance(rule, dict) and "field" in rule else ""


def _check(rule, pos: str, params: dict, tags) -> None:
    where = _where(pos)
    if not isinstance(rule, dict):
        raise RuleError(f"应为对象(条件或 all/any/not 分组),收到 {_show(rule)}", where)
    groups = [k for k in ("all", "any", "not") if k in rule]
    if groups:
        if len(rule) != 1:
            extra = "、".join(sorted(str(k) for k in rule if k != groups[0]))
            raise RuleError(f"分组“{groups[0]}”不能同时包含其他键:{extra}", where)
        _check_group(groups[0], rule[groups[0]], pos, params, tags)
    elif "field" in rule:
        _check_condition(rule, pos, params, tags)
    elif not rule:
        raise RuleError("条件不能为空", where)
    else:
        keys = "、".join(sorted(str(k) for k in rule))
        raise RuleError(f"无法识别的键:{keys};应为 all/any/not 分组或含 field 的条件", where)


def _check_group(kind: str, body, pos: str, params: dict, tags) -> None:
    names = {"all": "全部满足(all)", "any": "任一满足(any)"}
    if kind == "not":
        if not isinstance(body, dict) or not body:
            raise RuleError("“不满足”(not) 应包含一个非空条件或分组", _where(pos))
        return _check(body, _child(pos, 1), params, tags)
    if not isinstance(body, list) or not body:
        raise RuleError(f"{names[kind]}分组不能为空,应为非空列表", _where(pos))
    for i, child in enumerate(body, 1):
        _check(child, _child(pos, i), params, tags)


def _check_condition(rule: dict, pos: str, params: dict, tags) -> None:
    where = _where(pos)
    extra = set(rule) - {"field", "op", "value", "param"}
    if extra:
        raise RuleError(f"条件含未知的键:{'、'.join(sorted(map(str, extra)))}(允许 field、op、value、param)", where)
    field = rule["field"]
    if not isinstance(field, str) or field not in FIELDS:
        raise RuleError(f"未知字段 {_show(field)},可用字段:{_list_fields()}", where)
    spec = FIELDS[field]
    op = rule.get("op")
    if "op" not in rule:
        raise RuleError(f"缺少运算符 op,字段“{spec.label}”可用:{'、'.join(KIND_OPS[spec.kind])}", where)
    if op not in KIND_OPS[spec.kind]:
        allowed = "、".join(KIND_OPS[spec.kind])
        raise RuleError(f"字段“{spec.label}”不支持运算符 {_show(op)},可用:{allowed}", where)
    if ("value" in rule) == ("param" in rule):
        raise RuleError("条件应有 value(取值)或 param(参数名)之一,且只能有一个", where)
    if "value" in rule:
        try:
            normalise_value(field, op, rule["value"], tags)
        except _Bad as e:
            raise RuleError(f"{spec.label}:{e}", where) from None
        return
    _check_param_use(rule, pos, params, tags)


def _check_param_use(rule: dict, pos: str, params: dict, tags) -> None:
    name, spec = rule["param"], FIELDS[rule["field"]]
    if not isinstance(name, str) or name not in params:
        defined = "、".join(params) or "无"
        raise RuleError(f"参数 {_show(name)} 未定义(已定义的参数:{defined})", _where(pos))
    for entry in params[name]:
        when = f"自 {entry['from']} 起" if entry["from"] else "初始"
        try:
            normalise_value(rule["field"], rule["op"], entry["value"], tags)
        except _Bad as e:
            raise RuleError(f"{when}的取值不适用于条件 {pos}({spec.label} {rule['op']}):{e}", f"参数“{name}”") from None


# ---- compiling ----------------------------------------------------------------------------------------

def resolve_params(params, as_of: dt.date) -> dict:
    """Each parameter's value on ``as_of``: the last entry whose ``from`` is null or ≤ as_of."""
    day = as_of.isoformat()
    return {name: [e for e in entries if e["from"] is None or e["from"] <= day][-1]["value"]
            for name, entries in (params or {}).items()}


def compile_rule(rule, params, as_of: dt.date | None) -> CompiledRule:
    """Check and compile ``rule`` for the evaluation date (cached on the canonical JSON)."""
    as_of = as_of or dt.date.today()
    try:
        key = (json.dumps(rule, sort_keys=True, ensure_ascii=False), json.dumps(params or {}, sort_keys=True,
                                                                               ensure_ascii=False))
    except (TypeError, ValueError):
        return _compile(rule, params, as_of)
    return _compile_cached(key[0], key[1], as_of)


@functools.lru_cache(maxsize=8192)
def _compile_cached(rule_json: str, params_json: str, as_of: dt.date) -> CompiledRule:
    # Compile from a private copy so Node.source never aliases a caller's mutable dict.
    return _compile(json.loads(rule_json), json.loads(params_json), as_of)


def _compile(rule, params, as_of: dt.date) -> CompiledRule:
    check_rule(rule, params)
    if rule == {}:
        return CompiledRule(None, (), as_of)
    root = _build(rule, _root_pos(rule), False, resolve_params(params, as_of))
    atoms: dict[Atom, None] = {}
    _collect(root, atoms)
    return CompiledRule(root, tuple(atoms), as_of)


def _build(rule: dict, pos: str, negated: bool, values: dict) -> Node:
    if "not" in rule:
        return _build(rule["not"], _child(pos, 1), not negated, values)
    if "field" in rule:
        return Node("atom", atom=atom_of(rule, values), negated=negated, path=pos, source=rule)
    kind = "all" if "all" in rule else "any"
    children = tuple(_build(c, _child(pos, i), negated, values) for i, c in enumerate(rule[kind], 1))
    if len(children) == 1:  # all(x) = any(x) = x, also for the near-miss algebra; x keeps its path
        return children[0]
    if negated:  # De Morgan (holds in Kleene logic): not all(…) = any(not …)
        kind = "any" if kind == "all" else "all"
    return Node(kind, children=children, path=pos, source=rule)


_CHOICE_OPS = {"==": "in", "!=": "not_in", "has": "in", "not_has": "not_in"}


def atom_of(rule: dict, values: dict | None = None) -> Atom:
    """The normalised Atom of a checked condition (``values``: resolved parameters)."""
    field, op = rule["field"], rule["op"]
    raw = rule["value"] if "value" in rule else (values or {})[rule["param"]]
    value = normalise_value(field, op, raw)
    if isinstance(value, frozenset):
        op = _CHOICE_OPS.get(op, op)
    atom = Atom(field, op, value)
    return _ATOMS.setdefault(atom, atom)


# Equal atoms of different items are one object, so evaluators can cache per atom by identity.
_ATOMS: "weakref.WeakValueDictionary[Atom, Atom]" = weakref.WeakValueDictionary()


def _collect(node: Node, atoms: dict) -> None:
    if node.kind == "atom":
        atoms.setdefault(node.atom, None)
    for child in node.children:
        _collect(child, atoms)


# ---- text: values, requirements, sentences --------------------------------------------------------------

_SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}
COMPLEMENT = {">=": "<", "<=": ">", ">": "<=", "<": ">=", "==": "!=", "!=": "==", "in": "not_in", "not_in": "in",
              "between": "not_between", "not_between": "between"}


def plain(d) -> str:
    """A number without exponent or trailing zeros: Decimal('300.0000') → '300'."""
    d = d if isinstance(d, Decimal) else Decimal(repr(d)) if isinstance(d, float) else Decimal(d)
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "") else text


def fmt_scalar(field: str, v) -> str:
    """A threshold or figure with its unit: '300 万元', '3%', '5 年', '2020-01-01'."""
    spec = FIELDS[field]
    if isinstance(v, dt.date):
        return v.isoformat()
    if spec.kind == "ratio":
        return f"{plain(Decimal(v) * 100)}%"
    return f"{plain(v)} {spec.unit}" if spec.unit else plain(v)


def code_name(field: str, code: str, names: dict | None = None) -> str:
    """Display form of a code: choice label, '制造业(C)', '驿城区(411602)', '“标签名”'."""
    spec, names = FIELDS[field], names or {}
    if spec.choices is not None:
        return dict(spec.choices).get(code, code)
    if spec.kind == "tag":
        return f"“{names.get(code) or code}”"
    name = names.get(code) or (SECTION_NAMES.get(code) if spec.kind == "industry" else None)
    return f"{name}({code})" if name else code


def codes_text(field: str, codes, names, joiner: str = "或") -> str:
    order = {c: i for i, (c, _) in enumerate(FIELDS[field].choices or ())}
    ranked = sorted(codes, key=lambda c: (order.get(c, len(order)), c[:1].isdigit(), c))
    return joiner.join(code_name(field, c, names) for c in ranked)


def _cjk(ch: str) -> bool:
    return ch >= "\u2e80"


def span(low: str, high: str) -> str:
    """'在 100 万元至 300 万元之间', '在 3% 至 5% 之间': a space only between Chinese and Latin text."""
    return f"在 {low}{'' if _cjk(low[-1]) else ' '}至 {high}{'' if _cjk(high[-1]) else ' '}之间"


def requirement(field: str, op: str, value, names: dict | None = None) -> str:
    """What a condition requires, short: '≥ 3%', '为小型或微型', '属于 411602(含下级)', '未列入严重失信主体名单'.

    ``op`` may also be a complement (``not_between``) of a negated atom; set ops are the compiled in/not_in."""
    spec = FIELDS[field]
    if spec.kind == "flag":
        return ("已" if value else "未") + spec.label
    if op in ("between", "not_between"):
        low, high = (fmt_scalar(field, x) for x in value)
        return f"{'' if op == 'between' else '不'}{span(low, high)}"
    if op in _SYMBOLS:
        return f"{_SYMBOLS[op]} {fmt_scalar(field, value)}"
    yes = op == "in"
    if spec.kind == "certification":
        many = len(value) > 1 and not yes
        return f"{'持有' if yes else '未持有'}有效的{codes_text(field, value, names, '、' if many else '或')}" \
               f"{'中任何' if many else ''}资质"
    if spec.kind == "tag":
        many = len(value) > 1 and not yes
        shown = codes_text(field, value, names, "、" if many else "或")
        return f"{'具有' if yes else '不具有'}{shown}{'中任何' if many else ''}标签"
    if spec.kind in ("region", "industry"):
        return f"{'属于' if yes else '不属于'} {codes_text(field, value, names, '、')}(含下级)"
    return _tidy(f"{'为' if yes else '不为'}{codes_text(field, value, names)}")


_CJK_LATIN = re.compile(r"(?<=[\u4e00-\u9fff])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[\u4e00-\u9fff])")


def _tidy(text: str) -> str:
    """A space between Chinese and Latin letters or digits: '为A或B' → '为 A 或 B'."""
    return _CJK_LATIN.sub(" ", text)


# ---- describe ------------------------------------------------------------------------------------------

def describe(rule, params=None, as_of: dt.date | None = None, *, region_names: dict | None = None,
             industry_names: dict | None = None, tag_names: dict | None = None) -> list[str]:
    """Chinese sentences, one per top-level condition (the children of a root ``all``), for non-programmers."""
    check_rule(rule, params)
    if rule == {}:
        return ["不限条件(政策适用区域内的企业均可享受)"]
    as_of = as_of or dt.date.today()
    names = {"region": region_names, "industry": industry_names, "tag": tag_names}
    top = rule["all"] if "all" in rule else [rule]
    return [_sentence(r, params or {}, as_of, names, nested=False) for r in top]


def _sentence(rule: dict, params: dict, as_of: dt.date, names: dict, nested: bool) -> str:
    if "field" in rule:
        return _condition_phrase(rule, params, as_of, names)
    if "not" in rule:
        text = "不满足:" + _sentence(rule["not"], params, as_of, names, False)
    else:
        kind = "all" if "all" in rule else "any"
        parts = ";".join(_sentence(r, params, as_of, names, True) for r in rule[kind])
        text = ("同时满足以下条件:" if kind == "all" else "满足以下任一条件:") + parts
    return f"({text})" if nested else text


def _condition_phrase(rule: dict, params: dict, as_of: dt.date, names: dict) -> str:
    field, op = rule["field"], rule["op"]
    if "value" in rule:
        return _phrase(field, op, normalise_value(field, op, rule["value"]), names)
    entries = params[rule["param"]]
    day = as_of.isoformat()
    now = resolve_params({"p": entries}, as_of)["p"]
    text = _phrase(field, op, normalise_value(field, op, now), names)
    later = [f"自 {e['from']} 起为 {_bare_value(field, normalise_value(field, op, e['value']), names)}"
             for e in entries if e["from"] is not None and e["from"] > day]
    return text + (f"({';'.join(later)})" if later else "")


def _phrase(field: str, op: str, value, names: dict) -> str:
    spec = FIELDS[field]
    if spec.kind in ("number", "ratio", "age", "date"):
        return f"{spec.label}{_value_text(field, op, value, names)}"
    op = _CHOICE_OPS.get(op, op)
    req = requirement(field, op, value, names.get(spec.kind))
    return req if spec.kind in ("flag", "certification", "tag") else f"{spec.label}{req}"


def _bare_value(field: str, value, names: dict) -> str:
    """A parameter's value alone: '500 万元', '100 万元至 300 万元', '小型或微型'."""
    if isinstance(value, tuple):
        return span(fmt_scalar(field, value[0]), fmt_scalar(field, value[1]))[2:-2].strip()
    if isinstance(value, frozenset):
        return codes_text(field, value, names.get(FIELDS[field].kind))
    if isinstance(value, bool):
        return "是" if value else "否"
    return fmt_scalar(field, value)


def _value_text(field: str, op: str, value, names: dict) -> str:
    """The op and value as words: '不低于 3%', '在 100 万元至 300 万元之间(含)', '为小型或微型'."""
    spec = FIELDS[field]
    if spec.kind not in ("number", "ratio", "age", "date"):
        return requirement(field, _CHOICE_OPS.get(op, op), value, names.get(spec.kind))
    if op == "between":
        return span(fmt_scalar(field, value[0]), fmt_scalar(field, value[1])) + "(含)"
    words = _DATE_WORDS if spec.kind == "date" else _OP_WORDS
    return f"{words[op]} {fmt_scalar(field, value)}"


# ---- the form builder's catalogue -------------------------------------------------------------------------

_OP_LABELS = {
    "number": _OP_WORDS, "ratio": _OP_WORDS, "age": _OP_WORDS, "date": _DATE_WORDS, "choice": _SET_WORDS,
    "region": _PLACE_WORDS, "industry": _PLACE_WORDS, "tag": _TAG_WORDS, "certification": _CERT_WORDS,
    "flag": {"==": "是否"},
}
_HINTS = {
    "number": "数值;介于(between)填 [下限, 上限]", "ratio": "小数,3% 填 0.03;介于填 [下限, 上限]",
    "age": "整数(周岁,按评估日计算)", "date": "日期 YYYY-MM-DD", "choice": "选项代码;为以下之一(in)填列表",
    "region": "区划代码列表(2–12 位数字,含下级)", "industry": "行业代码列表:门类字母 A–T 或 2–4 位数字(含下级)",
    "tag": "标签代码;in/not_in 填列表", "certification": "资质代码;in/not_in 填列表", "flag": "true 或 false",
}


def field_catalog(tags: dict | None = None) -> list[dict]:
    """Fields for the UI form builder: name, label, kind, unit, ops [(op, 中文)], choices [(code, label)], hint."""
    out = []
    for name, spec in FIELDS.items():
        choices = list(spec.choices) if spec.choices else None
        if spec.kind == "tag" and tags is not None:
            choices = list(tags.items()) if isinstance(tags, dict) else [(t, t) for t in tags]
        elif spec.kind == "flag":
            choices = [(True, "已" + spec.label), (False, "未" + spec.label)]
        elif spec.kind == "industry":
            choices = list(SECTION_NAMES.items())
        labels = _OP_LABELS[spec.kind]
        out.append({"name": name, "label": spec.label, "kind": spec.kind, "unit": spec.unit,
                    "ops": [(op, labels[op]) for op in KIND_OPS[spec.kind]], "choices": choices,
                    "hint": _HINTS[spec.kind]})
    return out
