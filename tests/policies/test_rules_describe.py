"""Rules as Chinese sentences for non-programmers, and the form builder's field catalogue."""
from __future__ import annotations

import datetime as dt

import pytest

from yingshang.policies.engine.rules import FIELDS, KIND_OPS, RuleError, describe, field_catalog

DAY = dt.date(2026, 5, 1)


def cond(field, op, value):
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize("rule,sentence", [
    (cond("size", "in", ["micro", "small"]), "企业规模为小型或微型"),
    (cond("size", "==", "micro"), "企业规模为微型"),
    (cond("size", "not_in", ["large", "medium"]), "企业规模不为大型或中型"),
    (cond("rd_ratio", ">=", 0.03), "研发费用占营业收入比例不低于 3%"),
    (cond("rd_ratio", ">", 0.035), "研发费用占营业收入比例高于 3.5%"),
    (cond("age_years", "<=", 5), "成立年限不超过 5 年"),
    (cond("employees", "<", 300), "从业人员低于 300 人"),
    (cond("taxable_income", "<=", 300), "应纳税所得额不超过 300 万元"),
    (cond("operating_revenue", "between", [100, 2000.5]), "营业收入在 100 万元至 2000.5 万元之间(含)"),
    (cond("established_on", ">=", "2021-01-01"), "成立日期不早于 2021-01-01"),
    (cond("established_on", "<", "2021-01-01"), "成立日期早于 2021-01-01"),
    (cond("region", "in", ["411602"]), "所在区划属于 411602(含下级)"),
    (cond("region", "not_in", ["411602", "411603"]), "所在区划不属于 411602、411603(含下级)"),
    (cond("industry", "in", ["C", "65"]), "所属行业属于 制造业(C)、65(含下级)"),
    (cond("certification", "has", "high_tech"), "持有有效的高新技术企业资质"),
    (cond("certification", "in", ["tech_sme", "high_tech"]), "持有有效的高新技术企业或科技型中小企业资质"),
    (cond("certification", "not_has", "little_giant"), "未持有有效的专精特新“小巨人”企业资质"),
    (cond("serious_dishonest", "==", False), "未列入严重失信主体名单"),
    (cond("abnormal_operation", "==", True), "已列入经营异常名录"),
    (cond("tag", "has", "gazelle"), "具有“gazelle”标签"),
    (cond("tax_credit_rating", "in", ["A", "B"]), "纳税信用等级为 A 或 B"),
    (cond("taxpayer_kind", "==", "small_scale"), "纳税人类型为小规模纳税人"),
    (cond("legal_form", "!=", "individual"), "组织形式不为个体工商户"),
])
def test_condition_sentences(rule, sentence):
    assert describe(rule) == [sentence]


def test_one_sentence_per_top_level_condition_with_nested_groups():
    rule = {"all": [cond("size", "in", ["small", "micro"]),
                    {"any": [cond("certification", "has", "high_tech"),
                             {"all": [cond("rd_ratio", ">=", 0.03), cond("employees", "<=", 300)]}]},
                    {"not": cond("serious_dishonest", "==", True)}]}
    assert describe(rule) == [
        "企业规模为小型或微型",
        "满足以下任一条件:持有有效的高新技术企业资质;(同时满足以下条件:研发费用占营业收入比例不低于 3%;从业人员不超过 300 人)",
        "不满足:已列入严重失信主体名单",
    ]


def test_not_of_a_group():
    rule = {"not": {"any": [cond("size", "==", "large"), cond("tag", "has", "x")]}}
    assert describe(rule) == ["不满足:满足以下任一条件:企业规模为大型;具有“x”标签"]


def test_names_shown_when_given():
    rule = {"all": [cond("region", "in", ["411602"]), cond("industry", "in", ["6510"]), cond("tag", "has", "x")]}
    assert describe(rule, region_names={"411602": "驿城区"}, industry_names={"6510": "软件开发"},
                    tag_names={"x": "瞪羚企业"}) == [
        "所在区划属于 驿城区(411602)(含下级)", "所属行业属于 软件开发(6510)(含下级)", "具有“瞪羚企业”标签"]


PARAMS = {"收入上限": [{"from": None, "value": 300}, {"from": "2025-01-01", "value": 400},
                   {"from": "2027-01-01", "value": 500}]}


def test_parameter_shown_with_its_value_on_the_date_and_future_changes():
    rule = {"field": "operating_revenue", "op": "<=", "param": "收入上限"}
    assert describe(rule, PARAMS, DAY) == ["营业收入不超过 400 万元(自 2027-01-01 起为 500 万元)"]
    assert describe(rule, PARAMS, dt.date(2027, 1, 1)) == ["营业收入不超过 500 万元"]
    assert describe(rule, PARAMS, dt.date(2024, 12, 31)) == [
        "营业收入不超过 300 万元(自 2025-01-01 起为 400 万元;自 2027-01-01 起为 500 万元)"]


def test_list_parameter_future_value():
    params = {"规模": [{"from": None, "value": ["micro"]}, {"from": "2030-01-01", "value": ["small", "micro"]}]}
    assert describe({"field": "size", "op": "in", "param": "规模"}, params, DAY) == [
        "企业规模为微型(自 2030-01-01 起为 小型或微型)"]


def test_empty_rule_and_invalid_rule():
    assert describe({}) == ["不限条件(政策适用区域内的企业均可享受)"]
    with pytest.raises(RuleError):
        describe({"all": []})


def test_field_catalog_covers_every_field_and_operator():
    catalog = {entry["name"]: entry for entry in field_catalog()}
    assert set(catalog) == set(FIELDS)
    for name, entry in catalog.items():
        assert entry["label"] == FIELDS[name].label and entry["kind"] == FIELDS[name].kind
        assert [op for op, _ in entry["ops"]] == list(KIND_OPS[FIELDS[name].kind])
        assert all(label for _, label in entry["ops"]) and entry["hint"]
    assert ("small", "小型") in catalog["size"]["choices"]
    assert ("little_giant", "专精特新“小巨人”企业") in catalog["certification"]["choices"]
    assert ("llc", "有限责任公司") in catalog["legal_form"]["choices"]
    assert catalog["operating_revenue"]["unit"] == "万元"
    assert dict(catalog["rd_ratio"]["ops"])[">="] == "不低于"


def test_field_catalog_with_known_tags():
    catalog = {entry["name"]: entry for entry in field_catalog({"gazelle": "瞪羚企业"})}
    assert catalog["tag"]["choices"] == [("gazelle", "瞪羚企业")]
