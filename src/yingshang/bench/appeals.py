"""诉求闭环 at scale: N cases (K open) in a scratch database; times the escalation sweep, the dispatcher pool
and the public board (server time, in-process with Django's test client) and the monthly KPIs.

``yingshang bench appeals [--cases 1000000] [--open 200000] [--repeat 20] [--db bench_appeals_main] [--keep]
[--sqlite] [--out DIR]``

Seeding (timed, reported, not a target): ``seed city`` (周口市: 10 counties, 190 townships, 249 departments,
50,000 enterprises), then per department two handlers and a leader and per county a dispatcher; then the
cases, generated as arrays: statuses, grades, channels, categories, regions, departments (city bureaus
Zipf-weighted, county offices, townships of the case's street), 65 % tied to an enterprise, ~10 % disclosed,
created over 12 months (open ones weighted to recent weeks plus an overdue backlog), each with its lead
task(s) (5 % returned once), co-handling tasks, pauses, approved extensions, the fired escalation steps and
the whole event timeline; written with COPY (PostgreSQL) with the indexes rebuilt afterwards, then ANALYZE.
The case clock (due date, deadline, provisional flag, escalation level and next timer as the last minute's
sweep left them) is computed vectorised from the platform calendar (cases with a completed pause go
through ``clock.escalation_times``) and checked against ``deadlines.recompute``/``clock.level_at`` on a
sample (``clock_mismatches`` must be 0).

Timings: sweep (``escalation.sweep_all``) for an ordinary minute (timers due in the last 60 s), a backlog of
``--backlog`` due cases (two batches) and the nightly rollover (every timer of the coming midnight); the
first two inside a rolled-back transaction so all three start from the same state. Baseline: the same
sweep with nothing due. Pool (``GET /api/v1/appeals``) and board (``GET /api/v1/public/appeals``) p50/p95
per filter, deep pages included; baseline ``GET /api/v1/health``. KPIs: ``kpis.compute`` of last month and
of the running month by department. Cases over target get EXPLAIN ANALYZE / cProfile files in ``--out``.
The last line printed is JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from yingshang.bench._appeals_cases import CLOSED_MIX, INTAKE_MIX, OPEN_MIX
from yingshang.bench._appeals_measure import (KPI_TARGET_S, SWEEP_TARGET_S, TARGET_MS, time_http, time_kpis,
                                              time_sweeps, verdict)
from yingshang.bench._appeals_seed import catch_up, check_clock, delivered, seed
from yingshang.bench.push import _pg_admin, _queue_only
from yingshang.bench.seed import DEFAULT_PG

# Re-exported: the mixes for the smoke test; the driver helpers and ``delivered`` for ``bench appeals_load``.
__all__ = ["CLOSED_MIX", "INTAKE_MIX", "OPEN_MIX", "child_args", "delivered", "main", "pg_admin", "run_child",
           "scratch_env"]


# ---------------------------------------------------------------- driver (outer process)
def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="yingshang bench appeals", description="诉求闭环:督办扫描、诉求池、公开栏、月度指标")
    p.add_argument("--cases", type=int, default=1_000_000)
    p.add_argument("--open", type=int, default=200_000, help="未办结诉求数")
    p.add_argument("--repeat", type=int, default=20, help="每个用例的计时次数")
    p.add_argument("--backlog", type=int, default=2000, help="积压扫描的到期诉求数")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--db", default="bench_appeals_main", help="临时 PostgreSQL 库名(删除重建)")
    p.add_argument("--keep", action="store_true", help="保留数据库(可供 appeals_load --reuse 使用)")
    p.add_argument("--reuse", default="", help="不生成数据,直接计时 --keep 留下的库(先补做一次扫描)")
    p.add_argument("--sqlite", action="store_true", help="改用临时 SQLite 文件(冒烟测试)")
    p.add_argument("--out", default="", help="超标用例的 EXPLAIN/cProfile 输出目录")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _server() -> str:
    return (os.environ.get("DATABASE_URL") or DEFAULT_PG).rsplit("/", 1)[0]


def pg_admin(statements: list[str]) -> None:
    """Run CREATE/DROP DATABASE statements on the server of DATABASE_URL (or the local default)."""
    _pg_admin(f"{_server()}/postgres", statements)


def scratch_env(home: str, db: str | None) -> dict:
    """The environment of a child process working on the scratch database (SQLite file when ``db`` is None)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_URL_FILE", "YINGSHANG_SQLITE",
                                                             "CELERY_BROKER_URL", "YINGSHANG_CACHE_URL")}
    env.update(YINGSHANG_HOME=home, YINGSHANG_MODE="demo", YINGSHANG_JOBS="inprocess",
               DJANGO_SETTINGS_MODULE="yingshang.settings")
    if db:
        env["DATABASE_URL"] = f"{_server()}/{db}"
    return env


