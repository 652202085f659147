"""Sustained mixed 诉求 workload over HTTP against the production server configuration.

``yingshang bench appeals_load [--reuse DB | --cases 1000000 --open 200000] [--duration 30] [--rate 300]
[--procs 4] [--conns 4] [--workers N] [--threads 4] [--keep] [--sqlite]``

The scratch database (``--db``, default ``bench_appeals_load``) is seeded like ``bench appeals`` (or
``--reuse`` names one that ``bench appeals --keep`` left). Load users get API tokens (``do_issue_token``):
enterprise users tied to distinct enterprises, a city dispatcher, one handler per target department (none of
them demo accounts: production refuses those); demo accounts lose their passwords (``yingshang serve``
refuses to start otherwise). Then ``yingshang serve``
runs exactly as in production (gunicorn, ``YINGSHANG_MODE=production``, a generated SECRET_KEY, plain
HTTP on 127.0.0.1: ``YINGSHANG_HTTPS=0``) and a multi-process load generator (stdlib ``http.client``, one
keep-alive connection per thread) drives, in the same server run:

1. ``GET /api/v1/health`` as fast as it goes (the trivial-endpoint baseline);
2. full life cycles as fast as they go (closed loop): submit (enterprise) → grade → dispatch (dispatcher)
   → sign → reply (handler) → rate (enterprise), each a POST whose answer is the case;
3. the same at a fixed ``--rate`` of actions per second (open loop); latency there is also reported from
   each action's scheduled start (``*_sched_ms``), so queueing behind a slow server is not hidden.

Latency is measured by the client (loopback; the generator shares the 2 cores with the server). The last
line printed is JSON.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from yingshang.bench.appeals import pg_admin, run_child, scratch_env

ACTIONS = ("submit", "grade", "dispatch", "sign", "reply", "rate")
TARGET_RATE, TARGET_MS = 300.0, 100.0


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="yingshang bench appeals_load", description="诉求全流程混合负载(生产服务配置)")
    p.add_argument("--db", default="bench_appeals_load", help="临时 PostgreSQL 库名(删除重建)")
    p.add_argument("--reuse", default="", help="使用 bench appeals --keep 留下的库(不重新生成)")
    p.add_argument("--cases", type=int, default=1_000_000)
    p.add_argument("--open", type=int, default=200_000)
    p.add_argument("--duration", type=float, default=30.0, help="每个阶段的秒数")
    p.add_argument("--rate", type=float, default=TARGET_RATE, help="定速阶段的目标操作数/秒")
    p.add_argument("--procs", type=int, default=4, help="负载进程数")
    p.add_argument("--conns", type=int, default=4, help="每个进程的连接(线程)数")
    p.add_argument("--workers", type=int, default=None, help="gunicorn 进程数(默认同 serve: CPU×2+1)")
    p.add_argument("--threads", type=int, default=4, help="gunicorn 每进程线程数(默认同 serve)")
    p.add_argument("--keep", action="store_true", help="保留生成的数据库")
    p.add_argument("--sqlite", action="store_true", help="改用临时 SQLite 文件(冒烟测试)")
    p.add_argument("--setup", default="", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ---------------------------------------------------------------- inside the scratch database: users and tokens
def _user(username: str, **fields):
    """A load user without a usable password (kept from an earlier run on a reused database)."""
    from django.contrib.auth.hashers import make_password

    from yingshang.core.models import User

    return User.objects.get_or_create(username=username, defaults={**fields, "password": make_password(None)})[0]


def setup(path: str, users: int) -> int:
    """Load users with tokens (written to ``path``); demo accounts made password-less."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db.models import Count

    from yingshang.appeals.models import Appeal
    from yingshang.core.actions import do_issue_token
    from yingshang.core.models import Department, Role, User
    from yingshang.enterprises.models import Enterprise

    from yingshang.bench.appeals import delivered

    User.objects.filter(is_demo=True).update(password=make_password(None))
    delivered()  # a reused database: what its sweeps queued counts as sent
    busiest = (Appeal.objects.exclude(department=None).values("department").annotate(n=Count("id"))
               .order_by("-n").values_list("department", flat=True)[:users])
    handlers = {}
    for dept in Department.objects.filter(pk__in=list(busiest)):
        # Not the demo accounts: production refuses their tokens.
        staff = User.objects.filter(role=Role.HANDLER, department=dept, is_active=True, is_demo=False)
        user = staff.first() or _user(f"load_handler_{dept.pk}", role=Role.HANDLER, department=dept)
        handlers[dept.code] = do_issue_token(None, user, "load")
    ents = Enterprise.objects.filter(status="active").order_by("id")[:users]
    enterprise = [do_issue_token(None, _user(f"load_ent_{e.pk}", role=Role.ENTERPRISE, enterprise=e), "load")
                  for e in ents]
    city = Department.objects.filter(code="411600-YSB").first()
    dispatcher = do_issue_token(None, _user("load_dispatcher", role=Role.DISPATCHER, region_id="411600",
                                            department=city), "load")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"enterprise": enterprise, "dispatcher": dispatcher, "handlers": list(handlers.items())}, fh)
    print(json.dumps({"enterprise_users": len(enterprise), "departments": len(handlers)}))
    return 0


