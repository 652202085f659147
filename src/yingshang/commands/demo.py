"""``yingshang demo``: the embedded platform in one command (SQLite, seeded demo city, jobs in-process)."""
from __future__ import annotations

import os
import signal
import sys
import time
import unicodedata

from yingshang.cli import CommandError
from yingshang.commands import check_port

SIZES = ("small", "city", "province")


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="一键启动演示平台(内置 SQLite 数据库、演示数据、后台任务)",
                       description="创建/迁移内置数据库(./var/ 或 $YINGSHANG_HOME),数据库为空时生成演示城市,"
                                   "启动后台任务和网站,并打印访问地址与各角色演示账号。")
    p.add_argument("--port", type=int, default=8000, help="端口(默认 8000)")
    p.add_argument("--host", default="127.0.0.1", help="监听地址(默认 127.0.0.1)")
    p.add_argument("--size", choices=SIZES, default="city", help="首次启动时生成的数据规模(默认 city)")
    p.add_argument("--seed", type=int, default=1, help="演示数据的随机种子(默认 1)")
    p.set_defaults(func=run)


def prepare_environment() -> None:
    """Demo mode on the embedded database: a DATABASE_URL in the environment is ignored."""
    os.environ["YINGSHANG_MODE"] = "demo"
    for name in ("DATABASE_URL", "DATABASE_URL_FILE"):
        if os.environ.pop(name, None):
            print(f"提示: 演示模式使用内置 SQLite 数据库,已忽略环境变量 {name}", file=sys.stderr)


def seed_if_empty(size: str, seed: int, progress=None):
    """Seed the demo data when the enterprise register is empty; returns the SeedResult or None."""
    from yingshang.seeding.run import has_enterprises, seed as run_seed

    if has_enterprises():
        return None
    return run_seed(size, seed, progress=progress)


def accounts_table() -> list[tuple[str, str, str]]:
    """(username, role in Chinese, scope) of every active demo account, in the seed's order."""
    from yingshang.core.models import User
    from yingshang.seeding.org import DEMO_ACCOUNTS, PROVINCE_ACCOUNTS, scope_label

    order = {a.username: i for i, a in enumerate(DEMO_ACCOUNTS + PROVINCE_ACCOUNTS)}
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

    # Seeded applicants of the policy history are demo data that cannot log in: not listed.
    users = (User.objects.filter(is_demo=True, is_active=True).exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
             .select_related("department", "region", "enterprise"))
    users = sorted(users, key=lambda u: (order.get(u.username, len(order)), u.username))
    return [(u.username, u.get_role_display(), scope_label(u)) for u in users]


def _width(text: str) -> int:
    """Terminal columns of ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 1)


def print_banner(url: str, accounts: list[tuple[str, str, str]]) -> None:
    from yingshang.seeding.org import DEMO_PASSWORD

    print(f"\n营商通演示平台已启动: {url}\n")
    if accounts:
        rows = [("用户名", "角色", "范围")] + accounts
        widths = [max(_width(r[i]) for r in rows) + 2 for i in range(2)]
        for username, role, scope in rows:
            print(f"  {_pad(username, widths[0])}{_pad(role, widths[1])}{scope}")
        print(f"\n所有演示账号的密码: {DEMO_PASSWORD}(仅在演示模式下可用)")
    print("按 Ctrl-C 停止。\n", flush=True)


def run(args) -> int:
    check_port(args.port)
    prepare_environment()
    from yingshang.commands import migrate, setup_django

    started = time.perf_counter()
    setup_django()
    from django.conf import settings

    print(f"数据目录: {settings.HOME}", flush=True)
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
    migrate()
    result = seed_if_empty(args.size, args.seed, progress=lambda m: print(m, flush=True))
    if result is None:
        print("数据库中已有企业数据,跳过演示数据生成。", flush=True)
    return serve_demo(args.host, args.port, started)


def serve_demo(host: str, port: int, started: float) -> int:
    """Serve with waitress (8 threads) and the in-process job runner until Ctrl-C or SIGTERM."""
    from waitress import create_server

    from yingshang.jobs import start_inprocess_runner, stop_inprocess_runner
    from yingshang.wsgi import application

    try:
        server = create_server(application, host=host, port=port, threads=8, ident="yingshang")
    except OSError as exc:
        raise CommandError(f"无法监听 {host}:{port}({exc.strerror or exc});请用 --port 换一个端口") from None
    start_inprocess_runner()
    shown_host = f"[{host}]" if ":" in host else host
    print_banner(f"http://{shown_host}:{server.effective_port}/", accounts_table())
    print(f"(从启动到可访问用时 {time.perf_counter() - started:.1f} 秒)", flush=True)
    # SIGINT explicitly too: a process started in the background by a shell inherits SIGINT as
    # ignored, and Ctrl-C / kill -INT would then do nothing.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        stop_inprocess_runner()
        print("\n演示平台已停止。", flush=True)
    return 0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
