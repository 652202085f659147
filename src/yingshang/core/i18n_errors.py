"""Turn pydantic/ninja validation errors into one Chinese message plus per-field reasons."""
from __future__ import annotations

_REASONS = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为布尔值 true/false",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "date_parsing": "应为日期 YYYY-MM-DD",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "json_invalid": "不是合法的 JSON",
    "extra_forbidden": "不是可识别的字段",
    "greater_than_equal": "取值过小",
    "less_than_equal": "取值过大",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
}


def describe_validation_errors(errors: list[dict]) -> tuple[str, dict[str, str]]:
    """Return ``(message, {field: reason})`` for a list of pydantic error dicts."""
    fields: dict[str, str] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form", "payload")]
        name = ".".join(loc) or "请求体"
        reason = _REASONS.get(err.get("type", ""), err.get("msg", "格式不正确"))
        fields.setdefault(name, reason)
    summary = ";".join(f"{k}: {v}" for k, v in fields.items())
    return f"请求参数有误 — {summary}", fields
