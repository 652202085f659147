"""Life-cycle actions of an appeal: the shared machinery (row lock, status check, event, audit, deadline
recomputation, notification recipients). The actions themselves live in ``actions_intake`` (submit,
grade, dispatch, return, arbitrate, refer, merge) and ``actions_handling`` (sign, contact, pause,
resume, extensions, reply, rate, reopen, close); ``from yingshang.appeals.actions import do_x`` works
for all of them.

Every ``do_*`` runs in one transaction, locks the case row (``select_for_update``) and checks the
status inside the lock, so of two people acting at once exactly one wins and the other gets a 409
naming the status the case has now.
"""
from __future__ import annotations

from importlib import import_module

from django.utils import timezone

from yingshang.core import audit
from yingshang.core.errors import Conflict, NotFound, ValidationFailed  # noqa: F401 (re-used by callers)
from yingshang.core.models import AuditAction, Role, User
from yingshang.appeals.models import Appeal, AppealEvent, Status

MAX_REASON = 300
MAX_TEXT = 5000
# Steps the public board may show (redacted).
PUBLIC_ACTIONS = {"submit", "dispatch", "reply", "close", "rate", "reopen", "refer", "merge"}
# Fields the audit row compares before/after a transition.
AUDIT_FIELDS = ["status", "grade_id", "department_id", "dispatched_at", "signed_at", "first_contact_at",
                "replied_at", "closed_at", "due_date", "round", "return_count", "reopen_count", "result",
                "satisfaction", "rated_resolved", "rating_defaulted", "merged_into_id", "referral_reason"]
_SUBMODULES = ("yingshang.appeals.actions_intake", "yingshang.appeals.actions_handling",
               "yingshang.appeals.actions_followup")


def __getattr__(name: str):
    """Re-export the ``do_*`` actions of the two sub-modules without a circular import."""
    if name.startswith("do_"):
        for module in _SUBMODULES:
            found = getattr(import_module(module), name, None)
            if found is not None:
                return found
    raise AttributeError(name)


# ---------------------------------------------------------------- input helpers
def fail(field: str, reason: str):
    raise ValidationFailed(f"{field}: {reason}", fields={field: reason})


def text(value, field: str, label: str, *, required: bool = True, limit: int = MAX_REASON) -> str:
    """A stripped string; Chinese errors name ``field`` when missing or too long."""
    if value is not None and not isinstance(value, str):
        fail(field, f"{label}必须是文本")
    value = (value or "").strip()
    if required and not value:
        fail(field, f"必须填写{label}")
    if len(value) > limit:
        fail(field, f"{label}不能超过 {limit} 个字符")
    return value


def choice(value, field: str, label: str, choices) -> str:
    """``value`` if it is one of ``choices``; otherwise a Chinese error naming the field and the options."""
    if value in choices.values:
        return value
    if not value:
        fail(field, f"请选择{label}")
    options = "、".join(f"{c.value}({c.label})" for c in choices)
    fail(field, f"{label}「{value}」无效,可选:{options}")


def status_label(value: str) -> str:
    try:
        return Status(value).label
    except ValueError:
        return value


def require_status(appeal: Appeal, allowed, verb: str) -> None:
    """Raise Conflict (409) naming the current status unless ``appeal.status`` is in ``allowed``."""
    if appeal.status not in allowed:
        raise Conflict(f"诉求 {appeal.number} 当前状态为「{status_label(appeal.status)}」,不能{verb}",
                       code="illegal_transition")


# ---------------------------------------------------------------- lock, event, audit
def lock(appeal_or_id) -> Appeal:
    """The case row, locked until the end of the transaction (fresh from the database)."""
    pk = getattr(appeal_or_id, "pk", appeal_or_id)
    found = Appeal.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFound("诉求不存在")
    return found


