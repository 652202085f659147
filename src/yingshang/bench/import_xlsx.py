"""Benchmark: import a 100,000-row register XLSX into a fresh database (issue 2: ≤ 60 s on 2 cores).

``yingshang bench import_xlsx [--rows N] [--baseline-sample N] [--keep]``

Uses a fresh SQLite file by default, or — when DATABASE_URL is set — a temporary PostgreSQL database
created beside the one named there (dropped afterwards). Reports the seconds for read + validate
(the dry-run plan) and for the whole import (read + validate + write), and a baseline measured in
the same run: per-row ``do_create_enterprise`` on a sample, extrapolated to the same row count.
The last line of output is JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

COUNTIES = ["411602", "411603", "411621", "411622", "411623", "411624", "411625", "411627", "411628", "411681"]
INDUSTRIES = ["0111", "1311", "3311", "3921", "4711", "5191", "5212", "5430", "5990", "6110", "6210", "6420",
              "6513", "7010", "7020", "7212", "7320", "8010", "8621"]
CERTS = ["", "", "", "", "高新技术企业", "科技型中小企业", "专精特新中小企业", "高新技术企业、专精特新中小企业"]


def _parse(argv):
    p = argparse.ArgumentParser(prog="yingshang bench import_xlsx")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--baseline-sample", type=int, default=500)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", action="store_true", help="keep the temporary database and file")
    return p.parse_args(argv)


def _fresh_database(workdir: Path) -> tuple[str, callable]:
    """Point Django at a fresh database; returns (label, cleanup)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        os.environ["YINGSHANG_SQLITE"] = str(workdir / "bench.sqlite3")
        return "sqlite", lambda: None
    import psycopg

    name = f"ys_bench_import_{os.getpid()}"
    base, _, _ = url.rpartition("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{base}/{name}"

    def drop():
        from django.db import connections

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return "postgresql", drop


def _setup_org():
    from yingshang.core.models import Region, RegionLevel, Role, User

    Region.objects.get_or_create(code="410000", defaults={"name": "河南省", "level": RegionLevel.PROVINCE,
                                                          "prefix": "41"})
    Region.objects.get_or_create(code="411600", defaults={"name": "周口市", "level": RegionLevel.CITY,
                                                          "parent_id": "410000", "prefix": "4116"})
    for code in COUNTIES:
        Region.objects.get_or_create(code=code, defaults={"name": f"县区{code}", "level": RegionLevel.COUNTY,
                                                          "parent_id": "411600", "prefix": code})
    user, _ = User.objects.get_or_create(username="bench_admin", defaults={"role": Role.ADMIN})
    return user


def _rows(count: int, start: int, rng: random.Random):
    """Rows in the import template's column order (exporter.COLUMNS)."""
    import datetime as dt

    from yingshang.enterprises.exporter import COLUMNS
    from yingshang.enterprises.uscc import make_uscc

    for i in range(start, start + count):
        region = COUNTIES[i % len(COUNTIES)]
        revenue = round(rng.lognormvariate(6, 1.6), 2)
        row = {"uscc": make_uscc("9", "1", region, f"MA{i:06d}"), "name": f"周口基准测试企业{i}有限公司",
               "legal_form": "有限责任公司", "status": "存续", "region_code": region,
               "industry_code": INDUSTRIES[i % len(INDUSTRIES)],
               "established_on": dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(10000)),
               "registered_capital": rng.choice([10, 50, 100, 500, 1000]), "employees": rng.randrange(1, 800),
               "operating_revenue": revenue, "total_assets": round(revenue * rng.uniform(0.5, 3), 2),
               "rd_expense": round(revenue * rng.uniform(0, 0.08), 2),
               "taxable_income": round(revenue * rng.uniform(0, 0.1), 2), "tax_credit_rating": rng.choice("ABBBMCD"),
               "taxpayer_kind": rng.choice(["一般纳税人", "小规模纳税人", None]), "certifications": rng.choice(CERTS),
               "source": "统计局年报", "as_of": "2024-12-31", "contact_phone": f"139{i % 100000000:08d}",
               "address": f"周口市示例路{i}号"}
        yield [row.get(c) for c in COLUMNS]


