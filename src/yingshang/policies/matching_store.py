"""Storing match results (MatchResult rows of packed id arrays) and acting on what changed.

A stored result is only ever replaced by a result of the item's current revision: the check runs under the
(item, shard) row lock, so a slow run of an older rule that finishes last cannot bring the old rule back
(nor push or pay enterprises by it). When ids enter the eligible set they are pushed (and, for 免申即享
items, get redemption records); when they leave it their open redemptions are cancelled.
"""
from __future__ import annotations

import datetime as dt
import logging

import numpy as np
from django.db import transaction
from django.utils import timezone

from yingshang.policies.models import ItemStatus, MatchResult, Mode, PolicyItem

log = logging.getLogger("yingshang.policies")

STATUSES = ("eligible", "near_miss", "unknown")
EMPTY = np.zeros(0, dtype=np.int64)
GONE_REASON = "因企业情况或政策条件变化不再符合条件"  # read as "有企业{reason}" and "原因:{reason}"


# ---------------------------------------------------------------- reading and writing the rows
def stored_ids(result: MatchResult | None, status: str) -> np.ndarray:
    from yingshang.policies.engine import store

    if result is None or not result.revision:
        return EMPTY
    return store.unpack_ids(bytes(getattr(result, status)))


def _locked_result(item: PolicyItem, shard: str, as_of: dt.date) -> MatchResult:
    """The (item, shard) row, locked for this transaction; created empty (revision 0) when missing.

    INSERT … ON CONFLICT DO NOTHING first, so two concurrent runs queue on the same row instead of one
    failing on the unique constraint."""
    MatchResult.objects.bulk_create([MatchResult(item=item, shard=shard, as_of=as_of, revision=0, eligible=b"",
                                                 near_miss=b"", unknown=b"")], ignore_conflicts=True)
    return MatchResult.objects.select_for_update().get(item=item, shard=shard)


def _write(result: MatchResult, ids: dict[str, np.ndarray], item: PolicyItem, as_of: dt.date,
           breakdown: dict | None) -> None:
    from yingshang.policies.engine import store

    for status in STATUSES:
        setattr(result, status, store.pack_ids(ids[status]))
        setattr(result, f"{status}_count", int(len(ids[status])))
    if breakdown is not None:
        result.breakdown = breakdown
    result.revision, result.as_of, result.computed_at = item.revision, as_of, timezone.now()
    result.save()


def stale_reason(item: PolicyItem, result: MatchResult | None = None) -> str:
    """Why a result computed from ``item`` (as loaded when compiled) must not be stored ('' = store it).

    Read while the result row is locked: the item's committed revision and status, not the loaded copy."""
    current = PolicyItem.objects.filter(pk=item.pk).values("revision", "status").first()
    if current is None or current["status"] != ItemStatus.PUBLISHED:
        return "事项已不在发布状态"
    if current["revision"] != item.revision:
        return f"事项已修订为第 {current['revision']} 版(本次按第 {item.revision} 版计算)"
    if result is not None and result.revision > item.revision:
        return f"已存有第 {result.revision} 版的结果"
    return ""


# ---------------------------------------------------------------- consequences
def consequences(item: PolicyItem, newly: np.ndarray, reason: str, as_of: dt.date,
                 amounts: dict | None = None, redeem: np.ndarray | None = None) -> dict:
    """Push the newly eligible enterprises; for 免申即享 items create the redemption records of ``redeem``
    (default: the newly eligible; idempotent, so a wider set only fills what is missing)."""
    from yingshang.policies import push

    outcome = {"pushed": 0, "deferred": 0, "opted_out": 0, "redemptions": 0}
    if len(newly):
        sent = push.do_push(item, newly, reason, amounts=amounts)
        outcome.update(pushed=sent.sent, deferred=sent.deferred, opted_out=sent.opted_out)
    redeem = newly if redeem is None else redeem
    if item.mode == Mode.AUTO and len(redeem):
        from yingshang.policies import actions_redemption

        ids = [int(i) for i in redeem]
        outcome["redemptions"] = actions_redemption.do_create_redemptions(item, ids, as_of, amounts=amounts) or 0
    return outcome


