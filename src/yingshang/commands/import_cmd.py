"""``yingshang import enterprises FILE.xlsx|FILE.csv [--dry-run] [--accept-valid] [--as USERNAME]``."""
from __future__ import annotations

import sys

from yingshang.cli import CommandError
from yingshang.commands import database_errors, file_errors, setup_django

ACTOR = "命令行"


def add_parser(sub) -> None:
    p = sub.add_parser("import", help="导入数据(企业档案 XLSX/CSV)")
    what = p.add_subparsers(dest="import_what", metavar="对象")
    ent = what.add_parser("enterprises", help="按统一社会信用代码新增或更新企业档案")
    ent.add_argument("file", help=".xlsx 或 .csv 文件(表头见导入模板)")
    ent.add_argument("--dry-run", action="store_true", help="只校验并预览,不写入")
    ent.add_argument("--accept-valid", action="store_true", help="有错误行时仍导入其余有效行")
    ent.add_argument("--as", dest="as_user", metavar="USERNAME",
                     help="以该用户身份导入(按其管辖范围校验区划);默认以「命令行」身份,不限范围")
    ent.add_argument("--quiet", action="store_true", help="不显示进度条")
    ent.set_defaults(func=database_errors(run))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _progress_bar(enabled: bool):
    """A tqdm bar on stderr, one per phase (校验 → 比对 → 写入)."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(phase: str, done: int, total: int) -> None:
        bar = bars.get(phase)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[phase] = tqdm(total=total, desc=phase, unit="行", file=sys.stderr, leave=True)
        bar.total = max(total, done)
        bar.update(done - bar.n)

    return update, lambda: [b.close() for b in bars.values()]


def run(args) -> int:
    setup_django()
    from yingshang.core.errors import DomainError
    from yingshang.enterprises.importer import import_file, report_rows

    actor = _actor(args.as_user)
    update, close = _progress_bar(not args.quiet)
    try:
        table, outcome = import_file(actor, args.file, dry_run=args.dry_run, accept_valid=args.accept_valid,
                                     progress=update)
    except FileNotFoundError:
        raise CommandError(f"文件不存在: {args.file}") from None
    except OSError as exc:  # a directory, no permission, …
        raise file_errors(args.file, exc) from None
    except DomainError as exc:
        raise CommandError(exc.message) from None
    finally:
        close()
    _print_report(table, outcome, report_rows(outcome, table, limit=10**9), args)
    return 1 if outcome.problems and not outcome.written else 0


def _actor(username: str | None):
    if not username:
        return ACTOR
    from yingshang.core.models import User

    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"用户“{username}”不存在或已停用")
    return user


def _print_report(table, outcome, rows, args) -> None:
    for row in rows:
        print(f"第{row['row']}行\t{row['column']}\t{row['reason']}")
    c = outcome.counts
    summary = f"共 {outcome.total} 行: 新增 {c['new']},更新 {c['updated']},未变 {c['unchanged']},无效 {c['invalid']}"
    if table.ignored:
        print("已忽略无法识别的列: " + "、".join(table.ignored), file=sys.stderr)
    if args.dry_run:
        print(f"{summary}(预览,未写入)")
    elif outcome.written:
        print(f"{summary}(已导入{',已跳过无效行' if outcome.problems else ''})")
    else:
        print(f"{summary}(有错误行,未写入任何数据;可修正后重新导入,或加 --accept-valid 只导入有效行)")
