"""A job enqueued through ``jobs.enqueue`` runs in a real ``yingshang worker`` subprocess (Celery with
the local Redis as broker). Skipped when no Redis answers on 127.0.0.1:6379."""
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/15"  # a database of its own, away from anything else on this Redis
WORKER = ("import sys, tests.jobs.probe; from yingshang.cli import main; "
          "sys.exit(main(['worker', '--concurrency', '1', '--pool', 'solo', '--no-beat', '--loglevel', 'WARNING']))")
ENQUEUE = ("import sys, tests.jobs.probe; from yingshang.commands import setup_django; setup_django(); "
           "from yingshang import jobs; jobs.enqueue('tests.write_file', sys.argv[1], sys.argv[2])")


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.mark.skipif(not redis_available(), reason="本机没有可用的 Redis(127.0.0.1:6379)")
def test_job_enqueued_through_jobs_enqueue_runs_in_a_worker_subprocess(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "YINGSHANG_JOBS"}}
    env.update(CELERY_BROKER_URL=BROKER, YINGSHANG_MODE="demo", YINGSHANG_HOME=str(tmp_path),
               PYTHONPATH=str(ROOT))
    out, text = tmp_path / "evidence.txt", f"由后台任务写入 {uuid.uuid4()}"
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        subprocess.run([sys.executable, "-c", ENQUEUE, str(out), text], cwd=ROOT, env=env, check=True, timeout=60)
        deadline = time.monotonic() + 60
        while not out.exists() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
    finally:
        worker.terminate()
        try:
            log = worker.communicate(timeout=20)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            worker.kill()
            log = worker.communicate()[0].decode(errors="replace")
    assert out.exists(), log
    assert out.read_text(encoding="utf-8") == text