def _write_xlsx(path: Path, count: int, rng: random.Random) -> None:
    from openpyxl import Workbook

    from yingshang.enterprises.exporter import COLUMNS
    from yingshang.enterprises.validation import HEADERS

    book = Workbook(write_only=True)
    sheet = book.create_sheet("企业档案")
    sheet.append([HEADERS[c] for c in COLUMNS])
    for row in _rows(count, 0, rng):
        sheet.append(row)
    book.save(path)


def _baseline(user, sample: int, start: int, rng: random.Random) -> float:
    """Seconds per row creating enterprises one by one through the single-record action."""
    from yingshang.enterprises.actions import do_create_enterprise
    from yingshang.enterprises.exporter import COLUMNS
    from yingshang.enterprises.validation import HEADERS

    headers = [HEADERS[c] for c in COLUMNS]
    t0 = time.perf_counter()
    for row in _rows(sample, start, rng):
        do_create_enterprise(user, dict(zip(headers, row)))
    return (time.perf_counter() - t0) / sample


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv or [])
    workdir = Path(tempfile.mkdtemp(prefix="ys-bench-import-"))
    label, cleanup = _fresh_database(workdir)
    os.environ.setdefault("YINGSHANG_HOME", str(workdir))
    from yingshang.commands import setup_django

    setup_django()
    try:
        return _run(args, workdir, label)
    finally:
        if not args.keep:
            cleanup()


def _run(args, workdir: Path, label: str) -> int:
    from yingshang.commands import migrate
    from yingshang.enterprises.importer import import_file
    from yingshang.enterprises.models import Enterprise

    migrate()
    user = _setup_org()
    rng = random.Random(args.seed)
    path = workdir / "register.xlsx"
    t0 = time.perf_counter()
    _write_xlsx(path, args.rows, rng)
    print(f"生成 {args.rows} 行 XLSX: {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.1f} MB ({label})")

    t0 = time.perf_counter()
    _, preview = import_file(user, path, dry_run=True)
    validate_s = time.perf_counter() - t0
    print(f"读取+校验+比对(预览,不写入): {validate_s:.1f} s — {preview.counts}")

    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    _, outcome = import_file(user, path, progress=lambda phase, done, total: marks.setdefault(phase, time.perf_counter()))
    total_s = time.perf_counter() - t0
    write_s = total_s - ((marks.get("写入") or t0) - t0)
    assert outcome.written and Enterprise.objects.count() == args.rows, outcome.counts
    print(f"导入(读取+校验+写入): {total_s:.1f} s,其中写入约 {write_s:.1f} s — {outcome.counts}")

    t0 = time.perf_counter()
    _, again = import_file(user, path)
    reimport_s = time.perf_counter() - t0
    print(f"重复导入同一文件(全部未变): {reimport_s:.1f} s — {again.counts}")

    per_row = _baseline(user, args.baseline_sample, args.rows, rng)
    baseline_s = per_row * args.rows
    print(f"基线: 逐行 do_create_enterprise {per_row * 1000:.2f} ms/行,外推 {args.rows} 行 ≈ {baseline_s:.0f} s")
    result = {"bench": "import_xlsx", "database": label, "rows": args.rows, "preview_s": round(validate_s, 2),
              "import_s": round(total_s, 2), "write_s": round(write_s, 2), "reimport_unchanged_s": round(reimport_s, 2),
              "rows_per_s": round(args.rows / total_s), "baseline_per_row_ms": round(per_row * 1000, 3),
              "baseline_extrapolated_s": round(baseline_s, 1), "speedup": round(baseline_s / total_s, 1),
              "target_s": 60, "ok": total_s <= 60}
    print(json.dumps(result, ensure_ascii=False))
    sys.stdout.flush()
    return 0
