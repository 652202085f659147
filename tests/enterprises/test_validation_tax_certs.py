"""The shared validator on the fields policy rules need: taxable income, taxpayer kind, certification
details (number and validity) and the steward — Chinese headers and labels, precise Chinese reasons."""
import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import UserFactory
from yingshang.core.models import Role
from yingshang.enterprises.validation import HEADERS, Context, field_name, validate_enterprise

TODAY = dt.date(2025, 6, 30)


@pytest.fixture
def ctx(org):
    c = Context.load(org.users["dispatcher"], all_regions=True)
    c.today = TODAY
    return c


def check(ctx, **raw):
    return validate_enterprise(raw, ctx)


def certs(result):
    return {p.kind: p.changes for p in result.clean["certifications"]}


def test_new_columns_have_chinese_headers_and_loose_spellings():
    assert HEADERS["taxable_income"] == "应纳税所得额(万元)" and HEADERS["taxpayer_kind"] == "纳税人类型"
    for header in ("应纳税所得额(万元)", "应纳税所得额(万元)", "应纳税所得额"):
        assert field_name(header) == "taxable_income"
    assert field_name("纳税人类型") == "taxpayer_kind"


def test_taxable_income_and_taxpayer_kind_from_chinese_headers(ctx):
    r = validate_enterprise({"应纳税所得额(万元)": "1,234.5", "纳税人类型": "小规模纳税人"}, ctx)
    assert r.errors == {}
    assert r.clean["taxable_income"] == Decimal("1234.5") and r.clean["taxpayer_kind"] == "small_scale"


@pytest.mark.parametrize("value,code", [("一般纳税人", "general"), ("general", "general"), ("一般", "general"),
                                        ("small_scale", "small_scale"), ("小规模", "small_scale")])
def test_taxpayer_kind_accepts_labels_codes_and_short_forms(ctx, value, code):
    assert check(ctx, taxpayer_kind=value).clean["taxpayer_kind"] == code


def test_taxpayer_kind_rejects_other_values_naming_the_choices(ctx):
    reason = check(ctx, taxpayer_kind="个体户").errors["taxpayer_kind"]
    assert "个体户" in reason and "一般纳税人" in reason and "小规模纳税人" in reason


@pytest.mark.parametrize("value,words", [("-5", "不能为负数"), ("12.34567", "小数位数"), ("abc", "不是数字"),
                                         (5e9, "合理上限"), (True, "应为数字")])
def test_taxable_income_reasons(ctx, value, words):
    assert words in check(ctx, taxable_income=value).errors["taxable_income"]


def test_negative_taxable_income_tells_loss_makers_to_enter_zero(ctx):
    assert "亏损" in check(ctx, taxable_income=-1).errors["taxable_income"]
    assert check(ctx, taxable_income=0).clean["taxable_income"] == Decimal("0.0000")


def test_null_clears_the_new_fields(ctx):
    r = validate_enterprise({"taxable_income": None, "taxpayer_kind": ""}, ctx, null_clears=True)
    assert r.errors == {} and r.clean == {"taxable_income": None, "taxpayer_kind": ""}


def test_row_source_applies_to_the_new_figures(ctx):
    r = check(ctx, taxable_income="80", taxpayer_kind="一般纳税人", source="税务", as_of="2024-12-31")
    assert r.clean["figure_sources"] == {"taxable_income": {"source": "税务", "as_of": "2024-12-31"},
                                         "taxpayer_kind": {"source": "税务", "as_of": "2024-12-31"}}


# ------------------------------------------------------------------ certifications with details
def test_certification_cell_with_validity_and_number(ctx):
    r = check(ctx, certifications="高新技术企业:2024-01-01~2026-12-31:GR202441000123、科技型中小企业")
    assert r.errors == {}
    assert certs(r) == {"high_tech": {"valid_from": dt.date(2024, 1, 1), "valid_to": dt.date(2026, 12, 31),
                                      "certificate_no": "GR202441000123"},
                        "tech_sme": {}}


def test_certification_cell_variants(ctx):
    r = check(ctx, certifications="high_tech : 2024/01/01 ~ ; tech_sme:~2025年12月31日;innovative_sme:CX-001")
    assert r.errors == {}
    assert certs(r) == {"high_tech": {"valid_from": dt.date(2024, 1, 1), "valid_to": None},
                        "tech_sme": {"valid_from": None, "valid_to": dt.date(2025, 12, 31)},
                        "innovative_sme": {"certificate_no": "CX-001"}}


def test_certification_objects_from_the_api_keep_what_is_not_sent(ctx):
    r = check(ctx, certifications=[{"kind": "高新技术企业", "valid_to": "2027-10-31"}, "tech_sme"])
    assert r.errors == {}
    assert certs(r) == {"high_tech": {"valid_to": dt.date(2027, 10, 31)}, "tech_sme": {}}


@pytest.mark.parametrize("value,words", [
    ("高新技术企业:2026-12-31~2024-01-01", "有效期起 2026-12-31 晚于有效期止 2024-01-01"),
    ("高新技术企业:2024-13-01~2026-12-31", "不是有效日期"),
    ("高新技术企业、高新技术企业:~2026-12-31", "重复"),
    ("高新企业:2024-01-01~2026-12-31", "不是有效的资质"),
    ("高新技术企业:1900-01-01~2026-12-31", "不合理"),
    ("高新技术企业:GR1:GR2", "两个证书编号"),
    ("高新技术企业:GR#1", "不允许的字符"),
    ([{"kind": "high_tech", "colour": "red"}], "colour"),
    ([{"valid_to": "2026-12-31"}], "kind 必填"),
])
def test_certification_reasons(ctx, value, words):
    assert words in check(ctx, certifications=value).errors["certifications"]


def test_plain_list_still_works(ctx):
    assert certs(check(ctx, certifications="高新技术企业 科技型中小企业")) == {"high_tech": {}, "tech_sme": {}}
    assert check(ctx, certifications="无").clean["certifications"] == []


# ------------------------------------------------------------------ steward
def test_steward_by_username_or_id(org, ctx):
    steward = UserFactory(username="guan_jia", role=Role.STEWARD)
    assert check(ctx, steward="guan_jia").clean["steward"] == steward
    assert check(ctx, steward=steward.pk).clean["steward"] == steward


def test_steward_must_exist_and_have_the_role(org, ctx):
    assert "不存在" in check(ctx, steward="nobody").errors["steward"]
    assert "不是在岗的服务管家" in check(ctx, steward=org.users["handler"].username).errors["steward"]
    assert "用户名或用户编号" in check(ctx, steward=1.5).errors["steward"]
