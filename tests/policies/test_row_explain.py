"""Row evaluator: explanations, near-misses (gaps), figures to supply, and real policy examples."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from yingshang.policies.engine.compiled import Status, Truth
from yingshang.policies.engine.row import evaluate
from yingshang.policies.engine.rules import compile_rule

DAY = dt.date(2026, 5, 1)
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN


def facts(**kw) -> dict:
    base = {"status": "active", "employees": 100, "operating_revenue": D("1000"), "total_assets": D("2000"),
            "rd_expense": D("30"), "taxable_income": D("200"), "established_on": dt.date(2020, 6, 1),
            "size": "small", "legal_form": "llc", "region": "411602101", "industry": "3911", "tags": frozenset(),
            "certifications": {}, "credit": ()}
    base.update(kw)
    return base


def cond(field, op, value):
    return {"field": field, "op": op, "value": value}


def run(rule, params=None, day=DAY, **kw):
    return evaluate(compile_rule(rule, params, day), facts(**kw))


RD3 = cond("rd_ratio", ">=", 0.03)


def test_ratio_sentence_false_and_true():
    false = run(RD3, rd_expense=D("21"), operating_revenue=D("1000")).conditions[0]
    assert false.truth is F and false.sentence == "研发费用占营业收入比例 2.1%,需 ≥ 3%"
    assert (false.actual_text, false.expected_text, false.label) == ("2.1%", "≥ 3%", "研发费用占营业收入比例")
    true = run(RD3, rd_expense=D("40"), operating_revenue=D("1000")).conditions[0]
    assert true.sentence == "研发费用占营业收入比例 4.0%,满足 ≥ 3%"


@pytest.mark.parametrize("rd,shown", [(D("29.6"), "2.96%"), (D("29.999"), "2.9999%"), (D("31.2"), "3.1%"),
                                     (D("30.04"), "3.004%")])
def test_ratio_shown_precisely_enough_to_see_its_side_of_the_threshold(rd, shown):
    assert run(RD3, rd_expense=rd, operating_revenue=D("1000")).conditions[0].actual_text == shown


def test_unknown_ratio_names_both_missing_figures():
    result = run(RD3, rd_expense=None, operating_revenue=None)
    cond0 = result.conditions[0]
    assert cond0.truth is U and cond0.actual_text == "缺少数据"
    assert cond0.sentence == "缺少研发费用、营业收入数据,无法判断研发费用占营业收入比例"
    assert result.status is Status.UNKNOWN and result.missing == ["rd_expense", "operating_revenue"]


def test_unknown_ratio_names_only_the_missing_figure():
    assert run(RD3, rd_expense=None).missing == ["rd_expense"]
    assert run(RD3, operating_revenue=None).missing == ["operating_revenue"]


def test_zero_revenue_asks_for_revenue():
    result = run(RD3, operating_revenue=D("0"))
    assert result.missing == ["operating_revenue"]
    assert "营业收入为 0" in result.conditions[0].sentence


def test_unknown_age_asks_for_the_establishment_date():
    result = run(cond("age_years", "<=", 5), established_on=None)
    assert result.missing == ["established_on"]
    assert result.conditions[0].sentence == "缺少成立日期数据,无法判断成立年限"


def test_unknown_size_asks_for_the_size_figures():
    assert run(cond("size", "==", "small"), size=None, employees=None).missing == ["employees"]


def test_missing_lists_only_figures_that_decide_the_result():
    rule = {"all": [cond("employees", "<=", 300), {"any": [cond("total_assets", "<=", 5000),
                                                         cond("taxable_income", "<=", 300)]}]}
    # total_assets is missing but taxable_income decides the any(): nothing to supply, eligible.
    assert run(rule, total_assets=None).status is Status.ELIGIBLE
    result = run(rule, employees=None, total_assets=None, taxable_income=D("900"))
    assert result.status is Status.UNKNOWN and result.missing == ["employees", "total_assets"]


@pytest.mark.parametrize("rule,kw,sentence", [
    (cond("size", "in", ["micro", "small"]), {"size": "medium"}, "企业规模 中型,需为小型或微型"),
    (cond("size", "in", ["micro", "small"]), {}, "企业规模 小型,满足“为小型或微型”"),
    (cond("employees", "<=", 300), {"employees": 320}, "从业人员 320 人,需 ≤ 300 人"),
    (cond("operating_revenue", "between", [100, 300]), {}, "营业收入 1000 万元,需在 100 万元至 300 万元之间"),
    (cond("age_years", "<=", 5), {}, "成立年限 5 年,满足 ≤ 5 年"),
    (cond("established_on", ">=", "2021-01-01"), {}, "成立日期 2020-06-01,需 ≥ 2021-01-01"),
    (cond("region", "in", ["411603"]), {}, "所在区划 411602101,需属于 411603(含下级)"),
    (cond("industry", "in", ["C"]), {"industry": "6510"},
     "所属行业 6510(信息传输、软件和信息技术服务业 I),需属于 制造业(C)(含下级)"),
    (cond("certification", "has", "high_tech"), {}, "未持有有效的高新技术企业资质,需持有"),
    (cond("certification", "has", "high_tech"), {"certifications": {"high_tech": (None, None)}},
     "持有有效的高新技术企业资质"),
    (cond("serious_dishonest", "==", False), {}, "未列入严重失信主体名单"),
    (cond("serious_dishonest", "==", False), {"credit": (("serious_dishonest", dt.date(2026, 1, 1), None),)},
     "已列入严重失信主体名单,需未列入"),
    (cond("tag", "has", "export"), {}, "不具有“export”标签,需具有"),
    ({"not": cond("employees", "<=", 300)}, {}, "从业人员 100 人,需 > 300 人"),
    ({"not": cond("certification", "has", "high_tech")}, {}, "未持有有效的高新技术企业资质"),
    ({"not": cond("serious_dishonest", "==", False)}, {}, "未列入严重失信主体名单,需已列入"),
])
def test_condition_sentences(rule, kw, sentence):
    assert run(rule, **kw).conditions[0].sentence == sentence


def test_region_and_tag_names_in_sentences():
    c = compile_rule({"all": [cond("region", "in", ["411602"]), cond("tag", "has", "export")]}, None, DAY)
    result = evaluate(c, facts(tags=frozenset({"export"})),
                      names={"region": {"411602": "驿城区"}, "tag": {"export": "出口企业"}})
    assert [x.sentence for x in result.conditions] == ["所在区划 411602101,满足“属于 驿城区(411602)(含下级)”",
                                                       "具有“出口企业”标签"]


# ---- near-misses ------------------------------------------------------------------------------------------

A_F, B_F = cond("employees", ">", 500), cond("total_assets", ">", 90000)  # both FALSE on facts()
A_T, B_T = cond("employees", "<=", 300), cond("total_assets", "<=", 5000)  # both TRUE
X_U = cond("rd_expense", ">=", 1)  # UNKNOWN when rd_expense=None


def status_and_gaps(rule, **kw):
    result = run(rule, **kw)
    return result.status, [g.path for g in result.gaps]


@pytest.mark.parametrize("rule,kw,status,gaps", [
    ({"all": [A_T, A_F]}, {}, Status.NEAR_MISS, ["2"]),
    ({"all": [A_F, B_F]}, {}, Status.INELIGIBLE, []),
    ({"all": [A_F, X_U]}, {"rd_expense": None}, Status.INELIGIBLE, []),  # an UNKNOWN blocks a near-miss
    ({"all": [A_T, X_U]}, {"rd_expense": None}, Status.UNKNOWN, []),
    ({"any": [A_F, B_F]}, {}, Status.NEAR_MISS, ["1", "2"]),  # either one would do
    ({"any": [A_F, X_U]}, {"rd_expense": None}, Status.UNKNOWN, []),
    ({"any": [A_F, {"all": [B_F, A_F]}]}, {}, Status.NEAR_MISS, ["1"]),  # the all() is two away
    ({"all": [A_T, {"any": [A_F, {"all": [B_F, A_T]}]}]}, {}, Status.NEAR_MISS, ["2.1", "2.2.1"]),
    ({"all": [A_F, {"any": [B_F, A_F]}]}, {}, Status.INELIGIBLE, []),
    ({"not": {"any": [A_T, B_F]}}, {}, Status.NEAR_MISS, ["1.1"]),  # = all(not A_T, not B_F)
    ({"not": {"all": [A_T, B_T]}}, {}, Status.NEAR_MISS, ["1.1", "1.2"]),  # = any(not A_T, not B_T)
    ({"not": {"all": [A_T, B_F]}}, {}, Status.ELIGIBLE, []),
    ({"all": [A_T, B_T]}, {}, Status.ELIGIBLE, []),
    (A_F, {}, Status.NEAR_MISS, ["1"]),
])
def test_near_miss_algebra(rule, kw, status, gaps):
    assert status_and_gaps(rule, **kw) == (status, gaps)


def test_gap_of_a_negated_condition_explains_the_negation():
    result = run({"all": [A_T, {"not": cond("certification", "has", "high_tech")}]},
                 certifications={"high_tech": (None, None)})
    assert result.status is Status.NEAR_MISS
    assert result.gaps[0].sentence == "持有有效的高新技术企业资质,需未持有"


def test_conditions_listed_in_rule_order_with_paths():
    result = run({"all": [A_T, {"any": [B_F, {"not": A_F}]}]})
    assert [(c.path, c.truth) for c in result.conditions] == [("1", T), ("2.1", F), ("2.2.1", T)]


def test_as_dict_for_the_api():
    data = run({"all": [A_T, RD3]}, rd_expense=D("21")).as_dict()
    assert data["status"] == "near_miss"
    assert data["gaps"] == ["研发费用占营业收入比例 2.1%,需 ≥ 3%"]
    assert data["conditions"][1]["truth"] == "false" and data["conditions"][1]["path"] == "2"


# ---- real policies ----------------------------------------------------------------------------------------

# 财政部 税务总局公告2023年第12号 第三条 / 2022年第13号: 小型微利企业 — 年应纳税所得额不超过300万元、从业人数不超过
# 300人、资产总额不超过5000万元, 从事国家非限制和禁止行业.
SMALL_LOW_PROFIT = {"all": [cond("taxable_income", "<=", 300), cond("employees", "<=", 300),
                            cond("total_assets", "<=", 5000),
                            {"not": cond("tag", "has", "restricted_industry")}]}


def test_small_low_profit_enterprise_at_the_limits_is_eligible():
    result = run(SMALL_LOW_PROFIT, taxable_income=D("300"), employees=300, total_assets=D("5000"))
    assert result.status is Status.ELIGIBLE


def test_small_low_profit_one_figure_over_is_a_near_miss_naming_it():
    result = run(SMALL_LOW_PROFIT, taxable_income=D("300.01"), employees=300, total_assets=D("5000"))
    assert result.status is Status.NEAR_MISS
    assert [g.sentence for g in result.gaps] == ["应纳税所得额 300.01 万元,需 ≤ 300 万元"]


def test_small_low_profit_restricted_industry():
    result = run(SMALL_LOW_PROFIT, tags=frozenset({"restricted_industry"}), employees=301)
    assert result.status is Status.INELIGIBLE


def test_small_low_profit_missing_assets_is_unknown():
    result = run(SMALL_LOW_PROFIT, total_assets=None)
    assert result.status is Status.UNKNOWN and result.missing == ["total_assets"]


def test_rd_threshold_parameter_switches_on_its_date():
    params = {"研发比例": [{"from": None, "value": 0.03}, {"from": "2027-01-01", "value": 0.02}]}
    rule = {"field": "rd_ratio", "op": ">=", "param": "研发比例"}
    before = run(rule, params, dt.date(2026, 12, 31), rd_expense=D("21"))
    after = run(rule, params, dt.date(2027, 1, 1), rd_expense=D("21"))
    assert before.status is Status.NEAR_MISS and before.gaps[0].sentence == "研发费用占营业收入比例 2.1%,需 ≥ 3%"
    assert after.status is Status.ELIGIBLE and after.conditions[0].sentence == "研发费用占营业收入比例 2.1%,满足 ≥ 2%"


def test_texts_use_the_facts_as_evaluated_even_if_the_caller_changes_them_later():
    row = facts(rd_expense=D("21"))
    result = evaluate(compile_rule(RD3, None, DAY), row)
    row["rd_expense"] = D("50")
    assert result.conditions[0].sentence == "研发费用占营业收入比例 2.1%,需 ≥ 3%"


def test_rating_sentence_spacing():
    assert run(cond("tax_credit_rating", "in", ["A", "B"]), tax_credit_rating="C").conditions[0].sentence == \
        "纳税信用等级 C,需为 A 或 B"