# ---------------------------------------------------------------- the load generator (child processes)
class Conn:
    """One keep-alive connection; reconnects after a server-side close."""

    def __init__(self, port: int):
        self.port, self.http = port, None

    def call(self, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            try:
                if self.http is None:
                    self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.http.request(method, path, body=data, headers=headers)
                resp = self.http.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, OSError):
                self.http = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def _steps(tokens: dict, slot: int, n: int):
    """The six requests of one life cycle for load slot ``slot`` (cycle number ``n``)."""
    ent = tokens["enterprise"][slot % len(tokens["enterprise"])]
    dept, handler = tokens["handlers"][slot % len(tokens["handlers"])]
    disp = tokens["dispatcher"]
    submit = {"title": f"压力测试诉求 {slot}-{n}", "content": "厂区道路破损影响货车通行,希望尽快协调修复。",
              "category": "other", "disclose": n % 10 == 0}
    return [("submit", "/api/v1/appeals", ent, submit, 201),
            ("grade", "/actions/grade", disp, {"grade": "normal"}, 200),
            ("dispatch", "/actions/dispatch", disp, {"department": dept}, 200),
            ("sign", "/actions/sign", handler, {}, 200),
            ("reply", "/actions/reply", handler, {"result": "resolved", "content": "已协调修复道路,并电话告知企业。"}, 200),
            ("rate", "/actions/rate", ent, {"resolved": True, "satisfaction": "satisfied"}, 200)]


def _cycles(conn: Conn, tokens: dict, slot: int, until: float, pace: float, out: list) -> None:
    """Run life cycles until ``until``; ``pace`` > 0 spaces action starts by that many seconds (open loop)."""
    n, scheduled = 0, time.perf_counter()
    while time.perf_counter() < until:
        n, case = n + 1, None
        for action, path, token, body, expected in _steps(tokens, slot, n):
            if pace:
                scheduled += pace
                time.sleep(max(0.0, scheduled - time.perf_counter()))
            if time.perf_counter() >= until:
                return
            start = time.perf_counter()
            url = path if case is None else f"/api/v1/appeals/{case}{path}"
            status, data = conn.call("POST", url, token, body)
            end = time.perf_counter()
            out.append((action, end - start, end - (scheduled if pace else start), status))
            if status != expected:
                break
            case = json.loads(data)["id"] if action == "submit" else case


def _health(conn: Conn, until: float, out: list) -> None:
    while time.perf_counter() < until:
        start = time.perf_counter()
        status, _ = conn.call("GET", "/api/v1/health")
        out.append(("health", time.perf_counter() - start, time.perf_counter() - start, status))


