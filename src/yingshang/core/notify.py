"""Notifications: the in-app inbox plus e-mail/SMS through the outbox.

``do_notify`` writes inside the caller's transaction, so a notification exists exactly when the action
that caused it committed; delivery is kicked after commit. Every row has a unique key derived from
the caller's ``key``, so calling again with the same key (a retried action, a re-run periodic job)
adds nothing. A User queryset is turned into rows by the database itself (INSERT … SELECT …
ON CONFLICT DO NOTHING, on SQLite and PostgreSQL), so one policy can reach 100,000 enterprises in
seconds; a list of users goes through bulk_create.
Notifications are a consequence of audited actions and are not audited one by one.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from yingshang import jobs
from yingshang.core.models import Notification, OutboxChannel, OutboxMessage, OutboxStatus, User

INBOX = "inbox"
CHANNELS = {INBOX, OutboxChannel.EMAIL.value, OutboxChannel.SMS.value}
CHUNK = 2000
MAX_KEY = 150  # the stored keys add ":<user id>:<channel>" and must fit in 200 characters
SMS_MAX = 300


@dataclass
class NotifyResult:
    recipients: int = 0
    inbox: int = 0  # rows written (a list of users: rows offered; existing keys are skipped either way)
    outbox: int = 0


def _texts(title: str, body: str, link: str) -> tuple[str, str]:
    """(e-mail body, SMS text) of a notification; the same for every recipient."""
    url = _absolute(link)
    email = "\n\n".join(p for p in (body, url) if p) or title
    sms = f"【营商通】{title}" + (f":{body}" if body else "") + (f" {url}" if url else "")
    return email, sms[:SMS_MAX]


def _absolute(link: str) -> str:
    base = getattr(settings, "YINGSHANG_BASE_URL", "").rstrip("/")
    return f"{base}{link}" if base and link.startswith("/") else link


# ---------------------------------------------------------------- a list of users: bulk_create
def _outbox_rows(user, key: str, channels, title: str, texts: tuple[str, str]) -> list[OutboxMessage]:
    rows = []
    if OutboxChannel.EMAIL in channels and user.email:
        rows.append(OutboxMessage(key=f"{key}:{user.pk}:email", channel=OutboxChannel.EMAIL, user_id=user.pk,
                                  address=user.email, subject=title, body=texts[0]))
    if OutboxChannel.SMS in channels and user.phone:
        rows.append(OutboxMessage(key=f"{key}:{user.pk}:sms", channel=OutboxChannel.SMS, user_id=user.pk,
                                  address=user.phone, body=texts[1]))
    return rows


def _flush(inbox: list, outbox: list, result: NotifyResult) -> None:
    Notification.objects.bulk_create(inbox, ignore_conflicts=True)
    OutboxMessage.objects.bulk_create(outbox, ignore_conflicts=True)
    result.inbox += len(inbox)
    result.outbox += len(outbox)
    inbox.clear()
    outbox.clear()


def _collect(users, key, title, body, link, category, channels, result: NotifyResult, inbox: list,
             outbox: list) -> None:
    """Add the rows of one notification to the shared buffers (flushed every CHUNK rows)."""
    texts = _texts(title, body, link)
    for user in (u for u in users if u.is_active):
        result.recipients += 1
        if INBOX in channels:
            inbox.append(Notification(user_id=user.pk, key=f"{key}:{user.pk}", category=category,
                                      title=title, body=body, link=link))
        outbox.extend(_outbox_rows(user, key, channels, title, texts))
        if len(inbox) + len(outbox) >= CHUNK:
            _flush(inbox, outbox, result)


def _notify_list(users, key, title, body, link, category, channels) -> NotifyResult:
    result, inbox, outbox = NotifyResult(), [], []
    _collect(users, key, title, body, link, category, channels, result, inbox, outbox)
    _flush(inbox, outbox, result)
    return result


# ---------------------------------------------------------------- a queryset: INSERT … SELECT
def _insert_select(table: str, columns: list[str], select: str, params: list, users_sql: str,
                   users_params: tuple, where: str = "") -> int:
    """Insert one row per user of ``users_sql`` in one statement; existing keys are skipped."""
    q = connection.ops.quote_name
    sql = (f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) SELECT {select} "
           f"FROM {q(User._meta.db_table)} u WHERE u.id IN ({users_sql}){where} ON CONFLICT DO NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *users_params])
        return max(cursor.rowcount, 0)


def _notify_queryset(qs, key, title, body, link, category, channels) -> NotifyResult:
    """Set-based path for many recipients: the database builds the rows, nothing is loaded."""
    if qs.query.is_sliced:  # a sliced queryset cannot be filtered further
        qs = User.objects.filter(pk__in=qs.values("pk"))
    users = qs.filter(is_active=True).values("id")
    try:
        users_sql, users_params = users.query.sql_with_params()
    except EmptyResultSet:  # e.g. pk__in=[]: nobody to notify
        return NotifyResult(recipients=0)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    result = NotifyResult(recipients=users.count())
    if INBOX in channels:
        result.inbox = _insert_select(
            Notification._meta.db_table, ["user_id", "key", "category", "title", "body", "link", "created_at"],
            "u.id, %s || u.id, %s, %s, %s, %s, %s", [f"{key}:", category, title, body, link, now],
            users_sql, users_params)
    email_text, sms_text = _texts(title, body, link)
    columns = ["key", "channel", "user_id", "address", "subject", "body", "status", "attempts", "next_attempt_at",
               "claim_token", "last_error", "created_at"]
    for channel, address, subject, text in ((OutboxChannel.EMAIL, "email", title, email_text),
                                            (OutboxChannel.SMS, "phone", "", sms_text)):
        if channel in channels:
            result.outbox += _insert_select(
                OutboxMessage._meta.db_table, columns,
                f"%s || u.id || %s, %s, u.id, u.{address}, %s, %s, %s, 0, %s, '', '', %s",
                [f"{key}:", f":{channel}", channel, subject, text, OutboxStatus.PENDING, now, now],
                users_sql, users_params, where=f" AND u.{address} <> ''")
    return result


def _checked(key: str, channels: Iterable[str]) -> set[str]:
    channels = set(channels)
    if not key or len(key) > MAX_KEY or not channels <= CHANNELS:
        raise ValueError(f"通知参数有误:key 须为 1–{MAX_KEY} 个字符,渠道只能是 {sorted(CHANNELS)}")
    return channels


def do_notify(recipients, *, key: str, title: str, body: str = "", link: str = "", category: str = "",
              channels: Iterable[str] = (INBOX,)) -> NotifyResult:
    """Notify users (a list or a User queryset) once per ``key``: inbox rows and outbox messages."""
    channels = _checked(key, channels)
    title, link = title[:200], link[:300]
    with transaction.atomic():
        if isinstance(recipients, QuerySet):
            result = _notify_queryset(recipients, key, title, body, link, category, channels)
        else:
            result = _notify_list(recipients, key, title, body, link, category, channels)
        if result.outbox:
            jobs.enqueue_on_commit("core.deliver_outbox")
    return result


@dataclass(frozen=True)
class Message:
    """One notification of ``do_notify_many``: a list of users and its own key."""

    users: Sequence
    key: str
    title: str
    body: str = ""
    link: str = ""
    category: str = ""
    channels: Iterable[str] = (INBOX,)


def do_notify_many(messages: Iterable[Message]) -> NotifyResult:
    """Many notifications, each once per its own key, written in shared bulk batches (e.g. one per case of
    an escalation sweep, where one ``do_notify`` call per case would cost round trips per case)."""
    result, inbox, outbox = NotifyResult(), [], []
    with transaction.atomic():
        for m in messages:
            channels = _checked(m.key, m.channels)
            _collect(m.users, m.key, m.title[:200], m.body, m.link[:300], m.category, channels, result, inbox,
                     outbox)
        _flush(inbox, outbox, result)
        if result.outbox:
            jobs.enqueue_on_commit("core.deliver_outbox")
    return result
