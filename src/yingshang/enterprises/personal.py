"""Personal data on an enterprise record (legal representative, contact person, phone).

Staff see it masked; revealing the full values is an action that writes an audit row
(``read_personal``). An enterprise's own users see their record unmasked and unaudited."""
from __future__ import annotations

from django.db import transaction

from yingshang.core import audit
from yingshang.core.access import access_enterprise, access_staff
from yingshang.core.models import AuditAction, Role
from yingshang.enterprises.models import PERSONAL_FIELDS, Enterprise

PERSONAL_LABELS = {f: str(Enterprise._meta.get_field(f).verbose_name) for f in PERSONAL_FIELDS}
PHONE_FIELDS = {"contact_phone"}


def mask_name(value: str) -> str:
    """Keep the first character of a name: 张三丰 → 张**; empty stays empty."""
    value = (value or "").strip()
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 1, 1)


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits of a phone number: 13812345678 → 138****5678."""
    value = (value or "").strip()
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask(field: str, value) -> str:
    """The masked rendering of one personal field's value."""
    text = "" if value is None else str(value)
    return mask_phone(text) if field in PHONE_FIELDS else mask_name(text)


def sees_unmasked(user, enterprise: Enterprise) -> bool:
    """Enterprise users see their own enterprise's contact data as it is."""
    return user.role == Role.ENTERPRISE and user.enterprise_id == enterprise.pk and not user.is_superuser


def personal_rows(enterprise: Enterprise, *, masked: bool) -> list[dict]:
    """``[{field, label, value}]`` for the personal fields, masked or not."""
    rows = []
    for field in PERSONAL_FIELDS:
        value = getattr(enterprise, field) or ""
        rows.append({"field": field, "label": PERSONAL_LABELS.get(field, field),
                     "value": mask(field, value) if masked else value})
    return rows


def do_read_personal(user, enterprise: Enterprise) -> dict[str, str]:
    """Reveal an enterprise's personal data to a staff user in scope, and audit the read."""
    access_staff(user)
    access_enterprise(user, enterprise)
    with transaction.atomic():
        labels = "、".join(PERSONAL_LABELS.get(f, f) for f in PERSONAL_FIELDS)
        audit.record(user, AuditAction.READ_PERSONAL, enterprise, reason=f"查看个人信息:{labels}")
    return {field: getattr(enterprise, field) or "" for field in PERSONAL_FIELDS}