def run_child(args: list[str], env: dict) -> dict:
    """Run ``python -m <args>`` (progress on our stderr); its last stdout line is JSON."""
    proc = subprocess.run([sys.executable, "-m", *args], env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"基准子进程失败(退出码 {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_args(opts) -> list[str]:
    """The command line of the inner process that seeds (or reuses) and times."""
    return ["yingshang.bench.appeals", "--inner", "--cases", str(opts.cases), "--open", str(opts.open),
            "--repeat", str(opts.repeat), "--backlog", str(opts.backlog), "--seed", str(opts.seed),
            "--out", opts.out] + (["--reuse", opts.reuse] if opts.reuse else [])


def _run(opts, home: str) -> dict:
    """The inner process on a SQLite file, a reused database or a freshly created one (dropped unless --keep)."""
    if opts.sqlite:
        return run_child(child_args(opts), scratch_env(home, None))
    if opts.reuse:
        return run_child(child_args(opts), scratch_env(home, opts.reuse))
    pg_admin([f'DROP DATABASE IF EXISTS "{opts.db}" WITH (FORCE)', f'CREATE DATABASE "{opts.db}"'])
    try:
        return run_child(child_args(opts), scratch_env(home, opts.db))
    finally:
        if not opts.keep:
            pg_admin([f'DROP DATABASE IF EXISTS "{opts.db}" WITH (FORCE)'])


def main(argv: list[str]) -> int:
    """Entry point of ``yingshang bench appeals``: a summary, then the result as one JSON line."""
    opts = _parse(argv)
    if opts.inner:
        return inner(opts)
    opts.out = os.path.abspath(opts.out or tempfile.mkdtemp(prefix="bench-appeals-"))
    with tempfile.TemporaryDirectory(prefix="ys-bench-appeals-") as home:
        result = _run(opts, home)
    _summary(result)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _summary(r: dict) -> None:
    print(f"种子: {r['cases']:,} 件诉求({r['open']:,} 件未办结),{json.dumps(r['rows'])},用时 {r['seed_s']} 秒;"
          f"时钟抽检 {r['clock_checked']} 件,不一致 {r['clock_mismatches']} 件")
    for name, s in r["sweep"].items():
        print(f"督办扫描 {name:<10} {s['cases']:>7,} 件  {s['seconds']:7.3f} 秒")
    for group in ("pool", "board"):
        for name, t in r[group].items():
            print(f"{name:<34} p50 {t['p50_ms']:8.2f} ms  p95 {t['p95_ms']:8.2f} ms  max {t['max_ms']:8.2f} ms")
    for name, k in r["kpis"].items():
        print(f"月度指标 {name:<12} {k['median_s']:.3f} 秒(最长 {k['max_s']:.3f})  {k['rows']} 个单位")
    print(f"超标用例的分析文件: {r['out']}")


# ---------------------------------------------------------------- inner process (the scratch database)
def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _setup(opts) -> None:
    """Django on the scratch database, migrated; escalation notices queued but not delivered (as bench push)."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _queue_only()
    os.makedirs(opts.out or ".", exist_ok=True)


def _measure(opts, info: dict) -> dict:
    """The clock check, then pool/board, KPIs and sweeps (last: the committed rollover changes the state)."""
    from django.db import connection

    checked, mismatches, examples = check_clock(info["now_us"], 2000, opts.seed)
    _say(f"时钟抽检 {checked} 件,不一致 {mismatches} 件;计时公开栏与诉求池…")
    r = {"bench": "appeals", "db": connection.vendor, "cases": opts.cases, "open": opts.open, "cpus": os.cpu_count(),
         "repeat": opts.repeat, **info, "clock_checked": checked, "clock_mismatches": mismatches,
         "clock_examples": examples, "out": opts.out, **time_http(opts.repeat, opts.out)}
    _say("计时月度指标…")
    r["kpis"] = time_kpis(info["now_us"], opts.out)
    _say("计时督办扫描…")
    r["sweep"] = time_sweeps(info, opts.backlog, opts.out)
    r["outbox_marked_sent"] = delivered()
    return r


def inner(opts) -> int:
    """The child process: seed (or catch up), time, print the result as JSON."""
    _setup(opts)
    load_before = os.getloadavg()
    info = catch_up() if opts.reuse else seed(opts.cases, opts.open, opts.seed, _say)
    if opts.seed_only:
        print(json.dumps(info))
        return 0
    r = _measure(opts, info)
    r["targets"] = {"http_p95_ms": TARGET_MS, "sweep_s": SWEEP_TARGET_S, "kpi_s": KPI_TARGET_S}
    r["verdict"] = verdict(r)
    r["loadavg"] = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(r, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
