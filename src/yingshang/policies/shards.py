"""Shards of the register: the configured region-code prefixes and each shard's columnar register.

Shard "" is the whole register (``engine_db.current_register``); with ``YINGSHANG_MATCH_SHARDS`` set, a
shard job loads and caches only its own prefix, so no worker holds the whole province.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from yingshang.enterprises.models import Enterprise


def shard_prefixes() -> list[str]:
    """The configured shards (region-code prefixes; settings YINGSHANG_MATCH_SHARDS, default [''])."""
    configured = getattr(settings, "YINGSHANG_MATCH_SHARDS", None) or [""]
    return list(dict.fromkeys(str(s) for s in configured))


def shard_of(region_code: str, shards: list[str]) -> str | None:
    """The shard an enterprise with this region code belongs to (longest matching prefix)."""
    hits = [s for s in shards if region_code.startswith(s)]
    return max(hits, key=len) if hits else None


def shard_register(shard: str):
    """The columnar register of one shard: '' is the process-wide register (engine_db.current_register);
    any other shard is loaded and cached alone, so a shard worker never holds the whole register."""
    from yingshang.policies import engine_db

    return _cached_shard(shard) if shard else engine_db.current_register()


# Per-process shard registers (engine_db.load_register(region_prefix=shard)). Freshness, checked on every
# use by one query (``_stamp``: the shard's newest updated_at and enterprise count, the highest
# certification / credit listing / tag link ids): same stamp → the cached register; otherwise the shard's
# enterprises stamped since the last check (minus engine_db.REFRESH_SLACK, for transactions that commit
# late — also re-read while the newest stamp is within that slack); the shard is reloaded whole when
# the register then does not hold exactly the counted enterprises (moved out, deleted), on new side rows,
# on an ``enterprises_changed`` signal in this process, and hourly (engine_db.FULL_RELOAD_SECONDS), which
# also catches edits that move neither updated_at nor a side-table id (as in engine_db).
@dataclass
class _Shard:
    register: object
    stamp: tuple
    checked_at: dt.datetime
    full_at: float
    dirty: bool = False


_shards: dict[str, _Shard] = {}
_shards_lock = threading.Lock()


def _cached_shard(shard: str):
    from yingshang.enterprises.hooks import enterprises_changed
    from yingshang.policies import engine_db

    enterprises_changed.connect(_shards_changed, weak=False, dispatch_uid="policies.matching.shards")
    with _shards_lock:
        old, now, stamp = _shards.get(shard), timezone.now(), _stamp(shard)
        register, full_at = (_refreshed(shard, old, stamp), old.full_at) if old else (None, 0.0)
        if register is None or len(register) != stamp[1]:
            register, full_at = engine_db.load_register(region_prefix=shard), time.monotonic()
        _shards[shard] = _Shard(register, stamp, now, full_at)
        return register


def _refreshed(shard: str, old: _Shard, stamp: tuple):
    """The cached register brought up to date, or None when only a full reload will do."""
    from yingshang.policies import engine_db

    if old.dirty or stamp[2:] != old.stamp[2:] or time.monotonic() - old.full_at > engine_db.FULL_RELOAD_SECONDS:
        return None
    since = old.checked_at - engine_db.REFRESH_SLACK  # a row stamped after it may have committed since
    if stamp == old.stamp and (old.stamp[0] is None or old.stamp[0] <= since):
        return old.register  # a late commit of anything stamped after ``since`` would raise the newest stamp
    ids = list(Enterprise.objects.in_region(shard).filter(updated_at__gt=since).values_list("id", flat=True))
    return old.register.updated(engine_db.load_register(region_prefix=shard, ids=ids)) if ids else old.register


def _shards_changed(sender=None, **kwargs) -> None:
    with _shards_lock:
        for entry in _shards.values():
            entry.dirty = True


def reset_shard_registers() -> None:
    """Forget the cached shard registers (tests; after bulk imports)."""
    with _shards_lock:
        _shards.clear()


def _stamp(shard: str) -> tuple:
    """(newest updated_at, count) of the shard's enterprises (region_id LIKE uses ent_region_idx) and the
    highest side-table ids, in one query."""
    from yingshang.enterprises.models import Certification, CreditListing, EnterpriseTag

    sides = ", ".join(f"(SELECT MAX(id) FROM {m._meta.db_table})"
                      for m in (Certification, CreditListing, EnterpriseTag))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(updated_at), COUNT(*), {sides} FROM {Enterprise._meta.db_table} "
                       f"WHERE region_id LIKE %s", [shard + "%"])
        newest, *rest = cursor.fetchone()
    if isinstance(newest, str):  # SQLite: naive UTC text
        newest = parse_datetime(newest).replace(tzinfo=dt.timezone.utc)
    return (newest, *rest)
