"""``yingshang workdays add START N`` and ``yingshang workdays between START END``.

stdout stays parseable: ``add`` prints the date alone, ``between`` the number alone; when the span
touches a year without an official notice, "(暂定)" is written to stderr.
"""
from __future__ import annotations

import sys

from yingshang.cli import CommandError
from yingshang.commands import setup_django


def add_parser(sub) -> None:
    p = sub.add_parser("workdays", help="工作日计算(次日起算,按国务院节假日安排)")
    wsub = p.add_subparsers(dest="action", metavar="操作", required=True)
    a = wsub.add_parser("add", help="START 之后第 N 个工作日")
    a.add_argument("start", help="起始日期 YYYY-MM-DD")
    a.add_argument("n", help="工作日数(可为负数,表示之前)")
    a.set_defaults(func=run_add)
    b = wsub.add_parser("between", help="(START, END] 之间的工作日数")
    b.add_argument("start", help="起始日期 YYYY-MM-DD(不计入)")
    b.add_argument("end", help="结束日期 YYYY-MM-DD(计入)")
    b.set_defaults(func=run_between)


def _parse(fn, *args):
    from yingshang.core.errors import DomainError

    try:
        return fn(*args)
    except DomainError as exc:
        raise CommandError(exc.message, code=2)


def _warn_provisional(provisional: bool) -> None:
    if provisional:
        print("(暂定)所涉年份尚无国务院节假日安排,暂按周一至周五推算", file=sys.stderr)


def run_add(args) -> int:
    setup_django()
    from yingshang.workcal.api import parse_day, parse_days
    from yingshang.workcal.calendar import get_calendar

    result = get_calendar().add(_parse(parse_day, args.start, "START"), _parse(parse_days, args.n))
    print(result.date.isoformat())
    _warn_provisional(result.provisional)
    return 0


def run_between(args) -> int:
    setup_django()
    from yingshang.workcal.api import parse_day
    from yingshang.workcal.calendar import get_calendar

    result = get_calendar().between(_parse(parse_day, args.start, "START"), _parse(parse_day, args.end, "END"))
    print(result.workdays)
    _warn_provisional(result.provisional)
    return 0
