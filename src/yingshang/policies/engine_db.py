"""Loading the columnar register and one enterprise's facts from the database (the engine's only Django side).

``load_register`` reads the enterprise table with one raw cursor (money converted to integer units and
dates to day ordinals in SQL, so Python only moves integers), then certifications, tags and credit
listings. ``current_register`` keeps one register per process and refreshes it incrementally.

Freshness — what the incremental refresh sees, honestly:
- enterprises whose ``updated_at`` moved past the last load (figures, status, region, …);
- certifications, credit listings and tag links with an id above the highest id seen (new rows);
- enterprises named by the ``enterprises_changed`` signal in THIS process.
It does not see, in other processes, edits or deletions of existing certification/credit/tag rows that
leave ``updated_at`` untouched; those are picked up by the full reload every ``FULL_RELOAD_SECONDS`` (or
``current_register(full=True)``). Writers that change such rows should bump ``updated_at`` or send the signal.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import numpy as np
from django.db import connection
from django.utils import timezone

from yingshang.policies.engine.register import (CHOICES, MONEY_FIELDS, OPEN_FROM, OPEN_TO, Dated, Register,
                                                encode, encode_sorted, row_facts)

CHUNK = 50_000
FULL_RELOAD_SECONDS = 3600
# A transaction may stamp updated_at well before it commits: look back this far on every refresh (the
# few enterprises changed in that window are simply reloaded again).
REFRESH_SLACK = dt.timedelta(minutes=5)
IDS_PER_QUERY = 500  # stays far below SQLite's bound-variable limit
INCREMENTAL_LIMIT = 50_000  # more changed enterprises than this: a full reload is cheaper
_ORDINAL_EPOCH = dt.date(1970, 1, 1).toordinal()
_CHOICE_COLUMNS = ("size", "tax_credit_rating", "taxpayer_kind", "legal_form")


def _sql_units(col: str) -> str:
    if connection.vendor == "postgresql":
        return f"({col} * 10000)::bigint"
    return f"CAST(ROUND({col} * 10000) AS INTEGER)"  # SQLite keeps NUMERIC as REAL: round, not truncate


def _sql_ordinal(col: str) -> str:
    if connection.vendor == "postgresql":
        return f"({col} - DATE '1970-01-01')"
    return f"CAST(julianday({col}) - 2440587.5 AS INTEGER)"  # days since 1970-01-01


def _tables() -> dict[str, str]:
    from yingshang.enterprises.models import Certification, CreditListing, Enterprise, EnterpriseTag, Tag

    return {m.__name__: m._meta.db_table for m in (Certification, CreditListing, Enterprise, EnterpriseTag, Tag)}


def _enterprise_sql(where: str) -> str:
    money = ", ".join(_sql_units(c) for c in MONEY_FIELDS)
    return (f"SELECT id, status, region_id, industry_code, employees, {_sql_ordinal('established_on')}, "
            f"{', '.join(_CHOICE_COLUMNS)}, {money} FROM {_tables()['Enterprise']} ent{where} ORDER BY id")


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows: list[tuple] = []
        while chunk := cur.fetchmany(CHUNK):
            rows.extend(chunk)
    return rows


def _int_column(values) -> tuple[np.ndarray, np.ndarray]:
    arr = np.array(values, dtype=object)
    null = np.equal(arr, None)
    arr[null] = 0
    return arr.astype(np.int64), null


def _enterprise_columns(rows: list[tuple]) -> dict:
    cols = list(zip(*rows)) if rows else [()] * (6 + len(_CHOICE_COLUMNS) + len(MONEY_FIELDS))
    ids, status, region, industry, employees, established = cols[:6]
    choice_cols = cols[6:6 + len(_CHOICE_COLUMNS)]
    out = {"ids": np.array(ids, dtype=np.int64), "active": np.array([s == "active" for s in status], dtype=bool)}
    out["employees"], out["employees_null"] = _int_column(employees)
    days, out["established_null"] = _int_column(established)
    out["established"] = (days + _ORDINAL_EPOCH).astype(np.int32)
    out["established"][out["established_null"]] = 0
    out["choices"] = {name: encode([v or None for v in col], (None,) + CHOICES[name])
                      for name, col in zip(_CHOICE_COLUMNS, choice_cols)}
    out["money"], out["money_null"] = {}, {}
    for name, col in zip(MONEY_FIELDS, cols[6 + len(_CHOICE_COLUMNS):]):
        out["money"][name], out["money_null"][name] = _int_column(col)
    out["region"], out["region_dict"] = encode_sorted(list(region))
    out["industry"], out["industry_dict"] = encode_sorted(list(industry))
    return out


def _side_rows(sql: str, params, ids: np.ndarray) -> list[tuple]:
    """Rows (enterprise_id, …) of a side table, mapped to register row indices (dropping unknown ids)."""
    rows = _fetch(sql, params)
    if not rows:
        return []
    ent = np.array([r[0] for r in rows], dtype=np.int64)
    pos = np.searchsorted(ids, ent)
    ok = (pos < len(ids)) & (ids[np.minimum(pos, max(len(ids) - 1, 0))] == ent) if len(ids) else ent < 0
    return [(int(p),) + r[1:] for p, r, k in zip(pos.tolist(), rows, ok.tolist()) if k]


def _dated_by_kind(rows: list[tuple]) -> dict[str, Dated]:
    """[(row, kind, start_days, end_days)] → {kind: Dated} (None start/end = open)."""
    by_kind: dict[str, list] = {}
    for r, kind, start, end in rows:
        s = OPEN_FROM if start is None else int(start) + _ORDINAL_EPOCH
        e = OPEN_TO if end is None else int(end) + _ORDINAL_EPOCH
        by_kind.setdefault(kind, []).append((r, s, e))
    out = {}
    for kind, entries in by_kind.items():
        arr = np.array(sorted(entries), dtype=np.int64).reshape(-1, 3)
        out[kind] = Dated(arr[:, 0].astype(np.int32), arr[:, 1].astype(np.int32), arr[:, 2].astype(np.int32))
    return out


def _filter(prefix: str, ids=None, alias: str = "e") -> tuple[str, list]:
    """WHERE clause on the enterprise table (region prefix and/or an explicit id list)."""
    clauses, params = [], []
    if prefix:
        clauses.append(f"{alias}.region_id LIKE %s")
        params.append(prefix + "%")
    if ids is not None:
        clauses.append(f"{alias}.id IN ({', '.join(['%s'] * len(ids))})" if ids else "1 = 0")
        params.extend(int(i) for i in ids)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def load_register(region_prefix: str = "", ids=None) -> Register:
    """The register of enterprises whose region code starts with ``region_prefix`` (all by default), or of
    the enterprises ``ids``; side data (certifications, tags, credit listings) included."""
    if ids is not None and len(ids) > IDS_PER_QUERY:
        ids = sorted(ids)
        reg = _load(region_prefix, ids[:IDS_PER_QUERY])
        for start in range(IDS_PER_QUERY, len(ids), IDS_PER_QUERY):
            reg = reg.updated(_load(region_prefix, ids[start:start + IDS_PER_QUERY]))
        return reg
    return _load(region_prefix, ids)


def _load(region_prefix: str, ids) -> Register:
    where, params = _filter(region_prefix, ids, alias="ent")
    t = _tables()
    columns = _enterprise_columns(_fetch(_enterprise_sql(where), params))
    reg_ids = columns["ids"]
    join, jparams = _filter(region_prefix, ids)
    cert_sql = (f"SELECT c.enterprise_id, c.kind, {_sql_ordinal('c.valid_from')}, {_sql_ordinal('c.valid_to')} "
                f"FROM {t['Certification']} c JOIN {t['Enterprise']} e ON e.id = c.enterprise_id{join}")
    credit_sql = (f"SELECT c.enterprise_id, c.kind, {_sql_ordinal('c.listed_on')}, {_sql_ordinal('c.removed_on')} "
                  f"FROM {t['CreditListing']} c JOIN {t['Enterprise']} e ON e.id = c.enterprise_id{join}")
    tag_sql = (f"SELECT l.enterprise_id, g.code FROM {t['EnterpriseTag']} l JOIN {t['Tag']} g "
               f"ON g.id = l.tag_id JOIN {t['Enterprise']} e ON e.id = l.enterprise_id{join}")
    tags: dict[str, list[int]] = {}
    for r, code in _side_rows(tag_sql, jparams, reg_ids):
        tags.setdefault(code, []).append(r)
    return Register.from_arrays(
        **columns,
        tags={k: np.unique(np.array(v, dtype=np.int32)) for k, v in tags.items()},
        certifications=_dated_by_kind(_side_rows(cert_sql, jparams, reg_ids)),
        credit=_dated_by_kind(_side_rows(credit_sql, jparams, reg_ids)),
    )


# ---------------------------------------------------------------- the per-process register
class _Cache:
    def __init__(self):
        self.lock = threading.Lock()
        self.register: Register | None = None
        self.loaded_at = None  # DB time (timezone-aware) the last load started
        self.full_at = 0.0  # monotonic time of the last full load
        self.max_ids: dict[str, int] = {}
        self.dirty: set[int] = set()
        self.connected = False


_cache = _Cache()
_SIDE_MODELS = ("Certification", "CreditListing", "EnterpriseTag")


def _max_ids() -> dict[str, int]:
    with connection.cursor() as cur:
        out = {}
        for name in _SIDE_MODELS:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_tables()[name]}")
            out[name] = int(cur.fetchone()[0])
    return out


def _changed_ids(since, max_ids: dict[str, int]) -> set[int]:
    from yingshang.enterprises.models import Enterprise

    ids = set(Enterprise.objects.filter(updated_at__gt=since).values_list("id", flat=True))
    with connection.cursor() as cur:
        for name in _SIDE_MODELS:
            cur.execute(f"SELECT DISTINCT enterprise_id FROM {_tables()[name]} WHERE id > %s", [max_ids.get(name, 0)])
            ids.update(r[0] for r in cur.fetchall())
    return ids


def _on_changed(sender=None, ids=(), **kwargs) -> None:
    with _cache.lock:
        _cache.dirty.update(int(i) for i in ids)


def current_register(*, full: bool = False) -> Register:
    """The whole register, cached per process and refreshed incrementally (see the module docstring)."""
    if not _cache.connected:
        from yingshang.enterprises.hooks import enterprises_changed

        enterprises_changed.connect(_on_changed, weak=False, dispatch_uid="policies.engine_db")
        _cache.connected = True
    with _cache.lock:
        now = timezone.now()
        stale = time.monotonic() - _cache.full_at > FULL_RELOAD_SECONDS
        if full or stale or _cache.register is None:
            max_ids = _max_ids()
            _cache.register, _cache.full_at, _cache.dirty = load_register(), time.monotonic(), set()
        else:
            max_ids = _max_ids()
            changed = _changed_ids(_cache.loaded_at - REFRESH_SLACK, _cache.max_ids) | _cache.dirty
            _cache.dirty = set()
            if len(changed) > INCREMENTAL_LIMIT:
                _cache.register, _cache.full_at = load_register(), time.monotonic()
            elif changed:
                _cache.register = _cache.register.updated(load_register(ids=sorted(changed)))
        _cache.loaded_at, _cache.max_ids = now, max_ids
        return _cache.register


def reset_cache() -> None:
    """Forget the cached register (tests; after bulk imports)."""
    with _cache.lock:
        _cache.register, _cache.loaded_at, _cache.full_at, _cache.max_ids = None, None, 0.0, {}
        _cache.dirty = set()


# ---------------------------------------------------------------- one enterprise
def facts_for(enterprise, on: dt.date | None = None) -> dict:
    """The Facts dict (``engine.compiled.Facts``) of one Enterprise instance (``on`` is accepted for the
    contract; dated data — certificates, credit listings — are returned whole and judged by the evaluator)."""
    facts = {"id": enterprise.pk, "status": enterprise.status, "employees": enterprise.employees,
             "established_on": enterprise.established_on, "size": enterprise.size or None,
             "tax_credit_rating": enterprise.tax_credit_rating or None,
             "taxpayer_kind": enterprise.taxpayer_kind or None, "legal_form": enterprise.legal_form or "",
             "region": enterprise.region_id or "", "industry": enterprise.industry_code or ""}
    for name in MONEY_FIELDS:
        value = getattr(enterprise, name)
        facts[name] = None if value is None else Decimal(value)
    facts["tags"] = frozenset(enterprise.tag_links.values_list("tag__code", flat=True))
    facts["certifications"] = {kind: (start, end) for kind, start, end in
                               enterprise.certifications.values_list("kind", "valid_from", "valid_to")}
    facts["credit"] = tuple(enterprise.credit_listings.values_list("kind", "listed_on", "removed_on"))
    return facts


def facts_for_many(ids, on: dt.date | None = None) -> dict[int, dict]:
    """Facts of many enterprises at once, from the cached register (the very data the matcher used; no query
    per enterprise), falling back to the database for enterprises the register does not hold."""
    from yingshang.enterprises.models import Enterprise

    wanted = np.unique(np.asarray([int(i) for i in ids], dtype=np.int64))
    if not len(wanted):
        return {}
    reg = current_register()
    rows = reg.rows_of(wanted)
    out = {int(i): row_facts(reg, int(r)) for i, r in zip(wanted, rows) if r >= 0}
    missing = [int(i) for i, r in zip(wanted, rows) if r < 0]
    for start in range(0, len(missing), 1000):
        for enterprise in Enterprise.objects.filter(pk__in=missing[start:start + 1000]):
            out[enterprise.pk] = facts_for(enterprise, on)
    return out
