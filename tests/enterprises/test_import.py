"""File import: per-row report, all-or-nothing, accept-valid, dry run, idempotency, file checks, round trip."""
import io

import pytest
from django.test import override_settings

from tests.enterprises.conftest import BASIC_HEADERS, basic_row, csv_bytes, fresh_uscc, xlsx_bytes
from yingshang.core.models import AuditLog
from yingshang.enterprises.exporter import export_enterprises, write_template
from yingshang.enterprises.importer import FileRejected, import_file, report_rows
from yingshang.enterprises.models import Certification, Enterprise, EnterpriseTag


def run(actor, data: bytes, name="register.xlsx", **kw):
    return import_file(actor, io.BytesIO(data), name, **kw)


def state():
    return (Enterprise.objects.count(), Certification.objects.count(), EnterpriseTag.objects.count(),
            AuditLog.objects.count())


@pytest.fixture
def actor(org):
    return org.users["dispatcher"]


def test_import_creates_and_reports_counts(org, actor):
    rows = [basic_row(), basic_row(name="乙公司", industry="6513", 资质="")]
    table, outcome = run(actor, xlsx_bytes(rows, BASIC_HEADERS))
    assert outcome.written and outcome.counts == {"new": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    first = Enterprise.objects.get(uscc=rows[0][0])
    assert first.size == "small" and first.employees == 120  # 工业 X=120 小, Y=5000 中 → 小
    assert first.figure_sources["employees"] == {"source": "统计局年报", "as_of": "2024-12-31"}
    assert set(first.tag_links.values_list("tag__code", flat=True)) == {"high_tech", "rd_intensive", "small_micro",
                                                                       "tax_a"}
    assert AuditLog.objects.filter(action="create", object_id=str(first.pk)).count() == 1
    assert AuditLog.objects.filter(action="import").count() == 1


def test_reimport_same_file_changes_nothing(org, actor):
    data = xlsx_bytes([basic_row(), basic_row(name="乙公司")], BASIC_HEADERS)
    run(actor, data)
    before = state()
    _, outcome = run(actor, data)
    assert outcome.counts == {"new": 0, "updated": 0, "unchanged": 2, "invalid": 0}
    assert state()[:3] == before[:3]
    assert AuditLog.objects.exclude(action="import").count() == before[3] - 1  # only the import summary row


def test_update_by_uscc_writes_only_changed_rows(org, actor):
    a, b = basic_row(), basic_row(name="乙公司")
    run(actor, xlsx_bytes([a, b], BASIC_HEADERS))
    b2 = list(b)
    b2[5] = 400  # employees: 工业 X=400 中, Y=5000 中 → 中型
    _, outcome = run(actor, xlsx_bytes([a, b2], BASIC_HEADERS))
    assert outcome.counts == {"new": 0, "updated": 1, "unchanged": 1, "invalid": 0}
    ent = Enterprise.objects.get(uscc=b[0])
    assert ent.size == "medium" and "small_micro" not in set(ent.tag_links.values_list("tag__code", flat=True))
    update = AuditLog.objects.get(action="update", object_id=str(ent.pk))
    assert update.changes == {"employees": [120, 400], "size": ["small", "medium"]}


BAD_ROWS = [
    (dict(uscc="91110000600037341X"), "统一社会信用代码", "第18位"),
    (dict(region="419999"), "所在区划代码", "不存在"),
    (dict(industry="99"), "行业代码", "不在"),
    (dict(**{"从业人员(人)": -5}), "从业人员(人)", "负数"),
    (dict(**{"营业收入(万元)": 5e9}), "营业收入(万元)", "合理上限"),
    (dict(**{"成立日期": "2999-01-01"}), "成立日期", "将来"),
    (dict(**{"数据日期": "2999-01-01"}), "数据日期", "将来"),
    (dict(**{"研发费用(万元)": 6000}), "研发费用(万元)", "大于营业收入"),
    (dict(name=""), "企业名称", "必填"),
]


@pytest.mark.parametrize("bad,column,words", BAD_ROWS)
def test_bad_row_is_reported_and_nothing_written(org, actor, bad, column, words):
    rows = [basic_row(), basic_row(name="乙公司"), basic_row(**bad)]
    before = state()
    table, outcome = run(actor, xlsx_bytes(rows, BASIC_HEADERS))
    assert not outcome.written and state() == before
    report = report_rows(outcome, table)
    assert [(r["row"], r["column"]) for r in report] == [(4, column)]  # header is row 1
    assert words in report[0]["reason"]
    assert outcome.counts["new"] == 2 and outcome.counts["invalid"] == 1


def test_duplicate_uscc_in_file_is_an_error_on_the_later_row(org, actor):
    code = fresh_uscc()
    rows = [basic_row(code), basic_row(), basic_row(code, name="重复")]
    table, outcome = run(actor, xlsx_bytes(rows, BASIC_HEADERS))
    report = report_rows(outcome, table)
    assert report == [{"row": 4, "column": "统一社会信用代码", "reason": "与第2行的统一社会信用代码重复"}]
    assert not outcome.written and not Enterprise.objects.filter(uscc=code).exists()


def test_accept_valid_imports_the_rest(org, actor):
    rows = [basic_row(), basic_row(region="419999"), basic_row(name="丙公司")]
    _, outcome = run(actor, xlsx_bytes(rows, BASIC_HEADERS), accept_valid=True)
    assert outcome.written and outcome.counts == {"new": 2, "updated": 0, "unchanged": 0, "invalid": 1}
    assert Enterprise.objects.filter(uscc__in=[rows[0][0], rows[2][0]]).count() == 2
    assert not Enterprise.objects.filter(uscc=rows[1][0]).exists()


def test_dry_run_writes_nothing(org, actor):
    before = state()
    existing = basic_row(org.enterprise.uscc, name=org.enterprise.name)
    _, outcome = run(actor, xlsx_bytes([basic_row(), existing], BASIC_HEADERS), dry_run=True)
    assert outcome.counts == {"new": 1, "updated": 1, "unchanged": 0, "invalid": 0}
    assert not outcome.written and state() == before


def test_county_writer_cannot_touch_other_counties(org):
    rows = [basic_row(region="411602"), basic_row(org.enterprise.uscc, region="411621")]
    table, outcome = run(org.county_dispatcher, xlsx_bytes(rows, BASIC_HEADERS))
    reasons = {r["row"]: r["reason"] for r in report_rows(outcome, table)}
    assert "管辖范围" in reasons[2] and "管辖范围" in reasons[3]
    assert not outcome.written


def test_csv_utf8_bom_and_gb18030(org, actor):
    for encoding in ("utf-8-sig", "utf-8", "gb18030"):
        row = basic_row(name="中文名称测试有限公司")
        _, outcome = run(actor, csv_bytes([row], BASIC_HEADERS, encoding), name="r.csv")
        assert outcome.written, encoding
        assert Enterprise.objects.get(uscc=row[0]).name == "中文名称测试有限公司"


@pytest.mark.parametrize("name,data,words", [
    ("register.xls", b"\xd0\xcf\x11\xe0" + b"0" * 100, ".xls"),
    ("register.pdf", b"%PDF-1.4", "不支持"),
    ("register.xlsx", b"uscc,name\n", "不是有效的 Excel"),
    ("register.csv", b"PK\x03\x04" + b"0" * 100, "不是 CSV"),
    ("register.csv", b"", "空"),
])
def test_wrong_file_type(org, actor, name, data, words):
    with pytest.raises(FileRejected) as info:
        run(actor, data, name=name)
    assert words in info.value.message


@override_settings(YINGSHANG_MAX_IMPORT_BYTES=1000)
def test_oversized_file(org, actor):
    data = xlsx_bytes([basic_row()], BASIC_HEADERS)
    before = state()
    with pytest.raises(FileRejected) as info:
        run(actor, data)
    assert "超过上限" in info.value.message and "1000" not in info.value.message  # sizes in KB/MB
    assert state() == before


def test_missing_required_columns(org, actor):
    with pytest.raises(FileRejected) as info:
        run(actor, xlsx_bytes([["x", "y"]], ["统一社会信用代码", "企业名称"]))
    assert "所在区划代码" in info.value.message and "行业代码" in info.value.message


def test_uscc_stored_as_excel_number(org, actor):
    rows = [[914403001922038216, "数字代码公司", "411602", "3311"]]
    table, outcome = run(actor, xlsx_bytes(rows, BASIC_HEADERS[:4]))
    assert "文本" in report_rows(outcome, table)[0]["reason"]


def test_export_then_import_round_trip(org, actor, tmp_path):
    rows = [basic_row(), basic_row(name="乙公司", industry="6513", 资质="科技型中小企业、专精特新中小企业"),
            basic_row(name="丙公司", **{"营业收入(万元)": 1234.5678, "研发费用(万元)": 0.0001, "成立日期": ""})]
    run(actor, xlsx_bytes(rows, BASIC_HEADERS))
    path = tmp_path / "export.xlsx"
    assert export_enterprises(Enterprise.objects.all(), path, include_personal=True) == 4
    before = state()
    _, outcome = import_file(actor, path)
    assert outcome.counts == {"new": 0, "updated": 0, "unchanged": 4, "invalid": 0}
    assert state()[:3] == before[:3]


def test_template_imports_its_example_row(org, actor, tmp_path):
    path = tmp_path / "template.xlsx"
    write_template(path)
    _, outcome = import_file(actor, path, dry_run=True)
    assert outcome.problems == [] and outcome.counts["new"] == 1


def test_cli_import_exit_status_and_report(org, tmp_path, capsys):
    from yingshang.cli import main

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx_bytes([basic_row(), basic_row(region="419999")], BASIC_HEADERS))
    assert main(["import", "enterprises", str(bad), "--as", "t_dispatcher"]) == 1
    out = capsys.readouterr()
    assert "第3行\t所在区划代码" in out.out and "未写入" in out.out
    assert main(["import", "enterprises", str(bad), "--accept-valid"]) == 0
    assert Enterprise.objects.count() == 2
    assert main(["import", "enterprises", str(tmp_path / "none.xlsx")]) == 1


