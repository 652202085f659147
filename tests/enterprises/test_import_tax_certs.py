"""Import and export of the figures policy rules need: taxable income, taxpayer kind and certification
numbers and validity — new columns, the template's explanation sheet, round trips, backward compatibility."""
import datetime as dt
import io
from decimal import Decimal

import pytest

from tests.enterprises.conftest import fresh_uscc, xlsx_bytes
from yingshang.core.models import AuditLog
from yingshang.enterprises.exporter import COLUMNS, export_enterprises, write_template
from yingshang.enterprises.importer import import_file, report_rows
from yingshang.enterprises.models import Certification, Enterprise

HEADERS = ["统一社会信用代码", "企业名称", "所在区划代码", "行业代码", "营业收入(万元)", "应纳税所得额(万元)", "纳税人类型",
           "资质"]


def row(uscc=None, name="周口税务示例有限公司", revenue=3000, taxable=120.5, kind="一般纳税人",
        certs="高新技术企业:2024-01-01~2026-12-31:GR202441000123、科技型中小企业"):
    return [uscc or fresh_uscc(), name, "411602", "3311", revenue, taxable, kind, certs]


def run(actor, rows, headers=HEADERS, **kw):
    return import_file(actor, io.BytesIO(xlsx_bytes(rows, headers)), "register.xlsx", **kw)


@pytest.fixture
def actor(org):
    return org.users["dispatcher"]


def cert(uscc, kind):
    return Certification.objects.get(enterprise__uscc=uscc, kind=kind)


def test_new_columns_and_certification_details_are_imported(org, actor):
    data = row()
    _, outcome = run(actor, [data])
    assert outcome.written and outcome.counts["new"] == 1
    ent = Enterprise.objects.get(uscc=data[0])
    assert ent.taxable_income == Decimal("120.5") and ent.taxpayer_kind == "general"
    high_tech = cert(data[0], "high_tech")
    assert (high_tech.valid_from, high_tech.valid_to) == (dt.date(2024, 1, 1), dt.date(2026, 12, 31))
    assert high_tech.certificate_no == "GR202441000123"
    assert cert(data[0], "tech_sme").valid_to is None
    created = AuditLog.objects.get(action="create", object_id=str(ent.pk)).changes
    assert created["certifications"] == [None, ["high_tech:2024-01-01~2026-12-31:GR202441000123", "tech_sme"]]
    assert created["taxpayer_kind"] == [None, "general"]


def test_bad_new_values_are_reported_by_column(org, actor):
    rows = [row(), row(taxable=-3, kind="个体", certs="高新技术企业:2026-01-01~2025-01-01")]
    table, outcome = run(actor, rows)
    assert not outcome.written and Enterprise.objects.filter(name="周口税务示例有限公司").count() == 0
    reasons = {r["column"]: r["reason"] for r in report_rows(outcome, table)}
    assert set(reasons) == {"应纳税所得额(万元)", "纳税人类型", "资质"}
    assert "负数" in reasons["应纳税所得额(万元)"] and "小规模纳税人" in reasons["纳税人类型"]
    assert "晚于有效期止" in reasons["资质"]


def test_plain_certification_list_keeps_recorded_details(org, actor):
    data = row()
    run(actor, [data])
    again = list(data)
    again[7] = "高新技术企业、科技型中小企业"  # the old format: names only
    _, outcome = run(actor, [again])
    assert outcome.counts["unchanged"] == 1
    assert cert(data[0], "high_tech").certificate_no == "GR202441000123"


def test_new_validity_updates_the_record_and_is_audited(org, actor):
    data = row()
    run(actor, [data])
    renewed = list(data)
    renewed[7] = "高新技术企业:2027-01-01~2029-12-31:GR202741000999、科技型中小企业"
    _, outcome = run(actor, [renewed])
    assert outcome.counts["updated"] == 1
    high_tech = cert(data[0], "high_tech")
    assert (high_tech.valid_from, high_tech.certificate_no) == (dt.date(2027, 1, 1), "GR202741000999")
    ent = Enterprise.objects.get(uscc=data[0])
    change = AuditLog.objects.get(action="update", object_id=str(ent.pk)).changes["certifications"]
    assert change[1][0] == "high_tech:2027-01-01~2029-12-31:GR202741000999"


def test_a_range_in_a_cell_sets_both_dates(org, actor):
    data = row()
    run(actor, [data])
    open_ended = list(data)
    open_ended[7] = "高新技术企业:2025-01-01~"  # “~” with no end: valid without an end date
    assert run(actor, [open_ended])[1].counts["updated"] == 1
    high_tech = cert(data[0], "high_tech")
    assert (high_tech.valid_from, high_tech.valid_to, high_tech.certificate_no) == (dt.date(2025, 1, 1), None,
                                                                                      "GR202441000123")


def test_export_round_trip_with_new_columns_and_dates(org, actor, tmp_path):
    rows = [row(), row(name="乙公司", taxable=0, kind="小规模纳税人", certs="无"),
            row(name="丙公司", taxable=None, kind=None, certs="规模以上企业:2025-01-01~")]
    run(actor, rows)
    path = tmp_path / "export.xlsx"
    assert export_enterprises(Enterprise.objects.all(), path) == 4
    before = list(Certification.objects.order_by("pk").values_list("kind", "certificate_no", "valid_from", "valid_to"))
    _, outcome = import_file(actor, path)
    assert outcome.counts == {"new": 0, "updated": 0, "unchanged": 4, "invalid": 0}
    after = list(Certification.objects.order_by("pk").values_list("kind", "certificate_no", "valid_from", "valid_to"))
    assert after == before


def test_exported_cells_use_chinese_labels(org, actor, tmp_path):
    from openpyxl import load_workbook

    data = row()
    run(actor, [data])
    path = tmp_path / "export.xlsx"
    export_enterprises(Enterprise.objects.filter(uscc=data[0]), path)
    sheet = load_workbook(path).active
    values = dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]]))
    assert values["纳税人类型"] == "一般纳税人" and values["应纳税所得额(万元)"] == 120.5
    assert values["资质"] == "高新技术企业:2024-01-01~2026-12-31:GR202441000123、科技型中小企业"


def test_template_explains_the_new_columns_and_the_certification_syntax(tmp_path):
    from openpyxl import load_workbook

    assert {"taxable_income", "taxpayer_kind"} <= set(COLUMNS)
    path = tmp_path / "template.xlsx"
    write_template(path)
    book = load_workbook(path)
    notes = {r[0]: r[2] for r in book["填写说明"].iter_rows(min_row=2, values_only=True) if r and r[0]}
    assert "小型微利" in notes["应纳税所得额(万元)"] and "小规模纳税人" in notes["纳税人类型"]
    assert "有效期起~有效期止" in notes["资质"] and "保留已登记" in notes["资质"]
    header = [c.value for c in book["企业档案"][1]]
    assert "应纳税所得额(万元)" in header and "纳税人类型" in header


def test_steward_column_is_not_imported(org, actor):
    data = row()
    _, outcome = run(actor, [data + ["t_steward"]], HEADERS + ["steward"])
    assert outcome.written and Enterprise.objects.get(uscc=data[0]).steward_id is None
