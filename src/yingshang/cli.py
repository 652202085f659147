"""The ``yingshang`` command. Each sub-command lives in ``yingshang.commands.<module>`` and exposes
``add_parser(subparsers)``, which registers its parser and sets ``func``."""
from __future__ import annotations

import importlib
import sys

# sub-command → module under yingshang.commands
COMMANDS = {
    "demo": "demo",
    "serve": "serve",
    "worker": "worker",
    "manage": "manage",
    "seed": "seed",
    "users": "users",
    "import": "import_cmd",
    "export": "export_cmd",
    "workdays": "workdays",
    "calendar": "calendar_cmd",
    "bench": "bench",
    "policies": "policies_cmd",
}


def build_parser():
    from yingshang.commands import ChineseArgumentParser

    parser = ChineseArgumentParser(prog="yingshang", description="营商通 — 营商环境优化工作平台")
    sub = parser.add_subparsers(dest="command", metavar="命令")
    for module in COMMANDS.values():
        importlib.import_module(f"yingshang.commands.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "manage":  # pass everything through to Django untouched
        from yingshang.commands.manage import run_manage

        return run_manage(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except CommandError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return exc.code


class CommandError(Exception):
    """A user-facing failure of a command: printed in Chinese, exit status ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code