def cancel_gone(item: PolicyItem, gone: np.ndarray) -> int:
    """Cancel the open (pending / short) redemptions of enterprises that left the item's eligible set."""
    if not len(gone):
        return 0
    from yingshang.policies import actions_redemption

    cancel = getattr(actions_redemption, "do_cancel_ineligible_redemptions", None)
    if cancel is None:  # the redemption side does not offer it yet: leave the records, say so loudly
        log.error("无法撤销政策事项 %s 的 %s 条不再符合条件的兑现记录:缺少 do_cancel_ineligible_redemptions",
                  item.pk, len(gone))
        return 0
    return cancel(item, [int(i) for i in gone], GONE_REASON) or 0


def _eligible_elsewhere(item: PolicyItem, shard: str) -> np.ndarray:
    """The eligible ids stored for the item's other shards (an enterprise that moved county stays eligible)."""
    others = [stored_ids(r, "eligible") for r in MatchResult.objects.filter(item=item, revision__gt=0)
              .exclude(shard=shard)]
    return np.unique(np.concatenate(others)) if others else EMPTY


# ---------------------------------------------------------------- a full result of one shard
def store_match(item: PolicyItem, shard: str, match, register, as_of: dt.date, reason: str) -> dict:
    """Store one item's ItemMatch for a shard and act on the eligible ids that came and went (one
    transaction); a result of a revision that is no longer current is dropped, with no consequences."""
    ids = {status: match.ids(status) for status in STATUSES}
    breakdown = match.breakdown(register)
    with transaction.atomic():
        result = _locked_result(item, shard, as_of)
        stale = stale_reason(item, result)
        if stale:
            log.info("政策事项 %s 分片“%s”的匹配结果作废:%s", item.pk, shard, stale)
            return {"skipped": stale, "eligible": 0, "newly": 0, "gone": 0}
        first, old = not result.revision, stored_ids(result, "eligible")
        newly = np.setdiff1d(ids["eligible"], old, assume_unique=True)
        gone = np.setdiff1d(np.setdiff1d(old, ids["eligible"], assume_unique=True), _eligible_elsewhere(item, shard))
        _write(result, ids, item, as_of, breakdown)
        stats = {"eligible": int(len(ids["eligible"])), "newly": int(len(newly)), "gone": int(len(gone))}
        # A change that makes the item pay out (mode → 免申即享, a payable benefit) must reach the
        # enterprises already eligible too, not only the newly eligible.
        redeem = ids["eligible"] if reason == "change" and item.pays_out else newly
        if len(newly):
            push_reason = "publish" if first and reason == "qualify" else reason
            stats.update(consequences(item, newly, push_reason, as_of, redeem=EMPTY))
        stats["cancelled"] = cancel_gone(item, gone)
    # Redemptions (with an amount per enterprise) in a second transaction, once the pushes have committed:
    # the notifications never wait for 100,000 estimates. A crash in between is caught up by the hourly
    # "policies.sync_redemptions" job.
    stats["redemptions"] = redeem_stored(item, shard, redeem, as_of)
    return stats


def redeem_stored(item: PolicyItem, shard: str, ids: np.ndarray, as_of: dt.date) -> int:
    """Create the missing redemptions of those ``ids`` that the stored current result still holds eligible."""
    if not item.pays_out or not len(ids):
        return 0
    from yingshang.policies import actions_redemption

    with transaction.atomic():
        result = MatchResult.objects.select_for_update().filter(item=item, shard=shard).first()
        if result is None or stale_reason(item, result) or result.revision != item.revision:
            return 0
        still = np.intersect1d(ids, stored_ids(result, "eligible"), assume_unique=True)
        return actions_redemption.do_create_redemptions(item, [int(i) for i in still], as_of,
                                                        amounts=shard_amounts(item, shard, still, as_of)) or 0


def shard_amounts(item: PolicyItem, shard: str, ids: np.ndarray, as_of: dt.date) -> dict | None:
    """Estimated amounts from the shard's own register (a shard worker never loads the whole register);
    enterprises it no longer holds are read from the database one by one."""
    if not item.amount_formula or not len(ids):
        return None
    from yingshang.enterprises.models import Enterprise
    from yingshang.policies import engine_db
    from yingshang.policies.engine import amounts
    from yingshang.policies.engine.register import row_facts
    from yingshang.policies.shards import shard_register

    register = shard_register(shard)
    facts = {int(i): row_facts(register, int(r)) for i, r in zip(ids, register.rows_of(ids)) if r >= 0}
    for enterprise in Enterprise.objects.filter(pk__in=[int(i) for i in ids if int(i) not in facts]):
        facts[enterprise.pk] = engine_db.facts_for(enterprise, as_of)
    return {ent: amounts.estimate(item.amount_formula, item.amount_floor, item.amount_cap, f, item.params or {},
                                  as_of) for ent, f in facts.items()}


