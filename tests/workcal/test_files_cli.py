"""Notice files (JSON/CSV) and the ``yingshang workdays`` / ``yingshang calendar`` commands."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import yingshang.workcal
from yingshang.cli import main
from yingshang.core.errors import ValidationFailed
from yingshang.workcal.models import CalendarDay, HolidayNotice
from yingshang.workcal.notice_file import parse_notice_file
from tests.workcal.conftest import example_2027_holidays, example_2027_workdays

EXAMPLES = Path(yingshang.workcal.__file__).parent / "examples"
D = dt.date.fromisoformat


@pytest.mark.parametrize("name", ["notice-2027-EXAMPLE.json", "notice-2027-EXAMPLE.csv"])
def test_shipped_examples_parse_to_the_same_notice(name):
    n = parse_notice_file(name, (EXAMPLES / name).read_bytes())
    assert n.year == 2027 and n.holidays == example_2027_holidays() and n.workdays == example_2027_workdays()


def test_example_is_labelled_as_not_official():
    obj = json.loads((EXAMPLES / "notice-2027-EXAMPLE.json").read_text())
    assert "示例" in obj["title"] and "非官方" in obj["title"]


@pytest.mark.parametrize("name,content,text", [
    ("a.json", '{"year": 2027, "title": "t", "holidays": [{"name": "元旦", "start": "2027-13-01", "end": "2027-01-03"}]}',
     "holidays[0].start"),
    ("a.json", '{"year": 2027, "title": "t", "holidays": [{"start": "2027-01-01", "end": "2027-01-03"}]}',
     "holidays[0].name"),
    ("a.json", '{"year": "二〇二七", "title": "t"}', "应为整数"),
    ("a.json", '{"year": 2027,\n "title": }', "第 2 行"),
    ("a.csv", "date,type,name\n2027-01-01,休,元旦\n2027-01-02,放,元旦\n", "第 3 行 type 列"),
    ("a.csv", "date,type,name\n2027-01-01,休,元旦\n2027-02-30,班,春节调休\n", "第 3 行 date 列"),
    ("a.csv", "日期,类型\n2027-01-01,休\n", "表头"),
    ("a.xlsx", "x", "不支持的文件类型"),
])
def test_file_errors_name_the_line_or_field(name, content, text):
    with pytest.raises(ValidationFailed) as exc:
        parse_notice_file(name, content.encode())
    assert text in exc.value.message


@pytest.mark.django_db
def test_cli_add_and_between(capsys):
    assert main(["workdays", "add", "2025-09-26", "15"]) == 0
    out, err = capsys.readouterr()
    assert out.split()[0] == "2025-10-23" and err == ""
    assert main(["workdays", "between", "2025-09-26", "2025-10-23"]) == 0
    assert capsys.readouterr().out.strip() == "15"
    assert main(["workdays", "add", "2026-12-30", "5"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "2027-01-06" and "暂定" in err


@pytest.mark.django_db
def test_cli_rejects_bad_input(capsys):
    assert main(["workdays", "add", "2025-02-30", "3"]) == 2
    assert "START" in capsys.readouterr().err
    assert main(["workdays", "add", "2025-02-03", "three"]) == 2
    assert "应为整数" in capsys.readouterr().err


@pytest.mark.django_db
def test_cli_import_and_show(capsys, tmp_path):
    assert main(["calendar", "import", str(EXAMPLES / "notice-2027-EXAMPLE.json")]) == 0
    assert "已录入 2027 年" in capsys.readouterr().out
    assert CalendarDay.objects.filter(year=2027).count() == 365
    assert HolidayNotice.objects.get(year=2027).source_file == "notice-2027-EXAMPLE.json"
    assert main(["calendar", "import", str(EXAMPLES / "notice-2027-EXAMPLE.csv")]) == 2
    assert "替换" in capsys.readouterr().err
    assert main(["calendar", "import", str(EXAMPLES / "notice-2027-EXAMPLE.csv"), "--replace",
                 "--doc-no", "示例-CSV"]) == 0
    assert HolidayNotice.objects.get(year=2027).document_number == "示例-CSV"
    capsys.readouterr()
    assert main(["calendar", "show", "2027"]) == 0
    out = capsys.readouterr().out
    assert "2027-10-09\t调休上班" in out and "暂定" not in out
    assert main(["workdays", "add", "2026-12-30", "5"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "2027-01-07" and err == ""


def test_a_long_bad_date_is_echoed_cut_short():
    from yingshang.core.errors import ValidationFailed
    from yingshang.workcal.notice_file import parse_date

    with pytest.raises(ValidationFailed) as err:
        parse_date("9" * 5000, "holidays[0].start")
    assert "holidays[0].start" in err.value.message and len(err.value.message) < 120
