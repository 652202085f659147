"""Argument errors in Chinese: ``ChineseArgumentParser`` translates every error argparse raises for the
real commands' options (wired in by ``cli.build_parser``)."""
import importlib

import pytest

from yingshang.cli import COMMANDS
from yingshang.commands import ChineseArgumentParser, translate_argparse_error


def chinese_parser():
    parser = ChineseArgumentParser(prog="yingshang")
    sub = parser.add_subparsers(dest="command", metavar="命令")
    for module in COMMANDS.values():
        importlib.import_module(f"yingshang.commands.{module}").add_parser(sub)
    return parser


@pytest.mark.parametrize("argv, expected", [
    (["nosuchcmd"], "取值“nosuchcmd”无效"),
    (["users", "add"], "缺少必需的参数: username, --role"),
    (["users", "token", "admin", "--days", "abc"], "参数 --days 的取值“abc”应为整数"),
    (["users", "revoke", "admin"], "必须给出以下参数之一: --all --prefix"),
    (["users", "revoke", "admin", "--all", "--prefix", "ys_"], "不能与"),
    (["seed", "--size", "huge"], "参数 --size 的取值“huge”无效,可选"),
    (["seed", "--seed", "abc"], "应为整数"),
    (["demo", "--port", "abc"], "参数 --port 的取值“abc”应为整数"),
    (["serve", "--server", "apache"], "取值“apache”无效"),
    (["worker", "--pool", "x"], "取值“x”无效"),
    (["workdays", "between"], "缺少必需的参数: start, end"),
    (["workdays", "add", "2025-01-01"], "缺少必需的参数: n"),
    (["calendar", "show", "abc"], "应为整数"),
    (["calendar"], "缺少必需的参数"),
    (["import", "enterprises"], "缺少必需的参数: file"),
    (["export", "enterprises", "a.xlsx", "--region"], "参数 --region 需要一个值"),
    (["workdays", "add", "2025-01-01", "3", "extra"], "无法识别的参数: extra"),
])
def test_every_argument_error_of_the_real_commands_is_chinese(capsys, argv, expected):
    with pytest.raises(SystemExit) as info:
        chinese_parser().parse_args(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and "命令行参数有误" not in err, err


def test_unknown_messages_are_kept_with_a_chinese_prefix():
    assert translate_argparse_error("something new") == "命令行参数有误: something new"
