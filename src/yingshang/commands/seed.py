"""``yingshang seed --size small|city|province --seed N``: deterministic synthetic data."""
from __future__ import annotations

import sys

from yingshang.cli import CommandError
from yingshang.commands import database_errors

SIZES = ("small", "city", "province")


def add_parser(sub) -> None:
    p = sub.add_parser("seed", help="生成确定性的演示数据(区划、单位、企业、演示账号)",
                       description="向空的企业库写入合成数据: small ≈ 2,000 家企业(测试),city ≈ 50,000(演示),"
                                   "province ≈ 1,000,000(性能测试)。相同的 --seed 生成完全相同的数据。")
    p.add_argument("--size", choices=SIZES, default="city", help="数据规模(默认 city)")
    p.add_argument("--seed", type=int, default=1, help="随机种子(默认 1)")
    p.add_argument("--no-migrate", action="store_true", help="不先执行数据库迁移")
    p.set_defaults(func=database_errors(run))


def run(args) -> int:
    from yingshang.commands import migrate, setup_django

    if args.seed < 0:
        raise CommandError("--seed 必须是非负整数", code=2)
    setup_django()
    from django.conf import settings

    if settings.MODE == "production":
        raise CommandError("生产模式下不能生成演示数据(会创建演示账号);请在演示或测试环境中运行", code=2)
    if not args.no_migrate:
        migrate()
    from yingshang.seeding.run import SeedRefused, seed

    try:
        result = seed(args.size, args.seed, progress=lambda m: print(m, file=sys.stderr, flush=True))
    except SeedRefused as exc:
        raise CommandError(str(exc)) from None
    print(f"已生成 {result.enterprises:,} 家企业、{result.certifications:,} 条资质、{len(result.users)} 个演示账号"
          f"(规模 {args.size},种子 {args.seed},用时 {result.seconds:.1f} 秒)")
    print("计算标签由后台任务 enterprises.recompute_computed_tags 生成(yingshang demo 或 worker 启动后运行)。")
    return 0
