"""``yingshang calendar import FILE [--replace]`` and ``yingshang calendar show YEAR``."""
from __future__ import annotations

from pathlib import Path

from yingshang.cli import CommandError
from yingshang.commands import database_errors, migrate, setup_django


def add_parser(sub) -> None:
    p = sub.add_parser("calendar", help="工作日历:录入国务院节假日安排、查看某年日历")
    csub = p.add_subparsers(dest="action", metavar="操作", required=True)
    i = csub.add_parser("import", help="从 JSON 或 CSV 文件录入一年的节假日安排通知")
    i.add_argument("file", help="通知文件(.json 或 .csv,格式见 workcal/examples/)")
    i.add_argument("--replace", action="store_true", help="该年份已有正式安排时替换它")
    i.add_argument("--title", default="", help="通知标题(CSV 文件用)")
    i.add_argument("--doc-no", default="", help="文号,如 国办发明电〔2025〕7号(CSV 文件用)")
    i.add_argument("--published-on", default="", help="发布日期 YYYY-MM-DD(CSV 文件用)")
    i.set_defaults(func=database_errors(run_import))
    s = csub.add_parser("show", help="列出某年的节假日和调休上班日")
    s.add_argument("year", type=int, help="年份")
    s.set_defaults(func=database_errors(run_show))


def run_import(args) -> int:
    setup_django()
    migrate()
    from yingshang.core.errors import DomainError
    from yingshang.workcal.actions import do_enter_notice
    from yingshang.workcal.notice_file import parse_date, parse_notice_file

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"找不到文件 {path}")
    try:
        published = parse_date(args.published_on, "--published-on") if args.published_on else None
        n = parse_notice_file(path.name, path.read_bytes(), title=args.title, document_number=args.doc_no,
                              published_on=published)
        do_enter_notice("命令行导入", n.year, n.title, n.document_number, n.published_on, n.holidays, n.workdays,
                        replace=args.replace, source_file=path.name)
    except DomainError as exc:
        raise CommandError(exc.message, code=2)
    print(f"已录入 {n.year} 年节假日安排: {len(n.holidays)} 段放假、{len(n.workdays)} 个调休上班日")
    return 0


def run_show(args) -> int:
    setup_django()
    from yingshang.workcal.calendar import get_calendar
    from yingshang.workcal.engine import ADJUSTED_WORKDAY, HOLIDAY

    if not 1900 <= args.year <= 2200:
        raise CommandError("年份应在 1900–2200 之间", code=2)
    cal = get_calendar()
    days = cal.year_days(args.year)
    if cal.is_provisional_year(args.year):
        print(f"{args.year} 年尚无国务院节假日安排,暂按周一至周五推算(暂定)")
    for d in days:
        if d.kind in (HOLIDAY, ADJUSTED_WORKDAY):
            print(f"{d.date.isoformat()}\t{d.kind_label}\t{d.name}")
    print(f"全年工作日 {sum(d.is_workday for d in days)} 天")
    return 0
