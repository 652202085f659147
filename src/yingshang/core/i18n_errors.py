"""The API's error contract: the ``{"error": {"code", "message", "fields"}}`` schema every operation
documents, and the translation of pydantic/ninja validation errors into one Chinese message plus
per-field reasons."""
from __future__ import annotations

from ninja import Schema

_REASONS = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "int_parsing_size": "数值超出范围",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为布尔值 true/false",
    "bool_type": "应为布尔值 true/false",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "date_parsing": "应为日期 YYYY-MM-DD",
    "date_type": "应为日期 YYYY-MM-DD",
    "datetime_parsing": "应为日期时间(ISO 8601)",
    "string_type": "应为文本",
    "string_unicode": "应为文本",
    "list_type": "应为列表",
    "dict_type": "应为对象(JSON object)",
    "model_type": "应为对象(JSON object)",
    "model_attributes_type": "应为对象(JSON object)",
    "json_invalid": "不是合法的 JSON",
    "json_type": "不是合法的 JSON",
    "extra_forbidden": "不是可识别的字段",
    "greater_than": "取值过小",
    "greater_than_equal": "取值过小",
    "less_than": "取值过大",
    "less_than_equal": "取值过大",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "too_long": "项数过多",
    "too_short": "项数过少",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "none_required": "应为 null",
    "union_tag_invalid": "取值不在允许范围内",
}
# Names pydantic puts in ``loc`` for the branch of a union it tried, e.g. ("employees", "int").
_UNION_BRANCHES = {"int", "float", "str", "bool", "list", "dict", "none", "decimal", "date", "datetime"}
_LOC_ROOTS = ("body", "query", "path", "form", "payload", "header", "cookie")
BODY = "请求体"


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str] = {}


class ErrorOut(Schema):
    error: ErrorBody


# The error answers every authenticated operation may give; add 409 where a conflict is possible.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in _LOC_ROOTS]
    parts = [p for p in parts if p not in _UNION_BRANCHES and not p.startswith(("function-", "constrained-",
                                                                                 "json-or-python["))]
    return ".".join(parts) or BODY


def _reason(err: dict) -> str:
    reason = _REASONS.get(err.get("type", ""))
    if reason:
        return reason
    ctx_error = (err.get("ctx") or {}).get("error")
    # Our own validators raise ValueError with a Chinese message; pydantic's own English text is not shown.
    if isinstance(ctx_error, ValueError) and any("\u4e00" <= c <= "\u9fff" for c in str(ctx_error)):
        return str(ctx_error)
    msg = err.get("msg", "")
    return msg if any("\u4e00" <= c <= "\u9fff" for c in msg) else "格式不正确"


def describe_validation_errors(errors: list[dict]) -> tuple[str, dict[str, str]]:
    """Return ``(message, {field: reason})`` for a list of pydantic error dicts."""
    fields: dict[str, str] = {}
    for err in errors:
        fields.setdefault(_field(err.get("loc", ())), _reason(err))
    summary = ";".join(f"{k}: {v}" for k, v in fields.items())
    return f"请求参数有误 — {summary}", fields
