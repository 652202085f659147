"""``yingshang manage …``: any Django management command."""
from __future__ import annotations

import os


def add_parser(sub) -> None:
    p = sub.add_parser("manage", help="运行任意 Django 管理命令,如 migrate、createsuperuser")
    p.add_argument("rest", nargs="*")
    p.set_defaults(func=lambda a: run_manage(a.rest))


def run_manage(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yingshang.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["yingshang manage", *argv])
    return 0