def log_step(appeal: Appeal, actor, action: str, from_status: str, *, changes: dict | None = None,
             reason: str = "", data: dict | None = None, department=None, public: bool | None = None) -> AppealEvent:
    """Append the case event and the audit row of one step (the row itself is already saved)."""
    event = AppealEvent.objects.create(
        appeal=appeal, at=appeal.updated_at, actor=actor if getattr(actor, "pk", None) else None, action=action,
        from_status=from_status, to_status=appeal.status, department=department or appeal.department,
        reason=reason, data=data or {}, public=action in PUBLIC_ACTIONS if public is None else public)
    audit.record(actor, AuditAction.CREATE if action == "submit" else AuditAction.TRANSITION, appeal,
                 changes={"action": action, **(changes or {})}, reason=reason)
    return event


def save(appeal: Appeal, before: dict, actor, action: str, *, reason: str = "", data: dict | None = None,
         department=None, public: bool | None = None, fields: list[str] | None = None) -> AppealEvent:
    """Save the changed fields (audited ones found by diff, others named in ``fields``) and log the step."""
    appeal.updated_at = timezone.now()
    changes = audit.diff(before, audit.snapshot(appeal, AUDIT_FIELDS))
    names = {f[:-3] if f.endswith("_id") else f for f in changes} | set(fields or ()) | {"updated_at"}
    appeal.save(update_fields=sorted(names))
    return log_step(appeal, actor, action, before.get("status") or "", changes=changes, reason=reason, data=data,
                    department=department, public=public)


def before(appeal: Appeal) -> dict:
    """The audited fields as they stand, to compare after the step."""
    return audit.snapshot(appeal, AUDIT_FIELDS)


def recompute(appeal: Appeal, now=None) -> list[str]:
    """Recompute the case clock (``deadlines.recompute``); returns the clock fields to save."""
    from yingshang.appeals import deadlines  # lazily: deadlines imports the calendar machinery

    deadlines.recompute(appeal, now=now)
    return list(deadlines.CLOCK_FIELDS)


def clear_timers(appeal: Appeal) -> list[str]:
    """A replied, closed, referred or merged case runs no escalation timer."""
    appeal.next_escalation_at = None
    return ["next_escalation_at"]


# ---------------------------------------------------------------- notifications
def _region_prefixes(code: str) -> list[str]:
    return [code[:n] for n in range(1, len(code) + 1)]


def dispatchers_for(appeal: Appeal):
    """Active dispatchers whose region scope covers the case."""
    from django.db.models import Q

    prefixes = _region_prefixes(appeal.region_id)
    scope = (Q(region__isnull=True, department__isnull=True) | Q(region__prefix__in=prefixes)
             | Q(region__isnull=True, department__region__prefix__in=prefixes))
    return User.objects.filter(scope, role=Role.DISPATCHER, is_active=True)


def department_staff(department_ids):
    """Handlers and leaders of the given departments."""
    return User.objects.filter(department_id__in=list(department_ids), role__in=[Role.HANDLER, Role.DEPT_LEADER],
                               is_active=True)


def appellants(appeal: Appeal):
    """The enterprise's users and the submitter (who may be anonymous: then nobody in-app)."""
    from django.db.models import Q

    who = Q(pk=appeal.submitted_by_id) if appeal.submitted_by_id else Q(pk__in=[])
    if appeal.enterprise_id:
        who |= Q(role=Role.ENTERPRISE, enterprise_id=appeal.enterprise_id)
    return User.objects.filter(who, is_active=True)


def notify(users, appeal: Appeal, action: str, title: str, body: str = "", suffix: str = "") -> None:
    """Notify inside the transaction (the house pattern: the row exists exactly when the step committed;
    delivery is kicked after commit); the key makes a retried step notify once per round."""
    from yingshang.core.notify import do_notify

    key = f"appeal:{appeal.pk}:{action}:{appeal.round}" + (f":{suffix}" if suffix else "")
    do_notify(users, key=key, title=f"诉求 {appeal.number}:{title}"[:200], body=body,
              link=f"/appeals/{appeal.pk}/", category="appeal")

