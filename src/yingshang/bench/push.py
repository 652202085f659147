"""Publishing an item to N eligible enterprises: how long ``push.do_push`` takes to queue their notifications.

``yingshang bench push [--enterprises 100000] [--stewards 50] [--skip-pg] [--skip-sqlite] [--pg-db ys_bench_push] [--keep]``
Each backend gets a scratch database (SQLite: a temporary file; PostgreSQL: ``--pg-db`` on the server of
``DATABASE_URL``, dropped and created), migrated and seeded with N enterprises with one user each (phone
and e-mail, so every push writes an inbox row, an SMS and an e-mail) and some stewards — not timed. Then
``do_push`` is timed once (the publish) and again with the same ids (a retry: nothing new). The work runs
in a subprocess per backend so each gets its own settings. Limit from the issue: 10 s for 100,000.

Second timing, the real publish path: ``matching.run_item`` of a published 免申即享 item (subsidy, amount
formula ``min(employees * 100, 50000)``) whose rule every seeded enterprise meets, over the same N. The
engine caches are reset first and the register load is timed on its own (``register_load_s``), so the
run finds it cached. ``publish_pushes_s`` runs from the start of ``run_item`` until the transaction that
holds the pushes and their notifications COMMITS — measured by an ``on_commit`` callback that the wrapped
``push.do_push`` registers (it fires when the outermost transaction, matching_store's, commits: the rows
are then visible to every other connection). ``publish_total_s`` is the whole ``run_item``, including the
redemption records with their amounts (created in a second transaction). ``publish_push_call_s`` is the
``do_push`` call alone. The issue's limit applies to ``publish_pushes_s`` (queuing the notifications).
The last line printed is JSON.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time

LIMIT_S = 10.0
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="yingshang bench push", description="政策推送入队耗时(PostgreSQL 与 SQLite)")
    p.add_argument("--enterprises", type=int, default=100_000)
    p.add_argument("--stewards", type=int, default=50, help="服务管家人数(企业平均分配)")
    p.add_argument("--skip-pg", action="store_true")
    p.add_argument("--skip-sqlite", action="store_true")
    p.add_argument("--pg-db", default="ys_bench_push", help="临时 PostgreSQL 数据库名(会被删除重建)")
    p.add_argument("--keep", action="store_true", help="保留生成的数据库")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ---------------------------------------------------------------- inside the scratch database
def _seed(n: int, stewards: int) -> tuple[object, list[int]]:
    """N enterprises with one user each, stewards, a document and a published item (bulk, not timed)."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from yingshang.core.bulk import db_adapter, insert_rows
    from yingshang.core.models import Department, DepartmentKind, Region, RegionLevel, Role, User
    from yingshang.enterprises.models import Enterprise
    from yingshang.policies.models import ItemStatus, PolicyDocument, PolicyItem

    adapt, now = db_adapter(), timezone.now()
    # Stamped a day back: a register in place well before the publish. Stamps within engine_db's refresh
    # slack (5 min, as right after a bulk import) make every current_register() call reload them.
    stamp = adapt(now - dt.timedelta(days=1))
    city = Region.objects.create(code="411600", name="周口市", level=RegionLevel.CITY, prefix="4116")
    county = Region.objects.create(code="411602", name="川汇区", level=RegionLevel.COUNTY, prefix="411602", parent=city)
    dept = Department.objects.create(code="BENCH", name="基准测试局", kind=DepartmentKind.SECTOR, region=city)
    officer = User.objects.create(username="bench_officer", role=Role.POLICY_OFFICER, department=dept)
    password = make_password(None)
    steward_ids = [User.objects.create(username=f"bench_steward_{i}", role=Role.STEWARD, region=county,
                                       password=password).pk for i in range(stewards)]
    ent_cols = ["uscc", "name", "legal_form", "status", "region_id", "industry_code", "industry_section",
                "industry_division", "employees", "tax_credit_rating", "taxpayer_kind", "steward_id",
                "legal_representative", "contact_name", "contact_phone", "address", "business_scope",
                "figure_sources", "created_at", "updated_at"]
    insert_rows(Enterprise, ent_cols, [
        (f"BENCH{i:013d}", f"基准测试企业{i}", "llc", "active", county.code, "3311", "C", "33", 50, "", "",
         steward_ids[i % stewards] if stewards else None, "", "", "", "", "", "{}", stamp, stamp) for i in range(n)])
    ids = list(Enterprise.objects.order_by("id").values_list("id", flat=True))
    user_cols = ["password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
                 "date_joined", "role", "display_name", "phone", "enterprise_id", "is_demo"]
    insert_rows(User, user_cols, [(password, False, f"bench_ent_{e}", "", "", f"e{e}@example.cn", False, True, stamp,
                                   Role.ENTERPRISE, "", f"139{e:08d}", e, False) for e in ids])
    doc = PolicyDocument.objects.create(title="基准测试政策文件", issuers="基准测试局", region=city, created_by=officer)
    item = PolicyItem.objects.create(document=doc, code="BENCH-1", title="基准测试政策事项", benefit_type="subsidy",
                                     status=ItemStatus.PUBLISHED, department=dept, created_by=officer,
                                     published_at=now, amount_cap=500000)
    _analyze()
    return item, ids


