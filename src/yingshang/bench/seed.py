"""``yingshang seed`` wall time into a fresh PostgreSQL database and a fresh SQLite file.

``yingshang bench seed [--size province] [--seed 1] [--skip-pg] [--skip-sqlite] [--pg-db ys_bench_seed] [--keep]``
PostgreSQL: the server of ``DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/postgres); a
scratch database (default ``ys_bench_seed``) is dropped and created, migrated (not timed), then seeded
(timed) by a ``yingshang seed`` subprocess. Baseline in the same run: generating the same rows
without any database (the part of the time that is Python). Limit from the issue: 180 s for
``province``. The last line printed is JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_S = {"province": 180.0}
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="yingshang bench seed", description="演示数据生成耗时(PostgreSQL 与 SQLite)")
    p.add_argument("--size", choices=("small", "city", "province"), default="province")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-pg", action="store_true", help="不测 PostgreSQL")
    p.add_argument("--skip-sqlite", action="store_true", help="不测 SQLite")
    p.add_argument("--skip-baseline", action="store_true", help="不测纯生成(无数据库)的基线")
    p.add_argument("--pg-db", default="ys_bench_seed", help="临时 PostgreSQL 数据库名(会被删除重建)")
    p.add_argument("--keep", action="store_true", help="保留生成的数据库")
    return p.parse_args(argv)


def _cli(args: list[str], env: dict) -> float:
    """Run ``yingshang ARGS`` in a subprocess; returns its wall time in seconds."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "yingshang", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"yingshang {' '.join(args)} 失败:\n{proc.stderr[-2000:]}")
    return elapsed


def _env(home: str, database_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_URL_FILE", "YINGSHANG_SQLITE")}
    env.update(YINGSHANG_HOME=home, YINGSHANG_MODE="demo")
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _pg_admin(url: str, statements: list[str]) -> list:
    import psycopg

    out = []
    with psycopg.connect(url, autocommit=True) as conn:
        for sql in statements:
            cur = conn.execute(sql)
            out.append(cur.fetchone() if cur.description else None)
    return out


def bench_pg(opts, base_url: str) -> dict:
    db = opts.pg_db
    _pg_admin(base_url, [f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'CREATE DATABASE "{db}"'])
    url = base_url.rsplit("/", 1)[0] + f"/{db}"
    with tempfile.TemporaryDirectory(prefix="ys-bench-seed-") as home:
        env = _env(home, url)
        migrate_s = _cli(["manage", "migrate", "-v", "0"], env)
        seed_s = _cli(["seed", "--size", opts.size, "--seed", str(opts.seed), "--no-migrate"], env)
    size_bytes, rows = _pg_admin(url, [f"SELECT pg_database_size('{db}')",
                                       "SELECT count(*) FROM enterprises_enterprise"])
    if not opts.keep:
        _pg_admin(base_url, [f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'])
    return {"database": db, "kept": opts.keep, "migrate_s": round(migrate_s, 1), "seed_s": round(seed_s, 1),
            "enterprises": rows[0], "db_bytes": size_bytes[0], "db_mb": round(size_bytes[0] / 2**20)}


def bench_sqlite(opts) -> dict:
    with tempfile.TemporaryDirectory(prefix="ys-bench-seed-") as home:
        env = _env(home, None)
        migrate_s = _cli(["manage", "migrate", "-v", "0"], env)
        seed_s = _cli(["seed", "--size", opts.size, "--seed", str(opts.seed), "--no-migrate"], env)
        size = sum(p.stat().st_size for p in Path(home).glob("yingshang.sqlite3*"))
    return {"migrate_s": round(migrate_s, 1), "seed_s": round(seed_s, 1), "db_bytes": size,
            "db_mb": round(size / 2**20)}


def bench_generation(opts) -> dict:
    """Baseline: the same rows generated in memory, no database."""
    from yingshang.seeding.generate import EnterpriseGenerator

    start = time.perf_counter()
    rows = sum(chunk.size for chunk in EnterpriseGenerator(opts.size, opts.seed).chunks())
    return {"generate_only_s": round(time.perf_counter() - start, 1), "rows": rows}


def main(argv: list[str]) -> int:
    opts = _parse(argv)
    result = {"bench": "seed", "size": opts.size, "seed": opts.seed, "cpus": os.cpu_count(),
              "limit_s": LIMIT_S.get(opts.size)}
    if not opts.skip_baseline:
        result["baseline"] = bench_generation(opts)
        print(f"基线(只生成,不写库): {result['baseline']['generate_only_s']} 秒", flush=True)
    if not opts.skip_pg:
        result["postgresql"] = bench_pg(opts, os.environ.get("DATABASE_URL") or DEFAULT_PG)
        print(f"PostgreSQL: seed {result['postgresql']['seed_s']} 秒,库大小 {result['postgresql']['db_mb']} MB", flush=True)
    if not opts.skip_sqlite:
        result["sqlite"] = bench_sqlite(opts)
        print(f"SQLite: seed {result['sqlite']['seed_s']} 秒,文件大小 {result['sqlite']['db_mb']} MB", flush=True)
    if result["limit_s"]:
        timed = [result[k]["seed_s"] for k in ("postgresql",) if k in result]
        result["within_limit"] = all(t <= result["limit_s"] for t in timed) if timed else None
    print(json.dumps(result, ensure_ascii=False))
    return 0
