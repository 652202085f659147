"""Amount formulas: checking with precise messages, Decimal estimates with floors and caps."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from yingshang.policies.engine.amounts import check_formula, estimate, variables
from yingshang.policies.engine.rules import RuleError

DAY = dt.date(2026, 5, 1)
FACTS = {"employees": 120, "registered_capital": D("500"), "operating_revenue": D("1000"), "total_assets": D("2000"),
         "rd_expense": D("123.4567"), "taxable_income": D("200"), "established_on": dt.date(2020, 2, 29)}


def est(expr, floor=None, cap=None, facts=FACTS, params=None, day=DAY):
    return estimate(expr, floor, cap, facts, params, day)


def rejects(expr, params=None) -> RuleError:
    with pytest.raises(RuleError) as info:
        check_formula(expr, params)
    assert info.value.path == "金额公式"
    return info.value


def test_ten_percent_of_rd_capped_at_500000():
    assert est("rd_expense * 0.1") == D("123456.70")
    assert est("rd_expense * 0.1", cap=D("100000")) == D("100000.00")
    assert est("min(rd_expense * 0.1, 500000)", facts={**FACTS, "rd_expense": D("9000")}) == D("500000.00")


def test_money_variables_are_in_yuan():
    assert est("operating_revenue") == D("10000000.00")
    assert est("taxable_income + registered_capital") == D("7000000.00")


def test_other_variables():
    assert est("employees * 1000") == D("120000.00")
    assert est("rd_ratio * 100") == D("12.35")  # 0.1234567 × 100, 2 places HALF_UP
    assert est("age_years") == D("6.00")  # 2020-02-29 → 6 whole years on 2026-05-01


def test_floor_and_cap_applied_after_and_never_negative():
    assert est("employees * 10", floor=D("5000")) == D("5000.00")
    assert est("employees * 10", floor=D("5000"), cap=D("3000")) == D("3000.00")
    assert est("taxable_income - operating_revenue") == D("0.00")


def test_rounding_half_up_to_cents():
    assert est("0.125") == D("0.13")
    assert est("round(1234.5)") == D("1235.00")
    assert est("round(1234.5, -2)") == D("1200.00")
    assert est("round(2.675, 2)") == D("2.68")  # Decimal, not the binary float 2.67499…


def test_decimal_arithmetic_is_exact():
    assert est("0.1 + 0.2") == D("0.30")
    assert est("1 / 3 * 3") == D("1.00")


def test_missing_figure_or_empty_formula_gives_none():
    assert est("rd_expense * 0.1", facts={**FACTS, "rd_expense": None}) is None
    assert est("rd_ratio * 1000", facts={**FACTS, "operating_revenue": D("0")}) is None
    assert est("age_years", facts={**FACTS, "established_on": None}) is None
    assert est("") is None and est("   ") is None
    assert est("employees / (employees - 120)") is None  # division by zero at run time


def test_params_by_name_and_date():
    params = {"补贴比例": [{"from": None, "value": 0.1}, {"from": "2027-01-01", "value": 0.2}],
              "上限": [{"from": None, "value": 500000}]}
    expr = "min(rd_expense * 补贴比例, 上限)"
    check_formula(expr, params)
    assert est(expr, params=params) == D("123456.70")
    assert est(expr, params=params, day=dt.date(2027, 1, 1)) == D("246913.40")


def test_non_numeric_param_is_rejected_when_used():
    with pytest.raises(RuleError) as info:
        est("rd_expense * 规模", params={"规模": [{"from": None, "value": ["small"]}]})
    assert "规模" in info.value.message and "不是数值" in info.value.message


@pytest.mark.parametrize("expr,needle", [
    ("revenue * 0.1", "未知名称“revenue”"),
    ("rd_expense * 比例", "未知名称“比例”"),
    ("rd_expense ** 2", "**"),
    ("rd_expense % 2", "%"),
    ("rd_expense // 2", "//"),
    ("abs(rd_expense)", "不支持的函数“abs”"),
    ("__import__('os')", "不支持的函数"),
    ("rd_expense.real", "属性"),
    ("rd_expense if employees else 0", "if/else"),
    ("employees > 3", "比较"),
    ("'100'", "只能使用数值"),
    ("True", "只能使用数值"),
    ("rd_expense / 0", "除数为 0"),
    ("rd_expense / -0.0", "除数为 0"),
    ("rd_expense * (0.1", "语法错误"),
    ("round(rd_expense, employees)", "整数常量"),
    ("round(rd_expense, 1, 2)", "round(x, n)"),
    ("min()", "至少需要一个参数"),
    ("max(a=1)", "关键字参数"),
    ("rd_expense; employees", "语法错误"),
    ("x" * 501, "公式过长"),
])
def test_check_formula_messages(expr, needle):
    assert needle in rejects(expr).message


def test_unknown_name_lists_variables_and_params():
    err = rejects("revenue", {"上限": [{"from": None, "value": 1}]})
    assert "operating_revenue(营业收入(元))" in err.message and "上限" in err.message


def test_valid_formulas_pass():
    for expr in ("", "rd_expense * 0.1", "min(max(employees * 1000, 5000), 200000)", "-employees + 3",
                 "round(rd_ratio * taxable_income / 2, 2)"):
        check_formula(expr)


def test_variables_have_labels():
    names = dict(variables())
    assert names["rd_expense"] == "研发费用(元)" and names["employees"] == "从业人员(人)"
    assert set(names) >= {"registered_capital", "operating_revenue", "total_assets", "taxable_income",
                          "rd_ratio", "age_years"}