def _proc(args) -> list:
    """One load process: ``conns`` threads, each with its own connection."""
    port, tokens, mode, first_slot, conns, duration, pace = args
    until, outs, threads = time.perf_counter() + duration, [], []
    for i in range(conns):
        out: list = []
        outs.append(out)
        target = (lambda c=Conn(port), o=out: _health(c, until, o)) if mode == "health" else (
            lambda c=Conn(port), o=out, s=first_slot + i: _cycles(c, tokens, s, until, pace, o))
        threads.append(threading.Thread(target=target))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [row for out in outs for row in out]


def drive(port: int, tokens: dict, mode: str, opts, rate: float = 0.0) -> dict:
    """One phase with ``procs`` × ``conns`` connections; figures per action and overall."""
    slots = opts.procs * opts.conns
    pace = slots / rate if rate else 0.0
    jobs = [(port, tokens, mode, p * opts.conns, opts.conns, opts.duration, pace) for p in range(opts.procs)]
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(opts.procs) as pool:
        rows = [r for part in pool.map(_proc, jobs) for r in part]
    return summarise(rows, time.perf_counter() - start, opts.duration)


def _stats(lat: np.ndarray) -> dict:
    if not len(lat):
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    p50, p95, p99 = np.percentile(lat * 1000, [50, 95, 99])
    return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1), "p99_ms": round(float(p99), 1)}


def summarise(rows: list, wall: float, duration: float) -> dict:
    """Per action and overall: count, errors (status codes), per second over the phase, latency percentiles."""
    ok_status = {"submit": 201}
    res, total_ok = {"per_action": {}}, 0
    for action in sorted({r[0] for r in rows}, key=lambda a: (ACTIONS + ("health",)).index(a)):
        mine = [r for r in rows if r[0] == action]
        ok = [r for r in mine if r[3] == ok_status.get(action, 200)]
        errors: dict = {}
        for r in mine:
            if r[3] != ok_status.get(action, 200):
                errors[str(r[3])] = errors.get(str(r[3]), 0) + 1
        res["per_action"][action] = {"n": len(ok), "per_s": round(len(ok) / duration, 1), "errors": errors,
                                     **_stats(np.array([r[1] for r in ok])),
                                     **{f"{k}_sched": v for k, v in _stats(np.array([r[2] for r in ok])).items()}}
        total_ok += len(ok)
    oks = [r for r in rows if r[3] == ok_status.get(r[0], 200)]
    res["overall"] = {"n": total_ok, "per_s": round(total_ok / duration, 1), "errors": len(rows) - total_ok,
                      **_stats(np.array([r[1] for r in oks])),
                      **{f"{k}_sched": v for k, v in _stats(np.array([r[2] for r in oks])).items()}}
    res["wall_s"] = round(wall, 1)
    return res


