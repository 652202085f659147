"""``bench appeals``: seeding the scratch database (city, staff, the generated cases written with COPY),
catching up a reused one, and the check of the stored clocks against ``deadlines``/``clock``."""
from __future__ import annotations

import datetime as dt
import time

import numpy as np

from yingshang.bench._appeals_cases import CITY, MINUTE, US, Cases, Days, Org, day_start, local_ord, to_dt
from yingshang.bench._appeals_rows import Cols, appeal_columns, event_rows, other_rows, task_rows


def _staff_roles(d) -> list:
    """Two handlers and a leader; a county's business office (-YSB) also gets a dispatcher."""
    from yingshang.core.models import Role

    roles = [(Role.HANDLER, 1), (Role.HANDLER, 2), (Role.DEPT_LEADER, 1)]
    if d.code.endswith("-YSB") and d.region_id != CITY:
        roles.append((Role.DISPATCHER, 1))
    return roles


def seed_staff() -> int:
    """Two handlers and a leader per department, a dispatcher per county (unusable passwords)."""
    from django.contrib.auth.hashers import make_password

    from yingshang.core.models import Department, Role, User

    pw, rows = make_password(None), []
    for d in Department.objects.all():
        for role, i in _staff_roles(d):
            rows.append(User(username=f"b_{role}_{d.code}_{i}", role=role, department=d, password=pw,
                             region_id=d.region_id if role == Role.DISPATCHER else None, phone=f"139{d.pk:05d}{i:03d}",
                             email=f"{role}{d.pk}-{i}@bench.yingshang.local", display_name=f"{d.short_name}{i}"))
    User.objects.bulk_create(rows)
    return len(rows)


def _seed_city(seed_value: int) -> int:
    """The city without its policy library and demo appeals (the benchmark writes its own cases), its staff."""
    import inspect

    from yingshang.seeding.run import seed as seed_city

    skip = {k: False for k in ("policies", "appeals") if k in inspect.signature(seed_city).parameters}
    seed_city("city", seed_value, **skip)
    return seed_staff()


def _generate(n: int, k: int, seed_value: int, now: int) -> tuple[Cases, Days]:
    """The cases with their clocks as the last minute's sweep left them."""
    from yingshang.appeals import deadlines
    from yingshang.workcal.calendar import get_calendar

    cal, org = get_calendar(), Org()
    days = Days(cal, dt.date.fromordinal(local_ord(now) - 800), dt.date.fromordinal(local_ord(now) + 400))
    cases = Cases(org, cal, days, n, k, now, seed_value, deadlines.policy())
    cases.escalation(now - MINUTE)
    return cases, days


def _ids(n: int, order: np.ndarray) -> np.ndarray:
    """Primary keys in creation order, after any appeal already stored."""
    from yingshang.appeals.models import Appeal

    ids = np.empty(n, dtype=np.int64)
    ids[order] = np.arange(1, n + 1) + (Appeal.objects.order_by("-id").values_list("id", flat=True).first() or 0)
    return ids


def _no_sync_commit(connection) -> None:
    """PostgreSQL: the loading transaction need not wait for its WAL flush (a scratch database)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _write(cases: Cases, ids: np.ndarray, order: np.ndarray, say) -> dict:
    """COPY the appeals and their child tables with the indexes rebuilt afterwards; rows per table."""
    from django.db import connection, transaction

    from yingshang.appeals.models import Appeal, AppealEvent, AppealTask
    from yingshang.seeding.writer import BulkWriter

    cols, writer = Cols(connection.vendor), BulkWriter(connection)
    children = {AppealTask: task_rows(cases, ids), AppealEvent: event_rows(cases, ids), **other_rows(cases, ids)}
    counts = {"appeals": cases.n}
    with transaction.atomic():
        _no_sync_commit(connection)
        with writer.indexes_deferred(Appeal, *children):
            writer.write(Appeal, appeal_columns(cases, cols, ids, order))
            for model, rows in children.items():
                counts[model._meta.model_name] = writer.write(model, rows.series(cols))
                say(f"已写入 {model._meta.verbose_name or model.__name__}: {counts[model._meta.model_name]:,} 行")
    writer.reset_sequences(Appeal)
    return counts


def seed(n: int, k: int, seed_value: int, say) -> dict:
    """Organisation, staff and N cases (K open) with their tasks, events, steps, pauses and extensions."""
    start = time.perf_counter()
    staff = _seed_city(seed_value)
    now = int(time.time() * US)
    cases, days = _generate(n, k, seed_value, now)
    order = np.argsort(cases.created, kind="stable")
    ids = _ids(n, order)
    say(f"生成 {n:,} 件诉求的时间线: {time.perf_counter() - start:.1f} 秒")
    counts = _write(cases, ids, order, say)
    vacuum()
    return {"now_us": now, "seed_s": round(time.perf_counter() - start, 1), "staff": staff, "rows": counts,
            "midnight_us": int(next_rollover(days, now)), "statuses": _counted(cases.c["status"]),
            "escalation_levels": _counted(cases.c["level"][cases.f["dispatch"]])}


def catch_up() -> dict:
    """A reused database: fire what came due since it was left (committed), so the state is again the one the
    last minute's sweep leaves; the figures below then start from there."""
    from yingshang.appeals import escalation
    from yingshang.appeals.models import Appeal
    from yingshang.workcal.calendar import get_calendar

    now = int(time.time() * US)
    days = Days(get_calendar(), dt.date.fromordinal(local_ord(now) - 30), dt.date.fromordinal(local_ord(now) + 60))
    start = time.perf_counter()
    fired = escalation.sweep_all(to_dt(now - MINUTE))
    return {"now_us": now, "midnight_us": int(next_rollover(days, now)), "seed_s": 0.0,
            "rows": {"appeals": Appeal.objects.count()},
            "catch_up": {"cases": fired, "seconds": round(time.perf_counter() - start, 2)}}


