"""``yingshang policies load`` and ``yingshang policies seed``: Chinese messages and exit statuses."""
from __future__ import annotations

import pytest

from yingshang.cli import CommandError
from yingshang.commands import ChineseArgumentParser, policies_cmd
from yingshang.core.models import Role, User
from yingshang.policies.models import PolicyItem

pytest.importorskip("yingshang.policies.engine.amounts", reason="规则引擎(engine-lang)尚未提供 amounts.py")


def run(*argv):
    parser = ChineseArgumentParser(prog="yingshang")
    policies_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.fixture
def city(db):
    from yingshang.seeding import org

    org.seed_regions("city")
    org.seed_departments()
    User.objects.create(username="cli-admin", role=Role.ADMIN, is_superuser=True)


def test_load_builtin_twice_reports_new_then_unchanged(city, capsys):
    assert run("policies", "load", "--builtin", "--no-match") == 0
    first = capsys.readouterr().out
    assert run("policies", "load", "--builtin", "--no-match") == 0
    second = capsys.readouterr().out
    total = PolicyItem.objects.count()
    assert f"政策事项 新增 {total}" in first and f"未变 {total}" in second


def test_load_one_file_as_drafts(city, capsys):
    assert run("policies", "load", "--no-match", "--draft", str(policies_cmd_file("local.json"))) == 0
    assert set(PolicyItem.objects.values_list("status", flat=True)) == {"draft"}


def policies_cmd_file(name):
    from yingshang.policies.content import DATA_DIR

    return DATA_DIR / name


def test_load_needs_exactly_one_source(city):
    with pytest.raises(CommandError, match="二者选一") as exc:
        run("policies", "load")
    assert exc.value.code == 2


def test_load_of_a_missing_file_says_so(city):
    with pytest.raises(CommandError, match="找不到政策内容文件") as exc:
        run("policies", "load", "/nonexistent/policies.json")
    assert exc.value.code == 2


def test_seed_refuses_an_empty_register_and_a_bad_date(city):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("policies", "seed", "--as-of", "2026-02-30")
    with pytest.raises(CommandError, match="企业库为空"):
        run("policies", "seed")
