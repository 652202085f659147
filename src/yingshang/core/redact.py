"""Redaction of personal data in free text shown to the public (DOMAIN §4).

``redact(text)`` masks mobile numbers, landlines, 18-digit resident ID numbers, e-mail addresses, bank
card numbers and the names after 联系人/联系人员/经办人/负责人; ``redact_fields(obj, fields)`` does it
for chosen keys of a dict (strings, and the strings inside lists/dicts, e.g. materials with notes).

Pure functions over precompiled regexes. Masks keep a recognisable shape (``138****8000``,
``张**``) so readers see something was there. Decisions:
- ID numbers: an 18-character number is masked when its check digit is valid OR it carries a
  plausible birth date. A mistyped real ID still leaks nothing, while 18-digit numbers that are
  neither (e.g. an all-digit 统一社会信用代码 starting with 9) survive.
- Bank cards: 16–19 digits (plain or in groups of four) masked only when they pass the Luhn check,
  so long amounts and account-like numbers without a check digit survive. Real cards pass Luhn.
- Landlines: the area code (0 + 2–3 digits) is required; the local number starts with 2–9.
- Order matters: IDs and cards first, so the phone patterns never see parts of them.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# A number glued to letters or digits is part of something else (a 统一社会信用代码, a longer number).
_ID = re.compile(r"(?<![0-9A-Za-z])[1-8]\d{16}[0-9Xx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z.])(?:\d{16,19}|\d{4}([ \-])\d{4}(?:\1\d{4}){1,2}(?:\1\d{1,4})?)(?![0-9A-Za-z.])")
_MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)\s?86[\s\-]?|[((]\+?86[))]\s?)?"
                     r"(1[3-9]\d)[\s\-]?(\d{4})[\s\-]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<![\d\-])(?:[((](0\d{2,3})[))]\s?|(0\d{2,3})[\s\-]?)([2-9]\d{6,7})"
                       r"(?:\s?(?:-|转|分机|ext\.?)\s?(\d{1,6}))?(?!\d)"
                       r"((?:\s?[、/,,]\s?[2-9]\d{6,7}(?!\d))*)")  # 0394-8231234、8231235
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9._%+\-]+)@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})")
_NAME = r"[\u4e00-\u9fff·]{2,4}"
_CONTACT = re.compile(r"(联系人员|联系人|经办人|负责人)((?:及(?:其)?(?:联系)?(?:电话|方式))?\s*[::]\s*|\s+)"
                      rf"({_NAME}(?:\s*[、,,/]\s*{_NAME})*)")
_NOT_A_NAME = ("各", "本", "由", "为", "是", "单位", "企业", "法定", "主要", "项目", "部门", "财务", "相关",
               "申报", "电话", "手机", "联系", "见", "详见", "待定", "无", "签")


def _id_check_ok(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17].upper()


def _birth_plausible(number: str) -> bool:
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date.today()


def _mask_id(m: re.Match) -> str:
    number = m.group(0)
    if not (_id_check_ok(number) or _birth_plausible(number)):
        return number
    return number[:3] + "*" * 13 + number[-2:]


def luhn_ok(digits: str) -> bool:
    """The Luhn check every bank card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _mask_card(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    if not (16 <= len(digits) <= 19 and luhn_ok(digits)):
        return m.group(0)
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _mask_mobile(m: re.Match) -> str:
    return f"{m.group(1)}****{m.group(3)}"


def _mask_landline(m: re.Match) -> str:
    area = m.group(1) or m.group(2)
    more = re.sub(r"\d", "*", m.group(5) or "")
    return f"{area}-" + "*" * len(m.group(3)) + ("-" + "*" * len(m.group(4)) if m.group(4) else "") + more


def _mask_email(m: re.Match) -> str:
    return f"{m.group(1)[0]}***@{m.group(2)}"


def _mask_name(name: str) -> str:
    return name if name.startswith(_NOT_A_NAME) else name[0] + "**"


def _mask_contact(m: re.Match) -> str:
    names = re.sub(_NAME, lambda n: _mask_name(n.group(0)), m.group(3))
    return m.group(1) + m.group(2) + names


_STEPS = ((_ID, _mask_id), (_CARD, _mask_card), (_EMAIL, _mask_email), (_MOBILE, _mask_mobile),
          (_LANDLINE, _mask_landline), (_CONTACT, _mask_contact))


def redact(text: str | None) -> str:
    """``text`` with personal data masked (phones, ID numbers, e-mails, bank cards, contact names)."""
    if not text:
        return text or ""
    for pattern, mask in _STEPS:
        text = pattern.sub(mask, text)
    return text


def redact_value(value: Any) -> Any:
    """Strings redacted; lists, tuples and dicts redacted element by element; anything else as is."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value


def redact_fields(obj: dict, fields: Iterable[str]) -> dict:
    """A copy of ``obj`` with the given keys redacted (missing keys are ignored; ``obj`` is unchanged)."""
    out = dict(obj)
    for name in fields:
        if name in out:
            out[name] = redact_value(out[name])
    return out