def test_cli_export(org, tmp_path, capsys):
    from yingshang.cli import main

    path = tmp_path / "out.xlsx"
    assert main(["export", "enterprises", str(path), "--region", "411621"]) == 0
    assert "0 家" in capsys.readouterr().out
    assert main(["export", "enterprises", str(path), "--region", "411602"]) == 0
    assert "1 家" in capsys.readouterr().out


@pytest.mark.parametrize("calamine", [True, False])
def test_both_xlsx_readers_agree(org, actor, monkeypatch, calamine):
    from yingshang.enterprises import importer

    if calamine and not importer.USE_CALAMINE:
        pytest.skip("python-calamine not installed")
    monkeypatch.setattr(importer, "USE_CALAMINE", calamine)
    import datetime as dt

    rows = [basic_row(**{"成立日期": dt.datetime(2019, 4, 5)}), [None] * len(BASIC_HEADERS),
            basic_row(region="419999"), basic_row(**{"从业人员(人)": 7.0})]
    table, outcome = run(actor, xlsx_bytes(rows, BASIC_HEADERS), accept_valid=True)
    assert [(r["row"], r["column"]) for r in report_rows(outcome, table)] == [(4, "所在区划代码")]
    assert Enterprise.objects.get(uscc=rows[0][0]).established_on == dt.date(2019, 4, 5)
    assert Enterprise.objects.get(uscc=rows[3][0]).employees == 7


