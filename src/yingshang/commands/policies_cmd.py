"""``yingshang policies load FILE.json|--builtin [--draft] [--no-match]`` and ``yingshang policies seed``."""
from __future__ import annotations

import datetime as dt
import sys

from yingshang.cli import CommandError
from yingshang.commands import database_errors, migrate, setup_django


def add_parser(sub) -> None:
    p = sub.add_parser("policies", help="政策库:导入政策内容文件、生成政策演示数据")
    psub = p.add_subparsers(dest="action", metavar="操作", required=True)
    load = psub.add_parser("load", help="导入政策内容 JSON 文件(按事项编码新增或更新,可重复执行)",
                           description="文件格式见 yingshang/policies/content.py;按事项编码幂等导入,整份文件在一个事务中写入。")
    load.add_argument("file", nargs="?", help="政策内容文件(.json)")
    load.add_argument("--builtin", action="store_true", help="导入系统自带的国家政策和演示城市政策(national.json、local.json)")
    load.add_argument("--draft", action="store_true", help="新事项存为草稿,不直接发布")
    load.add_argument("--no-match", action="store_true", help="导入后不立即匹配企业")
    load.set_defaults(func=database_errors(run_load))
    seed = psub.add_parser("seed", help="向已生成演示数据的库写入政策、匹配结果和兑现/申报历史")
    seed.add_argument("--size", choices=("small", "city", "province"), default="city", help="演示数据规模(默认 city)")
    seed.add_argument("--seed", type=int, default=1, help="随机种子(默认 1)")
    seed.add_argument("--as-of", default="", help="历史记录截止日期 YYYY-MM-DD(默认今天)")
    seed.add_argument("--no-match", action="store_true", help="不运行政策匹配(不推送、不生成免申即享兑现记录)")
    seed.set_defaults(func=database_errors(run_seed))


def run_load(args) -> int:
    if bool(args.file) == bool(args.builtin):
        raise CommandError("请给出一个政策内容文件,或使用 --builtin 导入系统自带的政策(二者选一)", code=2)
    setup_django()
    migrate()
    from yingshang.core.errors import DomainError
    from yingshang.policies import content

    try:
        if args.builtin:
            result = content.load_all(publish=not args.draft, match=not args.no_match)
        else:
            result = content.load_content(args.file, publish=not args.draft, match=not args.no_match)
    except DomainError as exc:
        raise CommandError(exc.message, code=2) from None
    for warning in result.warnings:
        print(f"提示: {warning}", file=sys.stderr)
    print(f"已导入:{result.summary()}" + (f";已排队匹配 {len(result.queued)} 个事项" if result.queued else ""))
    return 0


def run_seed(args) -> int:
    if args.seed < 0:
        raise CommandError("--seed 必须是非负整数", code=2)
    as_of = _parse_day(args.as_of) if args.as_of else None
    setup_django()
    from django.conf import settings

    if settings.MODE == "production":
        raise CommandError("生产模式下不能生成演示数据;请在演示或测试环境中运行", code=2)
    migrate()
    from yingshang.core.errors import DomainError
    from yingshang.enterprises.models import Enterprise
    from yingshang.seeding.policies import seed_policies

    if not Enterprise.objects.exists():
        raise CommandError("企业库为空:请先运行 yingshang seed 生成演示企业")
    try:
        result = seed_policies(args.size, args.seed, as_of=as_of, match=not args.no_match,
                               progress=lambda m: print(m, file=sys.stderr, flush=True))
    except DomainError as exc:
        raise CommandError(exc.message, code=2) from None
    for note in result.notes:
        print(f"提示: {note}", file=sys.stderr)
    print(f"政策演示数据已生成:{result.loaded.summary()};兑现记录 {sum(result.redemptions.values())} 条,"
          f"申报记录 {sum(result.applications.values())} 条")
    return 0


def _parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of 的取值“{text}”不是 YYYY-MM-DD 格式的日期", code=2) from None