def _analyze() -> None:
    """Planner statistics for the freshly seeded tables (a live database has them from autovacuum;
    without them PostgreSQL plans the 100,000-row joins as nested loops over "1 row")."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _counts() -> dict:
    from yingshang.core.models import Notification, OutboxMessage
    from yingshang.policies.models import PolicyPush

    return {"pushes": PolicyPush.objects.count(), "inbox": Notification.objects.count(),
            "outbox": OutboxMessage.objects.count()}


def _queue_only() -> None:
    """Measure queueing, not delivery: with no job runner the outbox would be delivered (4 messages per
    enterprise through the SMS/e-mail providers) synchronously inside the timed call."""
    from yingshang import jobs

    real = jobs.enqueue
    jobs.enqueue = lambda name, *a, **k: None if name == "core.deliver_outbox" else real(name, *a, **k)


def inner(opts) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from yingshang.policies import push

    call_command("migrate", verbosity=0)
    _queue_only()
    from django.urls import reverse

    reverse("policies:calculator")  # load the URL configuration (a running server has it) before timing
    start = time.perf_counter()
    item, ids = _seed(opts.enterprises, opts.stewards)
    seed_s = time.perf_counter() - start
    start = time.perf_counter()
    first = push.do_push(item, ids, "publish")
    push_s = time.perf_counter() - start
    after = _counts()
    start = time.perf_counter()
    again = push.do_push(item, ids, "publish")
    retry_s = time.perf_counter() - start
    figures = {"seed_s": round(seed_s, 1), "push_s": round(push_s, 2), "retry_s": round(retry_s, 2),
               "sent": first.sent, "retry_sent": again.sent, **after, "unchanged_by_retry": _counts() == after}
    print(json.dumps({**figures, **_publish(item)}))
    return 0


# ---------------------------------------------------------------- the real publish path
AUTO_RULE = {"all": [{"field": "employees", "op": ">=", "value": 1}]}  # every seeded enterprise has 50
AUTO_FORMULA = "min(employees * 100, 50000)"


def _auto_item(like):
    """A published 免申即享 subsidy with an amount formula, in the benchmark item's document."""
    from yingshang.policies.models import ItemStatus, Mode, PolicyItem

    return PolicyItem.objects.create(document=like.document, code="BENCH-AUTO", title="基准测试免申即享事项",
                                     benefit_type="subsidy", mode=Mode.AUTO, status=ItemStatus.PUBLISHED,
                                     department=like.department, created_by=like.created_by,
                                     published_at=like.published_at, rule=AUTO_RULE,
                                     amount_formula=AUTO_FORMULA, amount_cap=50000)


def _reset_engine() -> float:
    """Forget every engine cache, then time loading the register (the run below finds it cached)."""
    from yingshang.policies import engine_db, matching

    engine_db.reset_cache()
    matching._rule_cache.clear()
    matching.reset_shard_registers()
    start = time.perf_counter()
    engine_db.current_register()
    return time.perf_counter() - start


