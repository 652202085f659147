"""``yingshang bench NAME [args…]``: run the benchmark module ``yingshang.bench.NAME``."""
from __future__ import annotations

import importlib
import pkgutil

from yingshang.cli import CommandError


def _names() -> list[str]:
    import yingshang.bench as pkg

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="运行性能基准测试: " + "、".join(_names()))
    p.add_argument("name", help="基准名称")
    p.add_argument("rest", nargs="...", help="传给该基准的参数")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.name not in _names():
        raise CommandError(f"没有名为“{args.name}”的基准,可选: {'、'.join(_names())}", code=2)
    return int(importlib.import_module(f"yingshang.bench.{args.name}").main(args.rest) or 0)
