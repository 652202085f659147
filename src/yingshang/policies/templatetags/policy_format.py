"""Display formats of the policy pages: money as "2,000,000.00 元" everywhere; redacted free text."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()
CENT = Decimal("0.01")


def money(value) -> str:
    """Thousands separators and 2 decimals ('' when the value is empty or not a number)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError):
        return ""
    return f"{amount:,.2f}"


@register.filter
def yuan(value, missing: str = "—") -> str:
    """'2,000,000.00 元'; ``missing`` (default '—') when there is no amount."""
    text = money(value)
    return f"{text} 元" if text else missing


@register.filter
def redacted(value) -> str:
    """Officer-entered free text shown outside the staff pages: personal data masked (core.redact)."""
    from yingshang.core.redact import redact

    return redact(value)
