"""Every ``yingshang`` sub-command, given bad arguments, prints a Chinese message on stderr, exits
non-zero and shows no traceback; and nothing is written."""
import io
import os
import subprocess
import sys

import pytest
from django.db import OperationalError

from tests.enterprises.conftest import csv_bytes
from yingshang.cli import CommandError, main
from yingshang.commands import database_errors
from yingshang.core.models import ApiToken, AuditLog, User
from yingshang.enterprises.models import Enterprise
from yingshang.enterprises.uscc import make_uscc

pytestmark = pytest.mark.django_db


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture
def fails(capsys):
    """``fails(argv, expected_text, code=1)``: runs the command in-process and checks the failure."""
    def run(argv, expected, code=1):
        assert main(argv) == code
        out = capsys.readouterr()
        assert expected in out.err, out.err
        assert chinese(out.err) and "Traceback" not in out.err + out.out
        return out
    return run


@pytest.fixture
def no_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Zhoukou-2025!\n"))


# ---------------------------------------------------------------- users
@pytest.mark.parametrize("argv, expected", [
    (["users", "token", "nobody"], "不存在"),
    (["users", "revoke", "nobody", "--all"], "不存在"),
    (["users", "deactivate", "nobody"], "不存在"),
    (["users", "token", "t_admin", "--days", "0"], "正整数"),
    (["users", "list", "--role", "emperor"], "未知角色"),
    (["users", "revoke", "t_admin", "--prefix", "ys_nope"], "没有前缀"),
])
def test_users_commands_refuse_unknown_users_and_values(org, fails, argv, expected):
    tokens, audit = ApiToken.objects.count(), AuditLog.objects.count()
    fails(argv, expected)
    assert (ApiToken.objects.count(), AuditLog.objects.count()) == (tokens, audit)


def test_users_add_with_an_unknown_role(org, fails, no_stdin):
    fails(["users", "add", "zhao", "--role", "emperor", "--password-stdin"], "未知角色")
    assert not User.objects.filter(username="zhao").exists()


# ---------------------------------------------------------------- import / export
@pytest.mark.parametrize("name, content, expected", [
    ("register.txt", b"hello", "不支持"),
    ("register.xlsx", b"PK\x03\x04garbage", "无法读取"),
    ("register.csv", b"\xff\xfe\x00\x00", "不是 CSV"),
])
def test_import_refuses_files_of_the_wrong_type(org, fails, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    fails(["import", "enterprises", str(path), "--quiet"], expected)
    assert Enterprise.objects.count() == 1


def test_import_missing_file_and_directory(org, fails, tmp_path):
    fails(["import", "enterprises", str(tmp_path / "missing.xlsx"), "--quiet"], "不存在")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    fails(["import", "enterprises", str(folder), "--quiet"], "是目录")  # was an IsADirectoryError traceback


def test_import_as_unknown_user(org, fails, tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes([], ["统一社会信用代码", "企业名称", "所在区划代码", "行业代码"]))
    fails(["import", "enterprises", str(path), "--as", "nobody", "--quiet"], "不存在")


def test_import_rows_with_control_characters_are_reported_and_not_written(org, capsys, tmp_path):
    # Control characters were stored as-is; the validator now refuses them per row.
    rows = [[make_uscc("9", "1", "411602", "MA9Y0001"), "周口\x07响铃有限公司", "411602", "6513"],
            [make_uscc("9", "1", "411602", "MA9Y0002"), "周口\x1b控制符有限公司", "411602", "6513"]]
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes(rows, ["统一社会信用代码", "企业名称", "所在区划代码", "行业代码"]))
    assert main(["import", "enterprises", str(path), "--quiet"]) == 1
    out = capsys.readouterr()
    assert out.out.count("控制字符") == 2 and "Traceback" not in out.err
    assert Enterprise.objects.count() == 1


def test_import_file_with_nul_bytes_is_rejected_whole(org, fails, tmp_path):
    rows = [[make_uscc("9", "1", "411602", "MA9Y0003"), "周口\x00空字符有限公司", "411602", "6513"]]
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes(rows, ["统一社会信用代码", "企业名称", "所在区划代码", "行业代码"]))
    fails(["import", "enterprises", str(path), "--quiet"], "不是 CSV")
    assert Enterprise.objects.count() == 1


@pytest.mark.parametrize("argv, expected", [
    (["export", "enterprises", "out.csv"], ".xlsx"),
    (["export", "enterprises", "/nonexistent-dir/out.xlsx"], "不存在"),
    (["export", "enterprises", "/nonexistent-dir/out.xlsx", "--template"], "不存在"),
    (["export", "enterprises", "{tmp}/out.xlsx", "--region", "999999"], "不存在"),
])
def test_export_refuses_bad_targets_and_regions(org, fails, tmp_path, argv, expected):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = fails(argv, expected)
    assert "Exception ignored" not in out.err


def test_export_to_a_directory(org, fails, tmp_path):
    folder = tmp_path / "d.xlsx"
    folder.mkdir()
    fails(["export", "enterprises", str(folder)], "目录")


# ---------------------------------------------------------------- working days and calendar
@pytest.mark.parametrize("argv, expected", [
    (["workdays", "add", "2025-02-30", "3"], "不是有效日期"),
    (["workdays", "add", "0000-01-01", "3"], "不是有效日期"),
    (["workdays", "add", "2025-01-01", "x"], "应为整数"),
    (["workdays", "add", "2025-01-01", "٣"], "应为整数"),      # int() accepted Arabic-Indic digits
    (["workdays", "add", "2025-01-01", "9" * 5000], "绝对值"),
    (["workdays", "between", "2025-01-01", "9999-12-31"], "超出支持范围"),
    (["calendar", "show", "99999"], "1900–2200"),
])
def test_workday_commands_refuse_bad_dates_and_numbers(db, fails, argv, expected):
    fails(argv, expected, code=2)


def test_calendar_import_missing_file(db, fails, tmp_path):
    fails(["calendar", "import", str(tmp_path / "missing.json")], "找不到文件")


@pytest.mark.parametrize("command", ["demo", "serve"])
@pytest.mark.parametrize("port", ["0", "65536", "99999999"])
def test_port_out_of_range_is_refused_before_anything_starts(fails, command, port):
    # 99999999 used to wrap around silently to port 57599.
    fails([command, "--port", port], "1–65535", code=2)


# ---------------------------------------------------------------- the database itself
def test_database_errors_become_a_chinese_command_error():
    def broken(args):
        raise OperationalError("no such table: core_user")

    with pytest.raises(CommandError) as info:
        database_errors(broken)(None)
    assert "migrate" in str(info.value) and chinese(str(info.value))


def test_commands_on_an_uninitialised_database_explain_instead_of_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_URL_FILE")}
    env.update(YINGSHANG_MODE="demo", YINGSHANG_HOME=str(tmp_path))
    for argv in (["users", "list"], ["users", "token", "admin"], ["export", "enterprises", str(tmp_path / "o.xlsx")]):
        proc = subprocess.run([sys.executable, "-m", "yingshang", *argv], env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr and "yingshang manage migrate" in proc.stderr
