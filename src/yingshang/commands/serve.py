"""``yingshang serve``: the production web server (gunicorn on POSIX, waitress elsewhere).

Refuses to start when the configuration is insecure, migrations are pending or demo accounts still
have a usable password. Background jobs run in ``yingshang worker``, not here.
"""
from __future__ import annotations

import os
import sys

from yingshang.cli import CommandError
from yingshang.commands import check_port


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="以生产模式启动网站(gunicorn/waitress)",
                       description="生产模式网站服务。配置不安全、有未执行的数据库迁移或仍有可登录的演示账号时拒绝启动。")
    p.add_argument("--host", default="127.0.0.1", help="监听地址(默认 127.0.0.1;放在反向代理之后)")
    p.add_argument("--port", type=int, default=8000, help="端口(默认 8000)")
    p.add_argument("--workers", type=int, default=None, help="工作进程数(默认 CPU 核数×2+1)")
    p.add_argument("--threads", type=int, default=4, help="每个进程的线程数(默认 4)")
    p.add_argument("--server", choices=("auto", "gunicorn", "waitress"), default="auto",
                   help="使用的 WSGI 服务器(默认: POSIX 上 gunicorn,其余 waitress)")
    p.set_defaults(func=run)


def demo_accounts_with_password() -> list[str]:
    """Usernames of active demo accounts that can still log in with a password."""
    from yingshang.core.models import User

    users = User.objects.filter(is_demo=True, is_active=True).only("username", "password")
    return sorted(u.username for u in users if u.has_usable_password())


def pending_migrations() -> list[str]:
    """Migrations not yet applied to the database ("app.name")."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def system_check_errors() -> list[str]:
    """Django system-check errors (deployment checks included); warnings are printed, not fatal."""
    from django.core import checks

    messages = checks.run_checks(include_deployment_checks=True)
    for message in messages:
        if message.level < checks.ERROR:
            print(f"警告: {message}", file=sys.stderr)
    return [str(m) for m in messages if m.level >= checks.ERROR]


def production_problems() -> list[str]:
    """Every reason to refuse starting in production, in Chinese (empty = safe to start)."""
    problems = []
    try:
        pending = pending_migrations()
    except Exception as exc:  # the database is unreachable or misconfigured
        return [f"无法连接数据库: {exc}"]
    if pending:
        problems.append(f"数据库有 {len(pending)} 个未执行的迁移(如 {pending[0]}),请先运行 yingshang manage migrate")
    demo = demo_accounts_with_password()
    if demo:
        problems.append(f"仍有 {len(demo)} 个可登录的演示账号({'、'.join(demo[:5])}{'…' if len(demo) > 5 else ''});"
                        "演示密码不能用于生产环境,请停用这些账号或删除其密码"
                        "(yingshang manage shell -c \"from yingshang.core.models import User; "
                        "[u.set_unusable_password() or u.save() for u in User.objects.filter(is_demo=True)]\")")
    problems += [f"系统检查错误: {e}" for e in system_check_errors()]
    return problems


def setup_production() -> None:
    """Configure Django in production mode (unless YINGSHANG_MODE says otherwise); insecure settings
    raise at import time and are reported as a CommandError."""
    os.environ.setdefault("YINGSHANG_MODE", "production")
    from yingshang.commands import setup_django

    from django.core.exceptions import ImproperlyConfigured

    try:
        setup_django()
    except (RuntimeError, ImproperlyConfigured) as exc:
        raise CommandError(f"配置不安全,拒绝启动: {exc}", code=2) from None


def run(args) -> int:
    check_port(args.port)
    setup_production()
    from django.conf import settings

    if settings.DEMO_MODE:
        print(f"警告: 当前为 {settings.MODE} 模式,不是生产模式", file=sys.stderr)
    problems = production_problems()
    if problems:
        raise CommandError("拒绝启动生产服务:\n  - " + "\n  - ".join(problems), code=2)
    from django.db import connections

    connections.close_all()  # no connection may cross the fork into gunicorn's workers
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
    workers = args.workers or (os.cpu_count() or 1) * 2 + 1
    use_gunicorn = args.server == "gunicorn" or (args.server == "auto" and os.name == "posix")
    print(f"营商通生产服务: http://{args.host}:{args.port}/ ({'gunicorn' if use_gunicorn else 'waitress'},"
          f" {workers if use_gunicorn else 1} 个进程 × {args.threads} 个线程)", flush=True)
    if use_gunicorn:
        return _gunicorn(args.host, args.port, workers, args.threads)
    return _waitress(args.host, args.port, args.threads * workers)


def _gunicorn(host: str, port: int, workers: int, threads: int) -> int:
    from gunicorn.app.base import BaseApplication

    from yingshang.wsgi import application

    class Server(BaseApplication):
        def load_config(self):
            options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                       "worker_class": "gthread" if threads > 1 else "sync", "accesslog": "-",
                       "timeout": 60, "graceful_timeout": 30, "preload_app": True}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return application

    Server().run()
    return 0


def _waitress(host: str, port: int, threads: int) -> int:
    from waitress import serve

    from yingshang.wsgi import application

    try:
        serve(application, host=host, port=port, threads=max(threads, 4), ident="yingshang")
    except KeyboardInterrupt:
        pass
    return 0
