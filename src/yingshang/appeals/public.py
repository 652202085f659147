"""The public board (诉求公开栏): which cases the public sees and how they are redacted (DOMAIN §4)."""
from __future__ import annotations

from django.db.models import Prefetch, Q

from yingshang.appeals.models import (ACTION_LABELS, APPELLANT_STEPS, NOT_PUBLIC, Appeal, AppealEvent, Category,
                                      Result, Satisfaction, Status)
from yingshang.appeals.queries import PER_PAGE, code_name, label
from yingshang.core.redact import redact


def public_qs():
    """Disclosed cases the dispatcher has routed (or referred out), with what the board shows."""
    return (Appeal.objects.filter(disclose=True).exclude(status__in=NOT_PUBLIC)
            .select_related("region", "department", "enterprise"))


def with_public_events(qs):
    """``qs`` with each case's public steps loaded in one query (``public_out`` reads them)."""
    steps = AppealEvent.objects.filter(public=True).select_related("department").order_by("at", "id")
    return qs.prefetch_related(Prefetch("events", queryset=steps, to_attr="public_events"))


def scrubber(appeal: Appeal, *, hide_enterprise: bool = True):
    """redact() plus the case's own identifying strings, which may appear without a '联系人:' cue: its
    contact name and phone, and (for the public) its enterprise's name and USCC."""
    secrets = [s for s in (appeal.contact_name, appeal.contact_phone) if s and len(s) >= 2]
    if appeal.enterprise_id and hide_enterprise:
        secrets += [s for s in (appeal.enterprise.name, appeal.enterprise.uscc) if s]

    def scrub(text: str) -> str:
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "某企业" if appeal.enterprise_id and secret == appeal.enterprise.name
                                else "*" * len(secret))
        return redact(text)

    return scrub


def staff_scrubber(appeal: Appeal):
    """What staff see before the audited reveal: personal data masked, the enterprise named."""
    return scrubber(appeal, hide_enterprise=False)


def public_out(appeal: Appeal) -> dict:
    """The case as the public sees it: redacted text, no contact data, no enterprise identity."""
    scrub = scrubber(appeal)
    events = getattr(appeal, "public_events", None)
    if events is None:  # one case; lists prefetch (with_public_events)
        events = appeal.events.filter(public=True).select_related("department")
    return {"number": appeal.number, "title": scrub(appeal.title), "content": scrub(appeal.content),
            "category": appeal.category, "category_label": label(Category, appeal.category),
            "region": code_name(appeal.region), "department": appeal.department.name if appeal.department_id else None,
            "status": appeal.status, "status_label": label(Status, appeal.status), "created_at": appeal.created_at,
            "replied_at": appeal.replied_at, "result": appeal.result, "result_label": label(Result, appeal.result),
            "reply": scrub(appeal.reply), "satisfaction_label": label(Satisfaction, appeal.satisfaction),
            "timeline": [{"at": e.at, "action": e.action, "action_label": ACTION_LABELS.get(e.action, e.action),
                          "status_label": label(Status, e.to_status),
                          "department": e.department.name if e.department_id and e.action not in APPELLANT_STEPS
                          else None, "reason": scrub(e.reason)}
                         for e in events]}


def search(qs, q: str):
    """Search the text as the public sees it: a case matching only inside masked data (a phone number, a
    contact name) must not be found, or the search would reveal it. Candidates come from the database,
    the redacted check runs here (bounded)."""
    candidates = qs.filter(Q(title__icontains=q) | Q(content__icontains=q) | Q(reply__icontains=q))
    keep = [a.pk for a in candidates.order_by("-created_at", "-id")[:PER_PAGE * 20]
            if any(q.lower() in scrubber(a)(t).lower() for t in (a.title, a.content, a.reply))]
    return qs.filter(pk__in=keep)