def _edit_after_planning(monkeypatch, edits):
    """Run ``edits`` between the import's planning and its write, like a web edit during a long import."""
    from yingshang.enterprises import importer

    real = importer.plan_import

    def plan_then_edit(*args, **kwargs):
        plans = real(*args, **kwargs)
        edits()
        return plans

    monkeypatch.setattr(importer, "plan_import", plan_then_edit)


def test_edit_during_import_survives_and_audit_diffs_against_it(org, actor, monkeypatch):
    from yingshang.enterprises.actions import do_update_enterprise

    a, b = basic_row(), basic_row(name="乙公司")
    run(actor, xlsx_bytes([a, b], BASIC_HEADERS))
    ent_a, ent_b = Enterprise.objects.get(uscc=a[0]), Enterprise.objects.get(uscc=b[0])
    a2, b2 = list(a), list(b)
    a2[1] = "甲公司(更名)"  # the file renames A ...
    b2[5] = 400  # ... and changes B's employees (工业 400 人 → 中型)
    _edit_after_planning(monkeypatch, lambda: (
        do_update_enterprise(org.users["admin"], ent_a, {"employees": 130}),
        do_update_enterprise(org.users["admin"], ent_b, {"name": "乙公司(网页修改)"})))
    _, outcome = run(actor, xlsx_bytes([a2, b2], BASIC_HEADERS))
    assert outcome.written and outcome.counts["updated"] == 2
    ent_a.refresh_from_db(), ent_b.refresh_from_db()
    assert (ent_a.name, ent_a.employees) == ("甲公司(更名)", 130)  # the web edit of employees survives
    assert (ent_b.name, ent_b.employees, ent_b.size) == ("乙公司(网页修改)", 400, "medium")
    imported = AuditLog.objects.filter(action="update", reason="文件导入")
    assert imported.get(object_id=str(ent_a.pk)).changes == {"name": ["周口示例制造有限公司", "甲公司(更名)"]}
    assert imported.get(object_id=str(ent_b.pk)).changes == {"employees": [120, 400], "size": ["small", "medium"]}


def test_edit_making_the_same_change_leaves_row_unchanged(org, actor, monkeypatch):
    from yingshang.enterprises.actions import do_update_enterprise

    a = basic_row()
    run(actor, xlsx_bytes([a], BASIC_HEADERS))
    ent = Enterprise.objects.get(uscc=a[0])
    a2 = list(a)
    a2[5] = 130
    _edit_after_planning(monkeypatch, lambda: do_update_enterprise(org.users["admin"], ent, {"employees": 130}))
    _, outcome = run(actor, xlsx_bytes([a2], BASIC_HEADERS))
    assert outcome.counts == {"new": 0, "updated": 0, "unchanged": 1, "invalid": 0}
    assert not AuditLog.objects.filter(action="update", reason="文件导入").exists()
