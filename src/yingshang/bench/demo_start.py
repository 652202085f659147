"""``yingshang demo`` from an empty database to a login page answering 200.

``yingshang bench demo_start [--size city] [--timeout 180]``: starts ``yingshang demo`` in a
subprocess on a free port with a fresh ``YINGSHANG_HOME``, polls ``/`` (following the redirect to the
login page) until it answers 200, then stops the process with Ctrl-C (SIGINT) and checks it exits
cleanly. Baseline in the same run: a second start on the now-seeded database (no seeding). Limit from
the issue: 60 s from an empty database. The last line printed is JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

LIMIT_S = 60.0
# The login page comes first; the others only prove the server is up while the UI is being built.
PROBES = ("/", "/admin/login/", "/api/v1/health")


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="yingshang bench demo_start", description="yingshang demo 冷启动耗时")
    p.add_argument("--size", choices=("small", "city", "province"), default="city")
    p.add_argument("--timeout", type=float, default=180.0, help="等待服务可用的最长秒数")
    return p.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # follows / → login redirect
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start_and_wait(home: str, size: str, timeout: float) -> dict:
    """Start ``yingshang demo``, time until a probe answers 200, stop it; returns the figures."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_URL_FILE", "YINGSHANG_MODE")}
    env["YINGSHANG_HOME"] = home
    log = open(os.path.join(home, "demo.log"), "w")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "yingshang", "demo", "--port", str(port), "--size", size],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    answered, elapsed = None, None
    try:
        while time.perf_counter() - start < timeout and proc.poll() is None:
            answered = next((p for p in PROBES if _answers(f"http://127.0.0.1:{port}{p}")), None)
            if answered:
                elapsed = time.perf_counter() - start
                break
            time.sleep(0.2)
    finally:
        stop_start = time.perf_counter()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        stop_s = time.perf_counter() - stop_start
        log.close()
    if elapsed is None:
        with open(os.path.join(home, "demo.log")) as fh:
            raise SystemExit(f"yingshang demo 在 {timeout:.0f} 秒内没有响应(退出码 {proc.returncode}):\n{fh.read()[-2000:]}")
    return {"seconds": round(elapsed, 2), "answered": answered, "stop_s": round(stop_s, 2), "exit_code": code}


def main(argv: list[str]) -> int:
    opts = _parse(argv)
    with tempfile.TemporaryDirectory(prefix="ys-bench-demo-") as home:
        cold = start_and_wait(home, opts.size, opts.timeout)
        print(f"空库启动: {cold['seconds']} 秒({cold['answered']} 返回 200),停止 {cold['stop_s']} 秒,"
              f"退出码 {cold['exit_code']}", flush=True)
        warm = start_and_wait(home, opts.size, opts.timeout)
        print(f"基线(已有数据再次启动): {warm['seconds']} 秒", flush=True)
    result = {"bench": "demo_start", "size": opts.size, "cpus": os.cpu_count(), "cold_start_s": cold["seconds"],
              "answered": cold["answered"], "warm_start_s": warm["seconds"], "stop_s": cold["stop_s"],
              "clean_exit": cold["exit_code"] == 0 and warm["exit_code"] == 0, "limit_s": LIMIT_S,
              "within_limit": cold["seconds"] <= LIMIT_S}
    print(json.dumps(result, ensure_ascii=False))
    return 0
