"""Delivering the outbox (e-mail and SMS), safely with several workers.

A delivery run *claims* due rows by moving them from ``pending`` to ``sending`` with its own
``claim_token`` and a lease (``claimed_until``) in one conditional UPDATE: a row can be claimed by one
run only, on SQLite (writes are serialised) and on PostgreSQL (``SELECT … FOR UPDATE SKIP LOCKED``
picks rows, the UPDATE re-checks the condition). The run then sends each message outside any
transaction and records the outcome only if it still holds the claim. A message marked ``sent`` is
never claimed again. A row left in ``sending`` past its lease (its worker died) is claimed again;
the lease is far longer than the send timeout, so a live worker never loses a row it is sending.

Failures are retried with exponential backoff (``BACKOFF_BASE`` × 2^(attempts−1), capped at
``BACKOFF_CAP``); after ``max_attempts`` tries — or at once for a permanent error — the row is ``dead``.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from yingshang.core import sms
from yingshang.core.models import OutboxChannel, OutboxMessage, OutboxStatus

log = logging.getLogger("yingshang.outbox")

BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=2)
LEASE = dt.timedelta(minutes=10)
SEND_TIMEOUT = 30  # seconds; must stay well below LEASE
DEFAULT_MAX_ATTEMPTS = 8


class PermanentFailure(Exception):
    """Raised by a channel when retrying cannot help."""


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"claimed": self.claimed, "sent": self.sent, "retried": self.retried, "dead": self.dead}


def max_attempts() -> int:
    return int(getattr(settings, "YINGSHANG_OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after ``attempts`` failed tries (30 s, 60 s, 120 s … capped)."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _due(now: dt.datetime) -> Q:
    return Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(status=OutboxStatus.SENDING,
                                                                          claimed_until__lt=now)


def claim(batch: int = 200, now: dt.datetime | None = None) -> tuple[str, list[OutboxMessage]]:
    """Claim up to ``batch`` due messages for this run; returns (claim token, claimed rows)."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    with transaction.atomic():
        candidates = OutboxMessage.objects.filter(_due(now)).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("id", flat=True)[:batch])
        if ids:
            OutboxMessage.objects.filter(_due(now), id__in=ids).update(
                status=OutboxStatus.SENDING, claim_token=token, claimed_until=now + LEASE,
                attempts=F("attempts") + 1)
    rows = list(OutboxMessage.objects.filter(id__in=ids, claim_token=token, status=OutboxStatus.SENDING)) if ids else []
    return token, rows


def send(message: OutboxMessage) -> None:
    """Send one message through its channel (raises on failure)."""
    if message.channel == OutboxChannel.EMAIL:
        send_mail(message.subject, message.body, None, [message.address], fail_silently=False,
                  connection=get_connection(timeout=SEND_TIMEOUT))
    elif message.channel == OutboxChannel.SMS:
        try:
            sms.get_provider().send(message.address, message.body)
        except sms.PermanentSmsError as exc:
            raise PermanentFailure(str(exc)) from exc
    else:
        raise PermanentFailure(f"未知渠道 {message.channel}")


def _held(message: OutboxMessage, token: str):
    return OutboxMessage.objects.filter(pk=message.pk, claim_token=token, status=OutboxStatus.SENDING)


def _mark_sent(message: OutboxMessage, token: str) -> bool:
    return bool(_held(message, token).update(status=OutboxStatus.SENT, sent_at=timezone.now(),
                                             claimed_until=None, last_error=""))


def _mark_failed(message: OutboxMessage, token: str, exc: Exception) -> str:
    """Schedule a retry, or give up; returns the new status."""
    error = f"{type(exc).__name__}: {exc}"[:1000]
    give_up = isinstance(exc, PermanentFailure) or message.attempts >= max_attempts()
    status = OutboxStatus.DEAD if give_up else OutboxStatus.PENDING
    _held(message, token).update(status=status, last_error=error, claimed_until=None,
                                 next_attempt_at=timezone.now() + backoff(message.attempts))
    return status


def deliver_batch(batch: int = 200) -> DeliveryReport:
    """Claim one batch of due messages and try to send each of them once."""
    token, rows = claim(batch)
    report = DeliveryReport(claimed=len(rows))
    for message in rows:
        try:
            send(message)
        except Exception as exc:  # any channel failure is recorded on the row and retried later
            log.warning("消息 %s 发送失败(第 %s 次):%s", message.key, message.attempts, exc)
            if _mark_failed(message, token, exc) == OutboxStatus.DEAD:
                report.dead += 1
            else:
                report.retried += 1
            continue
        if _mark_sent(message, token):
            report.sent += 1
    return report


def deliver(batch: int = 200, budget_seconds: float = 20.0) -> DeliveryReport:
    """Deliver batches until nothing is due or the time budget is used up (the next periodic run
    continues), so one run never holds a worker for long."""
    total = DeliveryReport()
    started = time.monotonic()
    while True:
        report = deliver_batch(batch)
        for name in ("claimed", "sent", "retried", "dead"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if report.claimed < batch or time.monotonic() - started > budget_seconds:
            return total
