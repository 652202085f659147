"""Rule validation: every bad rule is rejected with a precise Chinese message and its position."""
from __future__ import annotations

import pytest

from yingshang.policies.engine.rules import RuleError, check_params, check_rule


def rejects(rule, params=None, **kw) -> RuleError:
    with pytest.raises(RuleError) as info:
        check_rule(rule, params, **kw)
    return info.value


def cond(field, op, value):
    return {"field": field, "op": op, "value": value}


GOOD = cond("employees", "<=", 300)


def test_empty_rule_and_valid_rules_pass():
    check_rule({})
    check_rule(GOOD)
    check_rule({"all": [GOOD, {"any": [cond("size", "in", ["small", "micro"]), {"not": GOOD}]}]})


def test_error_is_a_value_error_with_message_and_path():
    err = rejects({"all": [GOOD, cond("employes", "<=", 3)]})
    assert isinstance(err, ValueError)
    assert err.path == "条件 2"
    assert str(err).startswith("条件 2:")


def test_non_dict_rule_is_rejected():
    err = rejects([GOOD])
    assert err.path == "规则" and "应为对象" in err.message


def test_unknown_key_in_condition_names_the_key():
    err = rejects({"all": [GOOD, {"field": "employees", "op": "<=", "value": 3, "unit": "人"}]})
    assert err.path == "条件 2" and "unit" in err.message


def test_group_with_extra_key_is_rejected():
    err = rejects({"all": [GOOD], "any": [GOOD]})
    assert err.path == "规则" and "any" in err.message


def test_unrecognised_dict_is_rejected():
    err = rejects({"all": [{"fields": "employees"}]})
    assert err.path == "条件 1" and "fields" in err.message


@pytest.mark.parametrize("rule,path", [
    ({"all": []}, "规则"),
    ({"any": [GOOD, {"all": []}]}, "条件 2"),
    ({"all": [GOOD, {"not": {}}]}, "条件 2"),
    ({"all": [GOOD, {}]}, "条件 2"),
])
def test_empty_groups_are_rejected(rule, path):
    err = rejects(rule)
    assert err.path == path
    assert "空" in err.message


def test_unknown_field_lists_the_valid_ones():
    err = rejects({"all": [GOOD, {"any": [GOOD, cond("revenue", ">=", 1)]}]})
    assert err.path == "条件 2.2"
    assert "revenue" in err.message and "operating_revenue(营业收入)" in err.message
    assert "certification(资质)" in err.message


def test_position_inside_not_counts_the_child_as_1():
    err = rejects({"all": [GOOD, {"not": cond("nope", "==", 1)}]})
    assert err.path == "条件 2.1"


def test_single_condition_rule_is_condition_1():
    assert rejects(cond("nope", "==", 1)).path == "条件 1"


@pytest.mark.parametrize("field,op", [("employees", "in"), ("size", ">="), ("region", "=="),
                                      ("tag", ">"), ("serious_dishonest", "!="), ("certification", "between")])
def test_operator_not_allowed_for_kind(field, op):
    err = rejects(cond(field, op, 1))
    assert "不支持运算符" in err.message and f"“{op}”" in err.message


def test_value_and_param_both_or_neither():
    both = rejects({"field": "employees", "op": "<=", "value": 3, "param": "p"}, {"p": [{"from": None, "value": 3}]})
    neither = rejects({"field": "employees", "op": "<="})
    for err in (both, neither):
        assert "value" in err.message and "param" in err.message and "只能有一个" in err.message


@pytest.mark.parametrize("value", ["300", True, None, [300]])
def test_number_type_mismatch(value):
    err = rejects(cond("operating_revenue", "<=", value))
    assert "营业收入" in err.message and "应为数值" in err.message


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_number_must_be_finite(value):
    assert "有限数" in rejects(cond("employees", "<=", value)).message


def test_number_significant_digits_limit_explains_why():
    err = rejects(cond("operating_revenue", "<=", 1234567890.1234567))
    assert "15 位有效数字" in err.message and "精度" in err.message
    check_rule(cond("operating_revenue", "<=", 123456789012345))  # exactly 15 digits
    check_rule(cond("operating_revenue", "<=", 10 ** 20))  # one significant digit


def test_age_must_be_an_integer():
    assert "整数" in rejects(cond("age_years", "<=", 2.5)).message
    check_rule(cond("age_years", "<=", 5.0))


def test_ratio_must_be_a_fraction():
    err = rejects(cond("rd_ratio", ">=", 3))
    assert "0.03" in err.message and "0 到 1" in err.message


@pytest.mark.parametrize("value", ["2024/01/01", "2024-1-1", 20240101, "2023-02-29"])
def test_date_format(value):
    err = rejects(cond("established_on", ">=", value))
    assert "成立日期" in err.message
    assert "YYYY-MM-DD" in err.message or "不存在" in err.message


