"""Writing the append-only audit log. Actions call ``record``; ``diff`` computes field changes."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

from yingshang.core.bulk import db_value, insert_rows
from yingshang.core.middleware import current_ip
from yingshang.core.models import AuditAction, AuditLog


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a field value."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The current values of ``fields`` (attribute names; FKs by ``*_id``) as plain JSON values."""
    return {f: _plain(getattr(obj, f)) for f in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """``{field: [old, new]}`` for every field whose plain value changed."""
    return {k: [_plain(before.get(k)), _plain(v)] for k, v in after.items() if _plain(before.get(k)) != _plain(v)}


def record(actor, action: str, obj: models.Model | None = None, *, changes: dict | None = None,
           reason: str = "", object_type: str = "", object_id: str = "", object_repr: str = "") -> AuditLog:
    """Append one audit row. ``actor`` may be None for system actions."""
    entry = AuditLog(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=((str(actor) if getattr(actor, "pk", None) else (actor or "系统"))
                    if not isinstance(actor, str) else actor)[:150],
        action=action,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=(object_id or (str(obj.pk) if obj is not None else ""))[:64],
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        changes=changes or {},
        reason=reason,
        ip=current_ip(),
    )
    entry.save(force_insert=True)
    return entry


def record_bulk(actor, action: str, rows: list[tuple[str, str, str, dict]], reason: str = "", *,
                at=None) -> None:
    """Append many rows at once: ``rows`` = [(object_type, object_id, object_repr, changes)]."""
    if not rows:
        return
    actor_obj = actor if getattr(actor, "pk", None) else None
    name = str(actor) if actor_obj else (actor if isinstance(actor, str) else "系统")
    json_prep = AuditLog._meta.get_field("changes").get_db_prep_save
    stamp, ip, actor_id = db_value(at or timezone.now()), current_ip(), actor_obj.pk if actor_obj else None
    values = [(stamp, actor_id, name, action, t, i, r[:200], json_prep(c, connection), reason, ip)
              for t, i, r, c in rows]
    insert_rows(AuditLog, ["at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
                           "changes", "reason", "ip"], values)


__all__ = ["AuditAction", "record", "record_bulk", "snapshot", "diff"]
