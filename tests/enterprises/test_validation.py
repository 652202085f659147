"""The shared validator: clean values and precise Chinese reasons for each bad input of issue 2."""
import datetime as dt
from decimal import Decimal

import pytest

from yingshang.enterprises.validation import Context, validate_enterprise

TODAY = dt.date(2025, 6, 30)


@pytest.fixture
def ctx(org):
    c = Context.load(org.users["dispatcher"], all_regions=True)
    c.today = TODAY
    return c


def check(ctx, **raw):
    return validate_enterprise(raw, ctx)


def test_clean_values_from_api_names(ctx):
    r = check(ctx, uscc="91110000600037341L", name=" 示例 ", region_code="411602", industry_code="3311",
              established_on="2020-01-02", employees="12", operating_revenue=1200.5, total_assets="800",
              rd_expense="12.3456", tax_credit_rating="a", certifications=["high_tech"])
    assert r.errors == {}
    assert r.clean["name"] == "示例" and r.clean["employees"] == 12
    assert r.clean["operating_revenue"] == Decimal("1200.5") and r.clean["rd_expense"] == Decimal("12.3456")
    assert r.clean["established_on"] == dt.date(2020, 1, 2) and r.clean["tax_credit_rating"] == "A"


def test_chinese_headers_and_file_formats(ctx):
    r = validate_enterprise({"统一社会信用代码": "91110000600037341L", "所在区划代码": 411602.0, "行业代码": "C",
                             "成立日期": dt.datetime(2019, 3, 4), "从业人员(人)": 7.0, "资质": "高新技术企业、科技型中小企业",
                             "数据来源": "统计局", "数据日期": "2024/12/31", "营业收入(万元)": "1,200"}, ctx)
    assert r.errors == {}
    assert r.clean["region_code"] == "411602" and r.clean["employees"] == 7
    assert [p.kind for p in r.clean["certifications"]] == ["high_tech", "tech_sme"]
    assert r.clean["figure_sources"] == {"employees": {"source": "统计局", "as_of": "2024-12-31"},
                                         "operating_revenue": {"source": "统计局", "as_of": "2024-12-31"}}


@pytest.mark.parametrize("raw,field,words", [
    ({"uscc": "91110000600037341X"}, "uscc", ["第18位", "校验码"]),
    ({"uscc": "9111000060003734"}, "uscc", ["18位"]),
    ({"region_code": "419999"}, "region_code", ["419999", "不存在"]),
    ({"region_code": "41A602"}, "region_code", ["格式不正确"]),
    ({"industry_code": "99"}, "industry_code", ["99", "不在"]),
    ({"industry_code": "X1"}, "industry_code", ["格式不正确"]),
    ({"employees": "-3"}, "employees", ["负数"]),
    ({"employees": "2.5"}, "employees", ["整数"]),
    ({"employees": "3000000"}, "employees", ["合理上限"]),
    ({"operating_revenue": "-1"}, "operating_revenue", ["负数"]),
    ({"total_assets": "2000000000"}, "total_assets", ["合理上限", "万元"]),
    ({"registered_capital": "1.23456"}, "registered_capital", ["4位"]),
    ({"operating_revenue": "abc"}, "operating_revenue", ["不是数字"]),
    ({"established_on": "2025-07-01"}, "established_on", ["将来"]),
    ({"established_on": "1949-09-30"}, "established_on", ["1949-10-01"]),
    ({"established_on": "2020-13-01"}, "established_on", ["不是有效日期"]),
    ({"数据日期": "2030-01-01"}, "as_of", ["将来"]),
    ({"tax_credit_rating": "E"}, "tax_credit_rating", ["A、B、M、C、D"]),
    ({"certifications": "绿色工厂"}, "certifications", ["绿色工厂", "不是有效的资质"]),
    ({"tags": "不存在的标签"}, "tags", ["不存在"]),
    ({"tags": "初创企业"}, "tags", ["自动计算"]),
    ({"contact_phone": "12345"}, "contact_phone", ["格式不正确"]),
    ({"operating_revenue": "100", "rd_expense": "101"}, "rd_expense", ["大于营业收入"]),
    ({"legal_form": "无限公司"}, "legal_form", ["组织形式"]),
    ({"frobnicate": "1"}, "frobnicate", ["不是可识别的字段"]),
])
def test_bad_input_gets_a_precise_reason(ctx, raw, field, words):
    r = validate_enterprise(raw, ctx)
    assert field in r.errors, r.errors
    for word in words:
        assert word in r.errors[field], r.errors[field]


def test_boundaries_accepted(ctx):
    r = check(ctx, established_on="1949-10-01", employees="2000000", total_assets="1000000000",
              operating_revenue="100", rd_expense="100", contact_phone="13912345678")
    assert r.errors == {}
    assert check(ctx, established_on=TODAY.isoformat()).errors == {}
    for phone in ("0394-8888888", "03948888888", "010-62345678-123", "400-123-4567"):
        assert check(ctx, contact_phone=phone).errors == {}, phone
    for phone in ("12912345678", "1391234567", "139123456789"):
        assert "contact_phone" in check(ctx, contact_phone=phone).errors, phone


def test_region_out_of_scope(org):
    ctx = Context.load(org.county_dispatcher, all_regions=True)
    r = validate_enterprise({"region_code": "411602"}, ctx)
    assert "不在您的管辖范围内" in r.errors["region_code"]
    assert validate_enterprise({"region_code": "411621"}, ctx).errors == {}


def test_rd_checked_against_existing_revenue(ctx):
    r = validate_enterprise({"rd_expense": "60"}, ctx, existing={"operating_revenue": Decimal("50")})
    assert "大于营业收入" in r.errors["rd_expense"]


def test_blank_means_not_given_and_null_clears_for_json(ctx):
    assert check(ctx, employees="", name="  ").clean == {}
    r = validate_enterprise({"employees": None, "name": None}, ctx, null_clears=True)
    assert r.clean == {"employees": None} and r.errors == {"name": "不能为空"}


def test_figure_sources_object(ctx):
    ok = check(ctx, figure_sources={"employees": {"source": "社保", "as_of": "2025-01-31"}})
    assert ok.clean["figure_sources"] == {"employees": {"source": "社保", "as_of": "2025-01-31"}}
    bad = check(ctx, figure_sources={"employees": {"source": "社保", "as_of": "2026-01-31"}})
    assert "将来" in bad.errors["figure_sources"]
    assert "带来源" in check(ctx, figure_sources={"name": {"source": "x"}}).errors["figure_sources"]