# ---------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, opts, log) -> subprocess.Popen:
    """``yingshang serve`` with production settings; returns once /api/v1/health answers 200."""
    args = [sys.executable, "-m", "yingshang", "serve", "--port", str(port), "--threads", str(opts.threads)]
    if opts.workers:
        args += ["--workers", str(opts.workers)]
    prod = {**env, "YINGSHANG_MODE": "production", "SECRET_KEY": secrets.token_urlsafe(48), "YINGSHANG_HTTPS": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    server = subprocess.Popen(args, env=prod, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        if server.poll() is not None:
            break
        try:
            if Conn(port).call("GET", "/api/v1/health")[0] == 200:
                return server
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    log.seek(0)
    raise SystemExit("生产服务未能启动:\n" + log.read().decode(errors="replace")[-3000:])


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM to the gunicorn master we started (its own session), then wait."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run_phases(env: dict, tokens: dict, opts, home: str) -> dict:
    port = free_port()
    with open(os.path.join(home, "server.log"), "w+b") as log:
        server = start_server(env, port, opts, log)
        try:
            warm = Conn(port)  # every worker answers a few requests before the clock starts
            for i in range(30):
                warm.call("GET", "/api/v1/health" if i % 2 else "/api/v1/appeals", tokens["enterprise"][i % 4])
            health = drive(port, tokens, "health", opts)
            closed = drive(port, tokens, "cycles", opts)
            paced = drive(port, tokens, "cycles", opts, rate=opts.rate)
        finally:
            stop_server(server)
    return {"health": health, "mixed_max": closed, "mixed_paced": paced}


# ---------------------------------------------------------------- the driver
def _database(opts, home: str) -> tuple[dict, dict]:
    """The scratch database's environment and what seeding it took (nothing when reused)."""
    if opts.reuse:
        return scratch_env(home, opts.reuse), {"reused": opts.reuse}
    env = scratch_env(home, None if opts.sqlite else opts.db)
    if not opts.sqlite:
        pg_admin([f'DROP DATABASE IF EXISTS "{opts.db}" WITH (FORCE)', f'CREATE DATABASE "{opts.db}"'])
    seeded = run_child(["yingshang.bench.appeals", "--inner", "--seed-only", "--cases", str(opts.cases), "--open",
                        str(opts.open)], env)
    return env, {"seed_s": seeded["seed_s"], "rows": seeded["rows"]}


def _within(phases: dict, rate: float) -> bool:
    """≥ 300 actions/s flat out, and the paced run kept its rate with p95 (from the scheduled start) ≤ 100 ms."""
    paced = phases["mixed_paced"]["overall"]
    return bool(phases["mixed_max"]["overall"]["per_s"] >= TARGET_RATE and paced["p95_ms_sched"] is not None
                and paced["p95_ms_sched"] <= TARGET_MS and paced["per_s"] >= 0.95 * rate)


def _say(r: dict) -> None:
    for phase in ("health", "mixed_max", "mixed_paced"):
        o = r[phase]["overall"]
        print(f"{phase:<12} {o['per_s']:8.1f} 次/秒  p50 {o['p50_ms']} ms  p95 {o['p95_ms']} ms  p99 {o['p99_ms']} ms"
              f"  错误 {o['errors']}")
        for action, a in r[phase]["per_action"].items():
            if action != "health":
                print(f"    {action:<9} {a['per_s']:7.1f}/s  p50 {a['p50_ms']}  p95 {a['p95_ms']}  p99 {a['p99_ms']} ms"
                      f"  (按计划起点 p95 {a['p95_ms_sched']})  错误 {a['errors']}")


def main(argv: list[str]) -> int:
    opts = _parse(argv)
    if opts.setup:
        return setup(opts.setup, max(opts.procs * opts.conns, 16))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ys-bench-load-") as home:
        try:
            env, seeded = _database(opts, home)
            path = os.path.join(home, "tokens.json")
            run_child(["yingshang.bench.appeals_load", "--setup", path, "--procs", str(opts.procs),
                       "--conns", str(opts.conns)], env)
            with open(path, encoding="utf-8") as fh:
                tokens = json.load(fh)
            phases = run_phases(env, tokens, opts, home)
        finally:
            if not (opts.keep or opts.reuse or opts.sqlite):
                pg_admin([f'DROP DATABASE IF EXISTS "{opts.db}" WITH (FORCE)'])
    result = {"bench": "appeals_load", "db": "sqlite" if opts.sqlite else "postgresql", "cpus": os.cpu_count(),
              "server": {"workers": opts.workers or (os.cpu_count() or 1) * 2 + 1, "threads": opts.threads},
              "generator": {"procs": opts.procs, "conns": opts.conns}, "duration_s": opts.duration,
              "rate_target": opts.rate, **seeded, **phases,
              "within_target": _within(phases, opts.rate),
              "loadavg": {"before": [round(x, 2) for x in load_before],
                          "after": [round(x, 2) for x in os.getloadavg()]}}
    _say(result)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
