"""Pushing a policy item to the enterprises that qualify for it: once per (item, enterprise), set-based.

``do_push`` inserts one PolicyPush per enterprise (``ON CONFLICT DO NOTHING`` on the unique pair, so
retries and concurrent workers add nothing twice), then notifies only the rows *this call* inserted:
they are recognised by their ``created_at`` stamp, which is the call's own ``timezone.now()``. The
users to notify are selected by a join on those rows (INSERT … SELECT in ``core.notify``), so 100,000
enterprises never become a Python list of users or a huge ``IN (…)``.

Opt-out and the benefit-type filter give status ``opted_out`` (no notification); an enterprise that
already received its daily cap today gets ``deferred`` and ``deliver_deferred`` sends it on a later day.

The cap holds under concurrency: the part that counts today's pushes and inserts/sends new ones runs in
one transaction that first takes a lock shared by every push (``serialise_pushes``): on PostgreSQL the
transaction-level advisory lock ``PUSH_LOCK_KEY`` (released at commit or rollback), on SQLite the write
lock its IMMEDIATE transactions take at BEGIN (settings ``transaction_mode``). So concurrent pushes of
different items, and overlapping ``deliver_deferred`` runs, decide the cap one after the other, each
seeing what the previous one committed (READ COMMITTED takes a fresh snapshot per statement). The price:
pushes queue behind one another — a 100,000-enterprise publish holds the lock for its few seconds, and
inside the matcher's transaction until that commits. Callers take MatchResult row locks before it, never
after, so the order is always the same and there is no deadlock.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from yingshang.core.bulk import db_adapter, insert_rows
from yingshang.core.models import User
from yingshang.core.notify import INBOX, do_notify
from yingshang.core.redact import redact
from yingshang.enterprises.models import Enterprise
from yingshang.policies.models import (
    ItemStatus,
    Mode,
    PolicyItem,
    PolicyPush,
    PolicySubscription,
    PushStatus,
)
from yingshang.policies.templatetags.policy_format import money

DEFAULT_DAILY_CAP = 5
CATEGORY = "policy"
CHUNK = 1000
PUSH_LOCK_KEY = 0x7973_7075_7368  # b"yspush": the PostgreSQL advisory lock of the daily-cap decisions


def serialise_pushes() -> None:
    """Queue this transaction behind every other push's cap decision (call inside transaction.atomic)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PUSH_LOCK_KEY])
    # SQLite: the IMMEDIATE transaction already holds the database's single write lock.


def daily_cap() -> int:
    """Pushes per enterprise and day (settings ``YINGSHANG_PUSH_DAILY_CAP``, default 5)."""
    return int(getattr(settings, "YINGSHANG_PUSH_DAILY_CAP", DEFAULT_DAILY_CAP))


@dataclass
class PushResult:
    sent: int = 0
    deferred: int = 0
    opted_out: int = 0
    already: int = 0  # enterprises that had a push of this item before (nothing new)


def _as_ids(enterprise_ids) -> np.ndarray:
    return np.unique(np.asarray(list(enterprise_ids) if not isinstance(enterprise_ids, np.ndarray)
                                else enterprise_ids, dtype=np.int64))


# ---------------------------------------------------------------- who gets what status
def _special_subscriptions() -> dict[int, tuple[bool, list]]:
    """Enterprise id → (opted out, benefit types) for the subscriptions that can block a push."""
    rows = PolicySubscription.objects.filter(Q(opted_out=True) | ~Q(benefit_types=[]))
    return {e: (o, t or []) for e, o, t in rows.values_list("enterprise_id", "opted_out", "benefit_types")}


def _blocks(sub: tuple[bool, list] | None, benefit_type: str) -> bool:
    return sub is not None and (sub[0] or (bool(sub[1]) and benefit_type not in sub[1]))


def _blocked(item: PolicyItem) -> set[int]:
    """Enterprises that opted out or do not want this benefit type."""
    return {e for e, sub in _special_subscriptions().items() if _blocks(sub, item.benefit_type)}


