"""Row evaluator: each field kind at its boundaries, missing figures as UNKNOWN (also under not and !=)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from yingshang.policies.engine.compiled import Status, Truth
from yingshang.policies.engine.row import age_on, evaluate, evaluate_many
from yingshang.policies.engine.rules import compile_rule

DAY = dt.date(2026, 5, 1)
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN


def facts(**kw) -> dict:
    base = {"id": 1, "status": "active", "employees": 100, "registered_capital": D("500"),
            "operating_revenue": D("1000"), "total_assets": D("2000"), "rd_expense": D("30"),
            "taxable_income": D("200"), "established_on": dt.date(2020, 6, 1), "size": "small",
            "tax_credit_rating": "A", "taxpayer_kind": "general", "legal_form": "llc", "region": "411602101",
            "industry": "3911", "tags": frozenset(), "certifications": {}, "credit": ()}
    base.update(kw)
    return base


def truth(rule, day=DAY, **kw) -> Truth:
    return evaluate(compile_rule(rule, None, day), facts(**kw)).truth


def cond(field, op, value):
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize("op,value,expected", [
    (">=", 100, T), (">=", 101, F), ("<=", 100, T), ("<=", 99, F), (">", 100, F), (">", 99, T),
    ("<", 100, F), ("<", 101, T), ("==", 100, T), ("==", 100.0, T), ("!=", 100, F), ("!=", 7, T),
    ("between", [100, 200], T), ("between", [50, 100], T), ("between", [101, 200], F), ("between", [1, 99], F),
])
def test_number_comparisons_at_the_threshold(op, value, expected):
    assert truth(cond("employees", op, value)) is expected


def test_money_compared_exactly_in_decimal():
    assert truth(cond("taxable_income", "<=", 300), taxable_income=D("300.0000")) is T
    assert truth(cond("taxable_income", "<=", 300), taxable_income=D("300.0001")) is F
    assert truth(cond("operating_revenue", "==", 0.1), operating_revenue=D("0.1")) is T


@pytest.mark.parametrize("op", [">=", "<=", ">", "<", "==", "!="])
def test_missing_number_is_unknown_for_every_operator(op):
    assert truth(cond("employees", op, 5), employees=None) is U


def test_missing_figure_stays_unknown_under_not():
    assert truth({"not": cond("employees", "!=", 5)}, employees=None) is U
    assert truth({"not": {"all": [cond("employees", "<=", 5), cond("size", "==", "small")]}}, employees=None) is U


@pytest.mark.parametrize("rd,revenue,op,value,expected", [
    (D("3"), D("100"), ">=", 0.03, T),  # exactly 3 %
    (D("2.9999"), D("100"), ">=", 0.03, F),
    (D("1"), D("3"), ">=", 0.3333333333, T),  # 1/3 exactly, not a rounded quotient
    (D("1"), D("3"), "<=", 0.3333333334, T),
    (D("1"), D("3"), "==", 0.3333333333, F),
    (D("3"), D("100"), "between", [0.03, 0.05], T),
    (D("5.0001"), D("100"), "between", [0.03, 0.05], F),
])
def test_rd_ratio_is_exact(rd, revenue, op, value, expected):
    assert truth(cond("rd_ratio", op, value), rd_expense=rd, operating_revenue=revenue) is expected


@pytest.mark.parametrize("rd,revenue", [(None, D("100")), (D("3"), None), (D("3"), D("0")), (None, None)])
def test_rd_ratio_unknown_when_undecidable(rd, revenue):
    assert truth(cond("rd_ratio", ">=", 0.03), rd_expense=rd, operating_revenue=revenue) is U
    assert truth({"not": cond("rd_ratio", ">=", 0.03)}, rd_expense=rd, operating_revenue=revenue) is U


@pytest.mark.parametrize("born,day,years", [
    (dt.date(2020, 6, 1), dt.date(2025, 5, 31), 4), (dt.date(2020, 6, 1), dt.date(2025, 6, 1), 5),
    (dt.date(2020, 2, 29), dt.date(2021, 2, 28), 0), (dt.date(2020, 2, 29), dt.date(2021, 3, 1), 1),
    (dt.date(2020, 2, 29), dt.date(2024, 2, 28), 3), (dt.date(2020, 2, 29), dt.date(2024, 2, 29), 4),
    (dt.date(2020, 6, 1), dt.date(2020, 6, 1), 0), (dt.date(2020, 6, 2), dt.date(2020, 6, 1), -1),
])
def test_age_in_whole_years_incl_feb_29(born, day, years):
    assert age_on(born, day) == years
    assert truth(cond("age_years", "==", years), day=day, established_on=born) is T
    assert truth(cond("age_years", ">=", years + 1), day=day, established_on=born) is F


def test_age_unknown_without_establishment_date():
    assert truth(cond("age_years", "<=", 5), established_on=None) is U


@pytest.mark.parametrize("op,value,expected", [(">=", "2020-06-01", T), (">", "2020-06-01", F), ("<", "2020-06-02", T),
                                               ("between", ["2020-01-01", "2020-06-01"], T), ("==", "2020-06-01", T)])
def test_established_on_compares_dates(op, value, expected):
    assert truth(cond("established_on", op, value)) is expected


@pytest.mark.parametrize("op,value,size,expected", [
    ("==", "small", "small", T), ("==", "small", "micro", F), ("!=", "small", "micro", T),
    ("in", ["small", "micro"], "micro", T), ("not_in", ["small", "micro"], "medium", T),
    ("not_in", ["small", "micro"], "small", F),
    ("==", "small", None, U), ("!=", "small", None, U), ("not_in", ["large"], "", U),
])
def test_choices(op, value, size, expected):
    assert truth(cond("size", op, value), size=size) is expected


@pytest.mark.parametrize("codes,region,expected", [
    (["41"], "411602101", T), (["411602"], "411602101", T), (["411602101"], "411602101", T),
    (["411603"], "411602101", F), (["4116021011"], "411602101", F), (["31", "411602"], "411602", T),
    (["41"], "", F), (["41"], None, F),
])
def test_region_prefix_membership_never_unknown(codes, region, expected):
    assert truth(cond("region", "in", codes), region=region) is expected
    assert truth(cond("region", "not_in", codes), region=region) is (F if expected is T else T)


@pytest.mark.parametrize("codes,industry,expected", [
    (["C"], "3911", T), (["C"], "C", T), (["I"], "3911", F), (["39"], "3911", T), (["391"], "3911", T),
    (["3911"], "3911", T), (["3912"], "3911", F), (["39"], "39", T), (["391"], "39", F), (["39"], "C", F),
    (["K"], "7010", T), (["70"], "7010", T), (["C"], "", F),
])
def test_industry_membership_with_sections(codes, industry, expected):
    assert truth(cond("industry", "in", codes), industry=industry) is expected
    assert truth(cond("industry", "not_in", codes), industry=industry) is (F if expected is T else T)


def test_tags():
    tags = frozenset({"gazelle", "export"})
    assert truth(cond("tag", "has", "gazelle"), tags=tags) is T
    assert truth(cond("tag", "not_has", "gazelle"), tags=tags) is F
    assert truth(cond("tag", "in", ["unicorn", "export"]), tags=tags) is T
    assert truth(cond("tag", "not_in", ["unicorn", "x"]), tags=tags) is T
    assert truth(cond("tag", "has", "gazelle"), tags=frozenset()) is F


CERT = {"high_tech": (dt.date(2024, 1, 1), dt.date(2026, 12, 31))}


@pytest.mark.parametrize("day,expected", [(dt.date(2023, 12, 31), F), (dt.date(2024, 1, 1), T),
                                          (dt.date(2026, 12, 31), T), (dt.date(2027, 1, 1), F)])
def test_certification_valid_on_the_date_inclusive(day, expected):
    assert truth(cond("certification", "has", "high_tech"), day=day, certifications=CERT) is expected
    assert truth(cond("certification", "not_has", "high_tech"), day=day, certifications=CERT) is (
        F if expected is T else T)


def test_certification_open_ended_and_any_of():
    certs = {"tech_sme": (None, None)}
    assert truth(cond("certification", "in", ["high_tech", "tech_sme"]), certifications=certs) is T
    assert truth(cond("certification", "not_in", ["high_tech", "little_giant"]), certifications=certs) is T
    assert truth(cond("certification", "has", "high_tech"), certifications={}) is F


LISTING = (("serious_dishonest", dt.date(2025, 3, 1), dt.date(2026, 3, 1)),)


@pytest.mark.parametrize("day,listed", [(dt.date(2025, 2, 28), False), (dt.date(2025, 3, 1), True),
                                        (dt.date(2026, 2, 28), True), (dt.date(2026, 3, 1), False)])
def test_credit_listing_in_force_edges(day, listed):
    assert truth(cond("serious_dishonest", "==", False), day=day, credit=LISTING) is (F if listed else T)
    assert truth(cond("serious_dishonest", "==", True), day=day, credit=LISTING) is (T if listed else F)
    assert truth(cond("abnormal_operation", "==", False), day=day, credit=LISTING) is T


def test_credit_listing_without_removal_stays_in_force():
    listing = (("abnormal_operation", dt.date(2020, 1, 1), None),)
    assert truth(cond("abnormal_operation", "==", True), credit=listing) is T


def test_inactive_enterprise_is_ineligible_with_an_explanation():
    result = evaluate(compile_rule({}, None, DAY), facts(status="cancelled"))
    assert result.status is Status.INELIGIBLE
    assert [c.sentence for c in result.conditions] == ["企业登记状态非存续"]
    assert result.conditions[0].field == "status" and "注销" in result.conditions[0].actual_text


def test_empty_rule_is_eligible_for_an_active_enterprise():
    result = evaluate(compile_rule({}, None, DAY), facts())
    assert result.status is Status.ELIGIBLE and result.conditions == [] and result.missing == []


def test_evaluate_many_matches_evaluate_per_item():
    rules = {1: cond("employees", "<=", 300), 2: cond("employees", ">", 300),
             3: {"all": [cond("employees", "<=", 300), cond("rd_ratio", ">=", 0.05)]}, 4: {},
             5: cond("size", "==", "large")}
    compiled = {k: compile_rule(r, None, DAY) for k, r in rules.items()}
    row = facts(rd_expense=None)
    many = evaluate_many(compiled, row)
    assert set(many) == set(rules)
    for key, c in compiled.items():
        single = evaluate(c, row)
        assert (many[key].status, many[key].truth) == (single.status, single.truth)
        assert [x.sentence for x in many[key].conditions] == [x.sentence for x in single.conditions]


def test_evaluate_many_inactive_enterprise():
    many = evaluate_many({1: compile_rule({}, None, DAY)}, facts(status="revoked"))
    assert many[1].status is Status.INELIGIBLE


def test_evaluate_many_evaluates_each_distinct_condition_once(monkeypatch):
    from yingshang.policies.engine import row as row_module

    calls = []
    original = row_module._EVAL["employees"]
    monkeypatch.setitem(row_module._EVAL, "employees", lambda a, f, d: calls.append(a) or original(a, f, d))
    shared = cond("employees", "<=", 300)
    compiled = {i: compile_rule({"all": [shared, cond("size", "==", "small"), {"not": shared}]}, None, DAY)
                for i in range(5)}
    compiled[9] = compile_rule({"any": [cond("employees", "<=", 300.0), cond("employees", ">", 7)]}, None, DAY)
    evaluate_many(compiled, facts(employees=500))
    assert len(calls) == 2  # "<= 300" (six items, twice in five of them) and "> 7"
