"""The 12345 hotline: its work orders arrive through ``POST /api/v1/appeals`` (channel ``hotline_12345``,
its order number in ``external_ref``, idempotent); replies, ratings and closures of those cases are
reported back through a webhook. ``queue_update`` writes the report inside the action's transaction
(one row per case, kind and round), so a report exists exactly when the step committed."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from yingshang.appeals.models import Appeal, AppealOutbound, Channel, OutboundStatus

log = logging.getLogger(__name__)
KINDS = ("reply", "rating", "close", "refer")
TIMEOUT_S = 10
MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=2)  # a worker that dies mid-delivery frees its reports after this
# No attempt starts later than this before the lease ends (a connect and a read, each up to TIMEOUT_S),
# so that no other worker can claim a report while it is being sent.
ATTEMPT_MARGIN = dt.timedelta(seconds=3 * TIMEOUT_S)
# Waits after the 1st, 2nd, … failed attempt (about a day in all before giving up).
BACKOFF = [dt.timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 720)]


def reports_back(appeal: Appeal) -> bool:
    """True for a case that came from the 12345 system with its order number."""
    return appeal.channel == Channel.HOTLINE_12345 and bool(appeal.external_ref)


def payload(appeal: Appeal, kind: str) -> dict:
    """What the 12345 system receives: its order number, our number, the step and its content."""
    return {"order_no": appeal.external_ref, "number": appeal.number, "kind": kind, "round": appeal.round,
            "status": appeal.status, "result": appeal.result, "reply": appeal.reply,
            "department": appeal.department.name if appeal.department_id else "",
            "replied_at": appeal.replied_at.isoformat() if appeal.replied_at else None,
            "rating": {"resolved": appeal.rated_resolved, "satisfaction": appeal.satisfaction,
                       "comment": appeal.rating_comment, "defaulted": appeal.rating_defaulted},
            "referral_reason": appeal.referral_reason,
            "at": timezone.now().isoformat()}


def queue_update(appeal: Appeal, kind: str) -> None:
    """Queue the report of ``kind`` for a 12345 case (nothing for other channels); delivery after commit."""
    if not reports_back(appeal):
        return
    AppealOutbound.objects.get_or_create(appeal=appeal, kind=kind, round=appeal.round,
                                         defaults={"payload": payload(appeal, kind),
                                                   "next_attempt_at": timezone.now()})
    from yingshang.jobs import enqueue_on_commit

    enqueue_on_commit("appeals.deliver_12345")


# ---------------------------------------------------------------- delivery
def _backoff(attempts: int) -> dt.timedelta:
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: urllib would follow it with a GET, without the report, and call it sent."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(url: str, secret: str, body: bytes) -> None:
    """POST ``body`` (JSON) signed with HMAC-SHA256; raises on a network error or a non-2xx answer."""
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "X-Yingshang-Signature": f"sha256={signature}"})
    with _OPENER.open(request, timeout=TIMEOUT_S) as answer:  # the configured URL (settings), not user input
        if not 200 <= answer.status < 300:
            raise urllib.error.HTTPError(url, answer.status, "unexpected status", answer.headers, None)


def _claim(now: dt.datetime, batch: int) -> list[AppealOutbound]:
    """Lease up to ``batch`` due reports to this worker (others skip them until the lease ends), so that
    the network calls run outside any transaction."""
    with transaction.atomic():
        due = (AppealOutbound.objects.filter(status=OutboundStatus.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "id"))
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))  # not the cases: actions lock those
        rows = list(due.select_related("appeal")[:batch])
        AppealOutbound.objects.filter(pk__in=[r.pk for r in rows]).update(next_attempt_at=now + LEASE)
    return rows


def _attempt(row: AppealOutbound, url: str, secret: str, now: dt.datetime) -> bool:
    """One delivery attempt; the row records the outcome and, on failure, when to try again."""
    row.attempts += 1
    try:
        _post(url, secret, json.dumps({"key": f"{row.pk}", **row.payload}, ensure_ascii=False).encode())
    except (OSError, ValueError, http.client.HTTPException) as exc:  # network, HTTP error, bad URL, bad answer
        row.last_error = str(exc)[:300]
        gave_up = row.attempts >= MAX_ATTEMPTS
        row.status = OutboundStatus.FAILED if gave_up else OutboundStatus.PENDING
        row.next_attempt_at = None if gave_up else now + _backoff(row.attempts)
        log.warning("12345 report %s attempt %s failed: %s", row.pk, row.attempts, row.last_error)
        return False
    row.status, row.sent_at, row.last_error, row.next_attempt_at = OutboundStatus.SENT, now, "", None
    return True


def deliver_due(batch: int = 100) -> int:
    """Deliver the reports that are due (each leased by one worker); the number delivered."""
    url, secret = settings.YINGSHANG_12345_WEBHOOK_URL, settings.YINGSHANG_12345_WEBHOOK_SECRET
    if not url or not secret:
        # Not configured (an unsigned report is worthless to the receiver): the reports wait, visible in
        # the admin, until both are set.
        if url:
            log.warning("YINGSHANG_12345_WEBHOOK_SECRET is empty: 12345 reports are not sent")
        return 0
    claimed_at, sent = timezone.now(), 0
    rows = _claim(claimed_at, batch)
    for i, row in enumerate(rows):
        if timezone.now() >= claimed_at + LEASE - ATTEMPT_MARGIN:
            _release(rows[i:], claimed_at + LEASE)
            break
        sent += _attempt(row, url, secret, timezone.now())
        with transaction.atomic():
            row.save(update_fields=["attempts", "status", "sent_at", "last_error", "next_attempt_at"])
            if row.status == OutboundStatus.FAILED:
                _report_failure(row)
    return sent


def _release(rows: list[AppealOutbound], lease_end: dt.datetime) -> None:
    """Hand back the reports this worker had no time left for (those still under its lease)."""
    AppealOutbound.objects.filter(pk__in=[r.pk for r in rows], status=OutboundStatus.PENDING,
                                  next_attempt_at=lease_end).update(next_attempt_at=timezone.now())


def _report_failure(row: AppealOutbound) -> None:
    """Tell the dispatchers of the case's region that a report to 12345 was given up."""
    from yingshang.appeals.actions import dispatchers_for
    from yingshang.core.notify import do_notify

    appeal = row.appeal
    do_notify(dispatchers_for(appeal), key=f"appeal:{appeal.pk}:12345-failed:{row.pk}",
              title=f"诉求 {appeal.number}:向 12345 回传失败", link=f"/appeals/{appeal.pk}/", category="appeal",
              body=f"已重试 {row.attempts} 次仍未送达(工单号 {appeal.external_ref}):{row.last_error}")
