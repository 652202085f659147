"""Amount formulas: the estimated benefit of an item for one enterprise, in 元 (Decimal).

A formula is a subset of Python expressions, parsed with ``ast`` and checked against a whitelist:
numbers, ``+ - * /``, unary minus, parentheses, ``min(a, b, …)``, ``max(a, b, …)``, ``round(x)`` and
``round(x, n)`` (n an integer constant; ROUND_HALF_UP to n decimals, n may be negative), and names:

- money fields in 元 (the register keeps 万元; the value is multiplied by 10000): registered_capital,
  operating_revenue, total_assets, rd_expense, taxable_income;
- employees (人), rd_ratio (a fraction: rd_expense / operating_revenue), age_years (whole years on as_of);
- the item's parameters by name (Chinese names are fine when they are identifiers: ``补贴比例``), with the
  value in force on as_of; they must be numbers; a parameter named like a variable takes precedence.

Arithmetic is Decimal with precision 28 (ROUND_HALF_EVEN inside, as Decimal does). ``estimate`` returns None
when the formula is empty, a figure it uses is missing (or rd_ratio is undecidable), or it divides by zero
at run time; otherwise the value with the floor then the cap applied, never below 0, quantised to 0.01
ROUND_HALF_UP. Example: ``min(rd_expense * 0.1, 500000)`` = 10% of R&D expense, at most 500,000 元.
"""
from __future__ import annotations

import ast
import datetime as dt
import decimal
import functools
import math
from decimal import ROUND_HALF_UP, Decimal

from . import rules
from .rules import RuleError

WHERE = "金额公式"
MAX_LENGTH = 500
_CONTEXT = decimal.Context(prec=28)
_CENT = Decimal("0.01")
_UNITS = {"employees": "人", "rd_ratio": "小数,0.03 即 3%", "age_years": "年"}


def variables() -> list[tuple[str, str]]:
    """The enterprise variables a formula may use, with Chinese labels (units included)."""
    out = [(name, f"{rules.FIELDS[name].label}(元)") for name in rules.MONEY_FIELDS]
    out += [(name, f"{rules.FIELDS[name].label}({unit})") for name, unit in _UNITS.items()]
    return out


_VARIABLES = dict(variables())
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_SYNTAX_NAMES = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.Compare: "比较", ast.BoolOp: "and/or",
                 ast.IfExp: "if/else", ast.Attribute: "属性(.)", ast.Subscript: "下标([])", ast.Lambda: "lambda"}
_ALLOWED = "只能使用数值、变量、参数、+ - * /、括号、min()、max()、round(x, n)"


def check_formula(expr: str, params: dict | None = None) -> None:
    """Raise RuleError (path "金额公式") unless ``expr`` is empty or a valid formula over variables and params."""
    _parse(expr or "", frozenset((params or {}).keys()))


@functools.lru_cache(maxsize=4096)
def _parse(expr: str, param_names: frozenset) -> ast.expr | None:
    if not expr.strip():
        return None
    if len(expr) > MAX_LENGTH:
        raise RuleError(f"公式过长(最多 {MAX_LENGTH} 个字符)", WHERE)
    try:
        tree = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError as e:
        raise RuleError(f"语法错误(第 {e.offset or 1} 个字符附近):{_ALLOWED}", WHERE) from None
    _check_node(tree, param_names)
    return tree


def _check_node(node: ast.AST, names: frozenset) -> None:
    if isinstance(node, ast.Constant):
        return _check_constant(node.value)
    if isinstance(node, ast.Name):
        if node.id not in _VARIABLES and node.id not in names:
            known = "、".join(f"{n}({lab})" for n, lab in _VARIABLES.items())
            defined = "、".join(sorted(names)) or "无"
            raise RuleError(f"未知名称“{node.id}”;可用变量:{known};本事项参数:{defined}", WHERE)
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _check_node(node.operand, names)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        if isinstance(node.op, ast.Div) and _is_zero(node.right):
            raise RuleError("除数为 0:不能除以 0", WHERE)
        _check_node(node.left, names)
        return _check_node(node.right, names)
    if isinstance(node, ast.Call):
        return _check_call(node, names)
    what = _SYNTAX_NAMES.get(type(getattr(node, "op", node)), type(node).__name__)
    raise RuleError(f"不支持的写法“{what}”:{_ALLOWED}", WHERE)