def _capped(today: dt.date, cap: int) -> set[int]:
    """Enterprises that already received ``cap`` pushes today."""
    rows = (PolicyPush.objects.filter(status=PushStatus.SENT, sent_on=today).values("enterprise_id")
            .annotate(n=Count("id")).filter(n__gte=cap).values_list("enterprise_id", flat=True))
    return set(rows)


def _statuses(item: PolicyItem, ids: np.ndarray, today: dt.date) -> np.ndarray:
    """Per id: 0 sent, 1 deferred, 2 opted out."""
    blocked = _blocked(item)
    out = np.zeros(len(ids), dtype=np.int8)
    cap = daily_cap()
    capped = _capped(today, cap) if cap > 0 else set()
    if cap <= 0:
        out[:] = 1
    elif capped:
        out[np.isin(ids, np.fromiter(capped, dtype=np.int64, count=len(capped)))] = 1
    if blocked:
        out[np.isin(ids, np.fromiter(blocked, dtype=np.int64, count=len(blocked)))] = 2
    return out


_STATUS_CODES = (PushStatus.SENT.value, PushStatus.DEFERRED.value, PushStatus.OPTED_OUT.value)


PUSH_COLUMNS = ["item_id", "enterprise_id", "reason", "status", "created_at", "sent_at", "sent_on"]
COPY_FROM = 2000  # PostgreSQL: above this many rows, COPY into a scratch table, then one INSERT … SELECT


def _insert(item: PolicyItem, ids: np.ndarray, codes: np.ndarray, reason: str, now, today) -> None:
    adapt = db_adapter()
    stamp, day = adapt(now), adapt(today)
    rows = [(item.pk, ent_id, reason, _STATUS_CODES[code], stamp, stamp if code == 0 else None,
             day if code == 0 else None) for ent_id, code in zip(ids.tolist(), codes.tolist())]
    if connection.vendor == "postgresql" and len(rows) > COPY_FROM:
        _insert_copy(rows)
        return
    existing = _existing(ids)  # a deleted enterprise would fail the foreign key at commit
    insert_rows(PolicyPush, PUSH_COLUMNS, [r for r in rows if r[1] in existing], ignore_conflicts=True)


def _existing(ids: np.ndarray) -> set[int]:
    out: set[int] = set()
    values = ids.tolist()
    for start in range(0, len(values), 500):
        out.update(Enterprise.objects.filter(pk__in=values[start:start + 500]).values_list("id", flat=True))
    return out