def _timed_pushes(marks: dict):
    """Wrap push.do_push: record the call's duration and when its transaction commits (see the docstring)."""
    from django.db import transaction

    from yingshang.policies import push

    real = push.do_push

    def do_push(*args, **kwargs):
        start = time.perf_counter()
        result = real(*args, **kwargs)
        marks["call_s"] = marks.get("call_s", 0.0) + time.perf_counter() - start
        transaction.on_commit(lambda: marks.setdefault("committed", time.perf_counter()))
        return result

    push.do_push = do_push
    return real


def _publish(like) -> dict:
    from django.db.models import Sum

    from yingshang.policies import matching, push
    from yingshang.policies.models import PolicyPush, Redemption

    item, marks = _auto_item(like), {}
    load_s = _reset_engine()
    real = _timed_pushes(marks)
    try:
        start = time.perf_counter()
        matching.run_item(item, "publish")
        total_s = time.perf_counter() - start
    finally:
        push.do_push = real
    redemptions = Redemption.objects.filter(item=item)
    return {"register_load_s": round(load_s, 2), "publish_pushes_s": round(marks["committed"] - start, 2),
            "publish_push_call_s": round(marks["call_s"], 2), "publish_total_s": round(total_s, 2),
            "publish_sent": PolicyPush.objects.filter(item=item, status="sent").count(),
            "publish_redemptions": redemptions.count(),
            "publish_redemptions_with_amount": redemptions.filter(amount_estimated__isnull=False).count(),
            "publish_amount_sum": str(redemptions.aggregate(s=Sum("amount_estimated"))["s"])}


# ---------------------------------------------------------------- the driver
def _run_inner(opts, env: dict) -> dict:
    args = [sys.executable, "-m", "yingshang.bench.push", "--inner", "--enterprises", str(opts.enterprises),
            "--stewards", str(opts.stewards)]
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"基准子进程失败:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _env(home: str, database_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_URL_FILE", "YINGSHANG_SQLITE",
                                                             "CELERY_BROKER_URL")}
    env.update(YINGSHANG_HOME=home, YINGSHANG_MODE="demo", YINGSHANG_JOBS="inprocess",
               DJANGO_SETTINGS_MODULE="yingshang.settings")
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _pg_admin(url: str, statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)


def bench_pg(opts, base_url: str) -> dict:
    db = opts.pg_db
    _pg_admin(base_url, [f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'CREATE DATABASE "{db}"'])
    try:
        with tempfile.TemporaryDirectory(prefix="ys-bench-push-") as home:
            return _run_inner(opts, _env(home, base_url.rsplit("/", 1)[0] + f"/{db}"))
    finally:
        if not opts.keep:
            _pg_admin(base_url, [f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'])


def bench_sqlite(opts) -> dict:
    with tempfile.TemporaryDirectory(prefix="ys-bench-push-") as home:
        return _run_inner(opts, _env(home, None))


def _say(name: str, r: dict) -> None:
    print(f"{name}: 推送 {r['sent']} 家企业 {r['push_s']} 秒,重试 {r['retry_s']} 秒;发布匹配:载入名录 "
          f"{r['register_load_s']} 秒,推送提交 {r['publish_pushes_s']} 秒,含兑现记录共 {r['publish_total_s']} 秒",
          flush=True)


def main(argv: list[str]) -> int:
    opts = _parse(argv)
    if opts.inner:
        return inner(opts)
    result = {"bench": "push", "enterprises": opts.enterprises, "stewards": opts.stewards, "cpus": os.cpu_count(),
              "limit_s": LIMIT_S}
    if not opts.skip_sqlite:
        result["sqlite"] = bench_sqlite(opts)
        _say("SQLite", result["sqlite"])
    if not opts.skip_pg:
        result["postgresql"] = bench_pg(opts, os.environ.get("DATABASE_URL") or DEFAULT_PG)
        _say("PostgreSQL", result["postgresql"])
    limit = LIMIT_S * opts.enterprises / 100_000
    for key, name in (("push_s", "within_limit"), ("publish_pushes_s", "publish_within_limit")):
        timed = [result[k][key] for k in ("sqlite", "postgresql") if k in result]
        result[name] = all(t <= limit for t in timed) if timed else None
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
