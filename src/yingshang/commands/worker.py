"""``yingshang worker`` — the production background worker: a Celery worker (with the beat scheduler
for periodic jobs unless ``--no-beat``) consuming jobs from the broker in CELERY_BROKER_URL.

Run the beat in exactly one worker process; more workers may run with ``--no-beat``. Periodic jobs are
written to be safe even if two beats run (they claim rows), so a mistake costs work, not correctness.
"""
from __future__ import annotations

import argparse

from yingshang.cli import CommandError
from yingshang.commands import setup_django


def add_parser(sub) -> None:
    p = sub.add_parser("worker", help="启动后台任务进程(Celery,生产环境)")
    p.add_argument("--concurrency", type=int, default=2, help="并发执行的任务数(默认 2)")
    p.add_argument("--beat", action=argparse.BooleanOptionalAction, default=True,
                   help="同时运行定时任务调度(多个 worker 时只在一个上开启)")
    p.add_argument("--pool", choices=["prefork", "threads", "solo"], default="prefork",
                   help="执行池(Windows 上请用 threads 或 solo)")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(func=run)


def celery_argv(args, schedule_file: str) -> list[str]:
    """The ``celery worker`` arguments this command stands for."""
    argv = ["worker", f"--concurrency={args.concurrency}", f"--pool={args.pool}", f"--loglevel={args.loglevel}",
            "--without-gossip", "--without-mingle"]
    if args.beat:
        argv += ["--beat", f"--schedule={schedule_file}"]
    return argv


def run(args) -> int:
    setup_django()
    from django.conf import settings

    if args.concurrency < 1:
        raise CommandError("--concurrency 必须是正整数")
    if settings.YINGSHANG_JOBS != "celery" or not settings.CELERY_BROKER_URL:
        raise CommandError("未配置 CELERY_BROKER_URL(如 redis://127.0.0.1:6379/0)。"
                           "嵌入式部署无需 worker:后台任务随 yingshang demo 在进程内运行")
    from yingshang.celery import app

    settings.HOME.mkdir(parents=True, exist_ok=True)
    app.worker_main(argv=celery_argv(args, str(settings.HOME / "celerybeat-schedule")))
    return 0