def _insert_copy(rows: list[tuple]) -> None:
    """COPY the rows into a session-local scratch table, then INSERT … SELECT … ON CONFLICT DO NOTHING:
    one statement instead of a hundred 1,000-row INSERTs with 7,000 parameters each."""
    table = connection.ops.quote_name(PolicyPush._meta.db_table)
    names = ", ".join(PUSH_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS ys_push_in (item_id bigint, enterprise_id bigint, "
                       "reason varchar(12), status varchar(10), created_at timestamptz, sent_at timestamptz, "
                       "sent_on date) ON COMMIT DELETE ROWS")
        cursor.execute("DELETE FROM ys_push_in")  # an earlier push in the same transaction
        with cursor.cursor.copy(f"COPY ys_push_in ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        enterprises = connection.ops.quote_name(Enterprise._meta.db_table)
        picked = ", ".join(f"t.{c}" for c in PUSH_COLUMNS)
        # The join drops enterprises deleted since the register was loaded (their foreign key would fail).
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {picked} FROM ys_push_in t "
                       f"JOIN {enterprises} e ON e.id = t.enterprise_id ON CONFLICT DO NOTHING")


# ---------------------------------------------------------------- texts
def calculator_link(item: PolicyItem) -> str:
    try:
        return f"{reverse('policies:calculator')}#item-{item.pk}"
    except NoReverseMatch:  # the pages are not mounted (API-only deployments)
        return f"/policies/calculator/#item-{item.pk}"


def matches_link(item: PolicyItem) -> str:
    try:
        return reverse("policies:item_matches", args=[item.pk])
    except NoReverseMatch:
        return f"/policies/items/{item.pk}/matches/"


def body_text(item: PolicyItem, amount: Decimal | None = None) -> str:
    """The notification body: the estimated amount (or the cap / the benefit note) and the deadline."""
    parts = []
    if amount is not None:
        parts.append(f"经测算,贵企业预计可享受约 {money(amount)} 元。")
    elif item.amount_cap is not None:
        parts.append(f"最高可享受 {money(item.amount_cap)} 元,具体金额请在政策计算器中查看。")
    elif item.amount_note:
        parts.append(f"{redact(item.amount_note)}。")  # goes out by SMS and e-mail: no personal data
    if item.mode == Mode.AUTO:
        parts.append("本政策免申即享,无需申请,符合条件即可兑现。")
    elif item.window_end:
        parts.append(f"申报截止日期:{item.window_end:%Y年%m月%d日}。")
    parts.append("贵企业符合该政策的申报条件,请登录营商通查看详情。")
    return "".join(parts)


# ---------------------------------------------------------------- notifications
def _switched_off(flag: str):
    """Enterprises whose subscription switched this channel off (a subquery; no row = on)."""
    return PolicySubscription.objects.filter(**{flag: False}).values("enterprise_id")


def _notify_users(item: PolicyItem, users, amount: Decimal | None) -> None:
    text = {"key": f"policy:{item.pk}", "title": f"政策推送:{item.title}", "body": body_text(item, amount),
            "link": calculator_link(item), "category": CATEGORY}
    quiet = {flag: _switched_off(flag) for flag in ("sms", "email")}
    if not any(q.exists() for q in quiet.values()):  # the usual case: one pass writes all three channels
        do_notify(users, channels=(INBOX, "sms", "email"), **text)
        return
    # Inbox rows and each channel's rows have distinct stored keys, so the separate passes never collide
    # and a repeated pass adds nothing.
    do_notify(users, channels=(INBOX,), **text)
    for flag, off in quiet.items():
        do_notify(users.exclude(enterprise_id__in=off), channels=(flag,), **text)


def notify_enterprises(item: PolicyItem, sent_rows, amounts: dict[int, Decimal | None] | None = None) -> None:
    """Notify the users of the enterprises of ``sent_rows`` (a PolicyPush queryset of status sent)."""
    if amounts:
        groups: dict[Decimal | None, list[int]] = defaultdict(list)
        for ent_id in sent_rows.values_list("enterprise_id", flat=True):
            groups[amounts.get(ent_id)].append(ent_id)
        for amount, ent_ids in groups.items():
            _notify_users(item, User.objects.filter(enterprise_id__in=ent_ids), amount)
        return
    _notify_users(item, User.objects.filter(enterprise_id__in=sent_rows.values("enterprise_id")), None)


def notify_stewards(item: PolicyItem, rows, stamp: str) -> None:
    """One notice per steward: how many of their enterprises newly qualify for the item."""
    counts = (Enterprise.objects.filter(pk__in=rows.values("enterprise_id"), steward__isnull=False)
              .values("steward_id").annotate(n=Count("id")).order_by("steward_id"))
    for entry in counts:
        do_notify(User.objects.filter(pk=entry["steward_id"]), key=f"policy:{item.pk}:steward:{stamp}",
                  title=f"管家提示:您服务的 {entry['n']} 家企业新符合“{item.title}”"[:200],
                  body=f"您服务的企业中有 {entry['n']} 家新符合“{item.title}”的条件,已向企业推送,"
                       f"请协助企业了解和申报。", link=matches_link(item), category=CATEGORY, channels=(INBOX,))


# ---------------------------------------------------------------- the action
def do_push(item: PolicyItem, enterprise_ids, reason: str, *, amounts: dict | None = None) -> PushResult:
    """Push ``item`` once to each enterprise (opt-out, benefit-type filter, daily cap), notify their users
    and send each steward one summary. Idempotent: enterprises already pushed this item are skipped."""
    ids = _as_ids(enterprise_ids)
    if not len(ids):
        return PushResult()
    now, today = timezone.now(), timezone.localdate()
    with transaction.atomic():
        serialise_pushes()  # today's counts must not change between reading and inserting
        _insert(item, ids, _statuses(item, ids, today), reason, now, today)
        batch = PolicyPush.objects.filter(item=item, created_at=now)
        result = _tally(batch, len(ids))
        if result.sent:
            notify_enterprises(item, batch.filter(status=PushStatus.SENT), amounts)
        if result.sent or result.deferred:
            notify_stewards(item, batch.exclude(status=PushStatus.OPTED_OUT), now.strftime("%Y%m%d%H%M%S%f"))
    return result


def _tally(batch, offered: int) -> PushResult:
    counts = dict(batch.values_list("status").annotate(n=Count("id")).order_by())
    result = PushResult(sent=counts.get(PushStatus.SENT, 0), deferred=counts.get(PushStatus.DEFERRED, 0),
                        opted_out=counts.get(PushStatus.OPTED_OUT, 0))
    result.already = offered - result.sent - result.deferred - result.opted_out
    return result


# ---------------------------------------------------------------- deferred pushes
def deliver_deferred() -> int:
    """Send deferred pushes, oldest first, as far as each enterprise's cap for today allows; returns how
    many were sent. One transaction under the push lock: overlapping runs neither send a row twice (the
    UPDATE is conditional too) nor overshoot the cap."""
    today, cap = timezone.localdate(), daily_cap()
    with transaction.atomic():
        serialise_pushes()  # an overlapping run or a push waits: both count today's sends
        rows = list(PolicyPush.objects.filter(status=PushStatus.DEFERRED, item__status=ItemStatus.PUBLISHED)
                    .order_by("created_at", "id").values_list("id", "enterprise_id", "item_id"))
        if not rows:
            return 0
        _drop_opted_out(rows)
        by_item: dict[int, list[int]] = defaultdict(list)
        for push_id, _ent, item_id in _within_cap(rows, today, cap):
            by_item[item_id].append(push_id)
        return sum(_deliver_item(item_id, push_ids, today) for item_id, push_ids in by_item.items())


def _drop_opted_out(rows: list) -> None:
    """Enterprises that opted out since their push was deferred: mark those rows, drop them from ``rows``."""
    subs = _special_subscriptions()
    if not subs:
        return
    types = dict(PolicyItem.objects.filter(pk__in={r[2] for r in rows}).values_list("id", "benefit_type"))
    out = [r[0] for r in rows if _blocks(subs.get(r[1]), types[r[2]])]
    for start in range(0, len(out), CHUNK):
        PolicyPush.objects.filter(pk__in=out[start:start + CHUNK], status=PushStatus.DEFERRED).update(
            status=PushStatus.OPTED_OUT)
    gone = set(out)
    rows[:] = [r for r in rows if r[0] not in gone]


def _within_cap(rows: list, today: dt.date, cap: int) -> list:
    used = dict(PolicyPush.objects.filter(status=PushStatus.SENT, sent_on=today).values("enterprise_id")
                .annotate(n=Count("id")).values_list("enterprise_id", "n"))
    picked = []
    for row in rows:
        if used.get(row[1], 0) < cap:
            used[row[1]] = used.get(row[1], 0) + 1
            picked.append(row)
    return picked


def _deliver_item(item_id: int, push_ids: list[int], today: dt.date) -> int:
    item = PolicyItem.objects.get(pk=item_id)
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, len(push_ids), CHUNK):
            PolicyPush.objects.filter(pk__in=push_ids[start:start + CHUNK], status=PushStatus.DEFERRED).update(
                status=PushStatus.SENT, sent_at=now, sent_on=today)
        claimed = PolicyPush.objects.filter(item_id=item_id, status=PushStatus.SENT, sent_at=now)
        n = claimed.count()
        if n:
            notify_enterprises(item, claimed)
    return n