def _check_constant(value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RuleError(f"不支持的常量 {value!r}:只能使用数值", WHERE)
    if isinstance(value, float) and not math.isfinite(value):
        raise RuleError("数值必须是有限数", WHERE)


def _is_zero(node: ast.AST) -> bool:
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value == 0


def _check_call(node: ast.Call, names: frozenset) -> None:
    func = node.func.id if isinstance(node.func, ast.Name) else None
    if func not in ("min", "max", "round"):
        raise RuleError(f"不支持的函数“{ast.unparse(node.func)}”:只能使用 min()、max()、round(x, n)", WHERE)
    if node.keywords:
        raise RuleError(f"{func}() 不支持关键字参数", WHERE)
    if func == "round":
        if not 1 <= len(node.args) <= 2:
            raise RuleError("round() 应写作 round(x) 或 round(x, n)", WHERE)
        if len(node.args) == 2 and not _int_constant(node.args[1]):
            raise RuleError("round(x, n) 的 n 应为整数常量(保留的小数位数,可为负数)", WHERE)
    elif not node.args:
        raise RuleError(f"{func}() 至少需要一个参数", WHERE)
    for arg in node.args:
        _check_node(arg, names)


def _int_constant(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) <= 12


# ---- evaluation -----------------------------------------------------------------------------------------

class _Missing(Exception):
    """A figure the formula needs is not known (or it divides by zero): no estimate."""


def _decimal(v) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(repr(v)) if isinstance(v, float) else Decimal(v)


def _variable(name: str, facts: dict, as_of: dt.date) -> Decimal:
    if name in rules.MONEY_FIELDS:
        v = facts.get(name)
        if v is None:
            raise _Missing(name)
        return _decimal(v) * 10000
    if name == "employees":
        v = facts.get(name)
    elif name == "rd_ratio":
        rd, revenue = facts.get("rd_expense"), facts.get("operating_revenue")
        v = None if rd is None or revenue is None or revenue == 0 else _decimal(rd) / _decimal(revenue)
    else:
        established = facts.get("established_on")
        v = None if established is None else _age(established, as_of)
    if v is None:
        raise _Missing(name)
    return _decimal(v)


def _age(established: dt.date, as_of: dt.date) -> int:
    from .row import age_on  # the row evaluator's definition, so amounts and eligibility agree
    return age_on(established, as_of)


def _eval(node: ast.AST, env) -> Decimal:
    if isinstance(node, ast.Constant):
        return _decimal(node.value)
    if isinstance(node, ast.Name):
        return env(node.id)
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, env), _eval(node.right, env)
        return _binary(node.op, left, right)
    args = [_eval(a, env) for a in node.args[:1]] if node.func.id == "round" else [_eval(a, env) for a in node.args]
    if node.func.id == "min":
        return min(args)
    if node.func.id == "max":
        return max(args)
    places = ast.literal_eval(node.args[1]) if len(node.args) == 2 else 0
    return args[0].quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _binary(op: ast.operator, left: Decimal, right: Decimal) -> Decimal:
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    if right == 0:
        raise _Missing("division by zero")
    return left / right


def _param_value(name: str, values: dict) -> Decimal:
    v = values[name]
    if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
        raise RuleError(f"参数“{name}”的取值 {v!r} 不是数值,不能用于金额公式", WHERE)
    return _decimal(v)


def estimate(expr: str, floor, cap, facts: dict, params: dict | None, as_of: dt.date) -> Decimal | None:
    """The amount in 元 (2 places, floor then cap, never negative), or None when it cannot be computed."""
    tree = _parse(expr or "", frozenset((params or {}).keys()))
    if tree is None:
        return None
    values = rules.resolve_params(params, as_of) if params else {}

    def env(name: str) -> Decimal:
        return _param_value(name, values) if name in values else _variable(name, facts, as_of)

    with decimal.localcontext(_CONTEXT):
        try:
            amount = _eval(tree, env)
        except _Missing:
            return None
        except (decimal.InvalidOperation, decimal.Overflow):
            return None
        if floor is not None:
            amount = max(amount, _decimal(floor))
        if cap is not None:
            amount = min(amount, _decimal(cap))
        return max(amount, Decimal(0)).quantize(_CENT, rounding=ROUND_HALF_UP)