@pytest.mark.parametrize("value", [3, [1], [1, 2, 3], "1,2"])
def test_between_needs_a_pair(value):
    assert "[下限, 上限]" in rejects(cond("employees", "between", value)).message


def test_between_low_above_high():
    err = rejects(cond("operating_revenue", "between", [500, 300]))
    assert "下限 500 大于上限 300" in err.message


@pytest.mark.parametrize("op,value", [("in", []), ("not_in", "small"), ("in", None)])
def test_list_ops_need_non_empty_list(op, value):
    assert "非空列表" in rejects(cond("size", op, value)).message


def test_choice_value_not_allowed_lists_choices():
    err = rejects(cond("size", "in", ["small", "tiny"]))
    assert "“tiny”" in err.message and "micro(微型)" in err.message
    err = rejects(cond("legal_form", "==", "company"))
    assert "llc(有限责任公司)" in err.message


@pytest.mark.parametrize("code", ["4116x", "4", "4116021010001", 411602])
def test_malformed_region_code(code):
    err = rejects(cond("region", "in", [code]))
    assert "区划代码" in err.message or "应为文本" in err.message


@pytest.mark.parametrize("code", ["c", "U", "00", "98", "39111", "C39"])
def test_malformed_industry_code(code):
    err = rejects(cond("industry", "in", [code]))
    assert "行业代码" in err.message and "A–T" in err.message


def test_valid_industry_codes():
    check_rule(cond("industry", "in", ["A", "T", "01", "97", "391", "3911"]))


def test_tag_must_be_known_when_a_set_is_given():
    check_rule(cond("tag", "has", "gazelle"))
    err = rejects(cond("tag", "has", "gazelle"), tags={"unicorn": "独角兽"})
    assert "未知标签" in err.message and "gazelle" in err.message
    check_rule(cond("tag", "in", ["unicorn"]), tags={"unicorn": "独角兽"})


def test_certification_code_checked():
    err = rejects(cond("certification", "has", "hightech"))
    assert "high_tech(高新技术企业)" in err.message


@pytest.mark.parametrize("value", ["true", 1, None])
def test_flag_must_be_boolean(value):
    assert "true 或 false" in rejects(cond("serious_dishonest", "==", value)).message


def test_undefined_param_lists_defined_ones():
    params = {"人数上限": [{"from": None, "value": 300}]}
    err = rejects({"all": [GOOD, {"field": "employees", "op": "<=", "param": "收入上限"}]}, params)
    assert err.path == "条件 2" and "收入上限" in err.message and "人数上限" in err.message
    assert "未定义" in rejects({"field": "employees", "op": "<=", "param": "x"}).message


def test_param_values_must_fit_every_condition_using_them():
    params = {"上限": [{"from": None, "value": 300}, {"from": "2027-01-01", "value": "五百"}]}
    err = rejects({"field": "employees", "op": "<=", "param": "上限"}, params)
    assert err.path == "参数“上限”"
    assert "自 2027-01-01 起" in err.message and "条件 1" in err.message and "应为数值" in err.message


def test_param_used_by_a_list_condition():
    params = {"规模": [{"from": None, "value": ["small", "micro"]}]}
    check_rule({"field": "size", "op": "in", "param": "规模"}, params)
    err = rejects({"field": "employees", "op": "<=", "param": "规模"}, params)
    assert err.path == "参数“规模”" and "初始" in err.message


@pytest.mark.parametrize("params,needle", [
    ([], "应为对象"),
    ({"p": []}, "非空列表"),
    ({"p": [{"from": "2024-01-01", "value": 1}]}, "第 1 项的 from 应为 null"),
    ({"p": [{"from": None, "value": 1}, {"from": None, "value": 2}]}, "第 2 项的 from 应为 YYYY-MM-DD"),
    ({"p": [{"from": None, "value": 1}, {"from": "2024-13-01", "value": 2}]}, "不存在"),
    ({"p": [{"from": None, "value": 1}, {"from": "2025-01-01", "value": 2}, {"from": "2025-01-01", "value": 3}]},
     "第 3 项的日期 2025-01-01 应晚于上一项的 2025-01-01"),
    ({"p": [{"from": None}]}, "第 1 项应为"),
    ({"p": [{"from": None, "value": 1, "note": "x"}]}, "第 1 项应为"),
])
def test_check_params(params, needle):
    with pytest.raises(RuleError) as info:
        check_params(params)
    assert needle in info.value.message
    assert info.value.path.startswith("参数")


def test_good_params_pass():
    check_params(None)
    check_params({"p": [{"from": None, "value": 1}, {"from": "2025-01-01", "value": 2},
                        {"from": "2026-01-01", "value": 3}]})


def test_missing_operator_is_named():
    err = rejects({"field": "employees", "value": 3})
    assert "缺少运算符 op" in err.message and ">=" in err.message
