"""Placeholder — replaced by the module's owner during the foundation work."""
from yingshang.cli import CommandError


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="(开发中)")

    def run(args):
        raise CommandError("export 命令开发中")

    p.set_defaults(func=run)