def sync_redemptions(as_of: dt.date | None = None) -> int:
    """Catch-up: every payable 免申即享 item's stored eligible enterprises have their redemption (idempotent)."""
    created = 0
    for item in PolicyItem.objects.published().filter(mode=Mode.AUTO):
        if item.pays_out:
            for result in MatchResult.objects.filter(item=item, revision=item.revision):
                created += redeem_stored(item, result.shard, stored_ids(result, "eligible"),
                                         as_of or timezone.localdate())
    return created


# ---------------------------------------------------------------- the breakdown of stored arrays
def _packed(bools: np.ndarray) -> np.ndarray:
    """Bool array over register rows → packed uint64 words (the layout of engine.columnar)."""
    words = (len(bools) + 63) // 64
    out = np.zeros(words * 8, dtype=np.uint8)
    packed = np.packbits(bools, bitorder="little")
    out[: len(packed)] = packed
    return out.view(np.uint64)


def breakdown_of(arrays: dict[str, np.ndarray], register) -> dict:
    """The breakdown (county, size, section × status) of stored id arrays over a register — the same
    numbers a full match over that register would store (ids no longer in it are not counted)."""
    from yingshang.policies.engine.columnar import ItemMatch

    bits = {}
    for status in STATUSES:
        rows = register.rows_of(arrays[status])
        mask = np.zeros(len(register), dtype=bool)
        mask[rows[rows >= 0]] = True
        bits[status] = _packed(mask)
    active = _packed(np.asarray(register.active, dtype=bool))
    match = ItemMatch(bits["eligible"], bits["near_miss"], bits["unknown"], active, register.ids)
    return match.breakdown(register)


# ---------------------------------------------------------------- changed enterprises (row by row)
def apply_rows(item: PolicyItem, status: dict[int, str], homes: dict[int, str | None], as_of: dt.date,
               registers, estimate) -> int:
    """Move the enterprises to their new status in the item's stored arrays (results of the current revision
    only), recount the breakdown, push the newly eligible and cancel the redemptions of those gone;
    returns how many newly qualify. ``registers(shard)`` gives a shard's register, ``estimate(id)`` an amount."""
    changed = np.array(sorted(status), dtype=np.int64)
    with transaction.atomic():
        results = {r.shard: r for r in MatchResult.objects.select_for_update().filter(item=item, revision__gt=0)}
        # Results of another revision are about to be replaced by the item's own run: leave them to it.
        if not results or stale_reason(item) or any(r.revision != item.revision for r in results.values()):
            return 0
        before = {s: {st: stored_ids(r, st) for st in STATUSES} for s, r in results.items()}
        after = _moved(before, status, homes, changed)
        for shard, result in results.items():
            touched = any(np.isin(changed, before[shard][st]).any() or np.isin(changed, after[shard][st]).any()
                          for st in STATUSES)
            if touched:
                _write(result, after[shard], item, result.as_of, breakdown_of(after[shard], registers(shard)))
        was = _union(before, "eligible", changed)
        now = _union(after, "eligible", changed)
        newly = np.setdiff1d(now, was)
        if len(newly):
            consequences(item, newly, "qualify", as_of, amounts={int(e): estimate(int(e)) for e in newly})
        cancel_gone(item, np.setdiff1d(was, now))
    return int(len(newly))


def _moved(before: dict, status: dict[int, str], homes: dict, changed: np.ndarray) -> dict:
    groups: dict[tuple, list[int]] = {}
    for ent, st in status.items():
        groups.setdefault((homes.get(ent), st), []).append(ent)
    after = {}
    for shard, by_status in before.items():
        after[shard] = {st: np.union1d(by_status[st][~np.isin(by_status[st], changed)],
                                       np.array(groups.get((shard, st), []), dtype=np.int64)) for st in STATUSES}
    return after


def _union(arrays: dict, status: str, changed: np.ndarray) -> np.ndarray:
    """The changed ids present in ``status`` over all shards."""
    parts = [a[status][np.isin(a[status], changed)] for a in arrays.values()]
    return np.unique(np.concatenate(parts)) if parts else EMPTY