def delivered() -> int:
    """Mark the queued SMS/e-mail sent, as the worker would within a minute (the benchmark runs none), and
    vacuum: a database left with thousands of pending rows would slow the health check's outbox count."""
    from django.utils import timezone

    from yingshang.core.models import OutboxMessage, OutboxStatus

    done = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).update(status=OutboxStatus.SENT,
                                                                          sent_at=timezone.now())
    vacuum()
    return done


def vacuum() -> None:
    """VACUUM ANALYZE: statistics and the visibility map a live database has from autovacuum (without the
    latter no index-only scan is possible on freshly loaded tables)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")


def _counted(values) -> dict:
    keys, counts = np.unique(values, return_counts=True)
    return {str(k): int(v) for k, v in zip(keys, counts)}


def next_rollover(days: Days, now: int) -> int:
    """The next midnight between two working days: the sweep that fires the most timers at once."""
    o = local_ord(now) + 1
    work = set(days.work.tolist())
    while not (o in work and o - 1 in work):
        o += 1
    return day_start(o)


# ---------------------------------------------------------------- the stored clocks vs the platform's
def check_clock(now_us: int, sample: int, seed_value: int) -> tuple[int, int, list]:
    """Stored clock fields vs ``deadlines.recompute``, stored level vs ``clock.level_at`` (reply, pause, return
    or last sweep), on a random sample of dispatched cases: (checked, mismatches, examples)."""
    from yingshang.appeals import deadlines
    from yingshang.appeals.models import Appeal
    from yingshang.workcal.calendar import get_calendar

    cal, last_sweep = get_calendar(), to_dt(now_us - MINUTE)
    ids = list(Appeal.objects.filter(dispatched_at__isnull=False).values_list("pk", flat=True))
    pick = np.random.default_rng(seed_value).choice(ids, min(sample, len(ids)), replace=False).tolist()
    checked = (_check_one(a, cal, last_sweep) for a in deadlines.with_clock_data(Appeal.objects.filter(pk__in=pick)))
    bad = [b for b in checked if b]
    return len(pick), len(bad), bad[:5]


def _check_one(a, cal, last_sweep: dt.datetime) -> dict | None:
    """The mismatch of one case (recomputed in memory, never saved), or None."""
    from yingshang.appeals import clock, deadlines

    stored = [getattr(a, f) for f in deadlines.CLOCK_FIELDS]
    deadlines.recompute(a, cal=cal)
    times = deadlines.case_times(a)
    level = clock.level_at(times, cal, deadlines.policy(a.grade), _reference(a, times, last_sweep))
    if stored == [getattr(a, f) for f in deadlines.CLOCK_FIELDS] and level == a.escalation_level:
        return None
    return {"id": a.pk, "stored": [str(x) for x in stored + [a.escalation_level]],
            "clock": [str(getattr(a, f)) for f in deadlines.CLOCK_FIELDS] + [level]}


def _reference(a, times, last_sweep: dt.datetime) -> dt.datetime:
    """Until when the timers ran: the reply, the open pause, the return, else the last sweep."""
    from yingshang.appeals.models import Status

    if a.status == Status.RETURNED:  # the timers stopped when the department returned it
        return a.tasks.exclude(returned_at=None).order_by("-returned_at").values_list("returned_at", flat=True)[0]
    return a.replied_at or (times.pauses[-1][0] if a.status == Status.PAUSED else last_sweep)
