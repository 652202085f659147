"""Notifications: the in-app inbox plus e-mail/SMS through the outbox.

``do_notify`` writes inside the caller's transaction, so a notification exists exactly when the action
that caused it committed; delivery is kicked after commit. Every row has a unique key derived from
the caller's ``key``, so calling again with the same key (a retried action, a re-run periodic job)
adds nothing. Rows are written with bulk inserts so one policy can reach 100,000 enterprises.
Notifications are a consequence of audited actions and are not audited one by one.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from yingshang import jobs
from yingshang.core.models import Notification, OutboxChannel, OutboxMessage

INBOX = "inbox"
CHANNELS = {INBOX, OutboxChannel.EMAIL.value, OutboxChannel.SMS.value}
CHUNK = 2000
MAX_KEY = 150  # the stored keys add ":<user id>:<channel>" and must fit in 200 characters
SMS_MAX = 300


@dataclass
class NotifyResult:
    recipients: int = 0
    inbox: int = 0  # rows offered (already existing keys are skipped by the database)
    outbox: int = 0


def _users(recipients) -> Iterable:
    """Iterate recipients without loading 100,000 full user rows at once."""
    if isinstance(recipients, QuerySet):
        return recipients.filter(is_active=True).only("id", "phone", "email").iterator(chunk_size=CHUNK)
    return (u for u in recipients if u.is_active)


def _absolute(link: str) -> str:
    base = getattr(settings, "YINGSHANG_BASE_URL", "").rstrip("/")
    return f"{base}{link}" if base and link.startswith("/") else link


def _outbox_rows(user, key: str, channels, title: str, body: str, link: str) -> list[OutboxMessage]:
    rows = []
    url = _absolute(link)
    if OutboxChannel.EMAIL in channels and user.email:
        text = "\n\n".join(p for p in (body, url) if p)
        rows.append(OutboxMessage(key=f"{key}:{user.pk}:email", channel=OutboxChannel.EMAIL, user_id=user.pk,
                                  address=user.email, subject=title, body=text or title))
    if OutboxChannel.SMS in channels and user.phone:
        text = f"【营商通】{title}" + (f":{body}" if body else "") + (f" {url}" if url else "")
        rows.append(OutboxMessage(key=f"{key}:{user.pk}:sms", channel=OutboxChannel.SMS, user_id=user.pk,
                                  address=user.phone, body=text[:SMS_MAX]))
    return rows


def _flush(inbox: list, outbox: list, result: NotifyResult) -> None:
    Notification.objects.bulk_create(inbox, ignore_conflicts=True)
    OutboxMessage.objects.bulk_create(outbox, ignore_conflicts=True)
    result.inbox += len(inbox)
    result.outbox += len(outbox)
    inbox.clear()
    outbox.clear()


def do_notify(recipients, *, key: str, title: str, body: str = "", link: str = "", category: str = "",
              channels: Iterable[str] = (INBOX,)) -> NotifyResult:
    """Notify users (a list or a User queryset) once per ``key``: inbox rows and outbox messages."""
    channels = set(channels)
    if not key or len(key) > MAX_KEY or not channels <= CHANNELS:
        raise ValueError(f"通知参数有误:key 须为 1–{MAX_KEY} 个字符,渠道只能是 {sorted(CHANNELS)}")
    result, inbox, outbox = NotifyResult(), [], []
    with transaction.atomic():
        for user in _users(recipients):
            result.recipients += 1
            if INBOX in channels:
                inbox.append(Notification(user_id=user.pk, key=f"{key}:{user.pk}", category=category,
                                          title=title[:200], body=body, link=link[:300]))
            outbox.extend(_outbox_rows(user, key, channels, title[:200], body, link))
            if len(inbox) + len(outbox) >= CHUNK:
                _flush(inbox, outbox, result)
        _flush(inbox, outbox, result)
        if result.outbox:
            jobs.enqueue_on_commit("core.deliver_outbox")
    return result
