"""Background jobs of 惠企政策直达: matching (one item, its shards, changed enterprises, everything),
deferred pushes and expiry of items past their validity.

This module also connects the matcher to ``enterprises.hooks.enterprises_changed``: job discovery
imports it in every process that runs jobs (the Celery worker, the in-process runner of the demo), and
``views_matching`` imports it in the web process (URLs are loaded at the first request). The receiver
has a ``dispatch_uid``, so importing it twice connects it once.
"""
from __future__ import annotations

import logging

from django.utils import timezone

from yingshang import jobs
from yingshang.enterprises.hooks import enterprises_changed
from yingshang.jobs import job

log = logging.getLogger("yingshang.policies")
# Beyond this many changed enterprises a full match (atoms shared over all rows) is cheaper than rows.
ROW_LIMIT = 5000


@job("policies.match_item")
def match_item(item_id: int, reason: str = "publish") -> None:
    """Match one published item over the register (fans out ``policies.match_shard`` per shard)."""
    from yingshang.policies import matching

    matching.run_item(item_id, reason)


@job("policies.match_shard")
def match_shard(item_id: int, shard: str, reason: str = "publish", run_id: int | None = None,
                as_of: str | None = None) -> dict:
    """Match one item over one shard of the register and store its result."""
    from yingshang.policies import matching

    return matching.run_shard(item_id, shard, reason, run_id, as_of)


@job("policies.match_enterprises")
def match_enterprises(ids: list[int]) -> None:
    """Re-evaluate changed enterprises against every published item; push the newly eligible."""
    from yingshang.policies import matching

    matching.run_enterprises(ids)


@job("policies.match_all", every=86400)
def match_all() -> None:
    """Match every published item over the whole register (daily: ages and validity move with the date)."""
    from yingshang.policies import matching

    matching.run_all()


@job("policies.match_all_shard")
def match_all_shard(shard: str, run_id: int | None = None, as_of: str | None = None) -> dict:
    """Every published item over one shard (the fan-out of ``policies.match_all``)."""
    from yingshang.policies import matching

    return matching.run_all_shard(shard, run_id, as_of)


@job("policies.deliver_deferred_pushes", every=3600)
def deliver_deferred_pushes() -> int:
    """Send pushes deferred by the daily cap, as far as today's cap allows."""
    from yingshang.policies import push

    return push.deliver_deferred()


@job("policies.expire_items", every=3600)
def expire_items() -> None:
    """Expire published items whose document or window has run out."""
    from yingshang.policies import actions_library

    actions_library.do_expire_items(timezone.localdate())


def _on_enterprises_changed(sender, ids=(), **kwargs) -> None:
    """Queue the re-evaluation of changed enterprises (a full match after a large import)."""
    ids = list(ids)
    if not ids:
        return
    try:
        if len(ids) > ROW_LIMIT:
            jobs.enqueue("policies.match_all")
        else:
            jobs.enqueue("policies.match_enterprises", ids)
    except Exception:  # the register write has committed; the daily full match catches up
        log.exception("企业变更后排队政策匹配失败(%s 家企业)", len(ids))


enterprises_changed.connect(_on_enterprises_changed, dispatch_uid="policies.match_changed_enterprises")


@job("policies.sync_redemptions", every=3600)
def sync_redemptions() -> int:
    """Create any missing 免申即享 redemption of a stored eligible enterprise (catch-up after a crash)."""
    from yingshang.policies.matching_store import sync_redemptions as sync

    return sync()
