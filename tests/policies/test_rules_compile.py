"""Compiling: parameters resolved on the date, not pushed down, atoms normalised and shared."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from yingshang.policies.engine.compiled import Atom
from yingshang.policies.engine.rules import RuleError, compile_rule, industry_section, resolve_params

DAY = dt.date(2026, 5, 1)


def cond(field, op, value):
    return {"field": field, "op": op, "value": value}


def test_empty_rule_compiles_to_no_root():
    compiled = compile_rule({}, None, DAY)
    assert compiled.root is None and compiled.atoms == () and compiled.as_of == DAY


def test_compile_rejects_invalid_rules():
    with pytest.raises(RuleError):
        compile_rule({"all": []}, None, DAY)


def test_numbers_become_decimals_dates_dates():
    span = cond("established_on", "between", ["2020-01-01", "2021-06-30"])
    c = compile_rule({"all": [cond("rd_ratio", ">=", 0.03), span]}, None, DAY)
    assert c.atoms[0] == Atom("rd_ratio", ">=", Decimal("0.03"))
    assert c.atoms[0].value.as_tuple() == Decimal("0.03").as_tuple()  # not the binary float's expansion
    assert c.atoms[1].value == (dt.date(2020, 1, 1), dt.date(2021, 6, 30))


def test_choice_equality_and_has_become_set_membership():
    c = compile_rule({"all": [cond("size", "==", "small"), cond("size", "!=", "large"), cond("tag", "has", "x"),
                              cond("certification", "not_has", "high_tech")]}, None, DAY)
    assert c.atoms == (Atom("size", "in", frozenset({"small"})), Atom("size", "not_in", frozenset({"large"})),
                       Atom("tag", "in", frozenset({"x"})), Atom("certification", "not_in", frozenset({"high_tech"})))


def test_equal_conditions_of_different_items_are_equal_and_shared():
    a = compile_rule(cond("size", "in", ["micro", "small"]), None, DAY)
    b = compile_rule({"all": [cond("size", "in", ["small", "micro", "small"]), cond("employees", "<=", 300.0)]},
                     None, DAY)
    c = compile_rule(cond("employees", "<=", 300), None, DAY)
    assert a.atoms[0] == b.atoms[0] and a.atoms[0] is b.atoms[0]
    assert b.atoms[1] == c.atoms[0] and hash(b.atoms[1]) == hash(c.atoms[0])


def test_distinct_atoms_in_first_appearance_order():
    x, y = cond("employees", "<=", 300), cond("size", "==", "small")
    c = compile_rule({"any": [{"all": [x, y]}, {"all": [y, x, cond("employees", ">", 1)]}]}, None, DAY)
    assert [a.field for a in c.atoms] == ["employees", "size", "employees"]
    assert len(c.atoms) == 3


def test_not_is_pushed_down_with_de_morgan_and_paths_kept():
    rule = {"all": [cond("employees", "<=", 300), {"not": {"all": [cond("size", "==", "large"),
                                                                    {"not": cond("tag", "has", "x")}]}}]}
    root = compile_rule(rule, None, DAY).root
    assert root.kind == "all" and root.path == ""
    inner = root.children[1]
    assert inner.kind == "any" and inner.path == "2.1"
    first, second = inner.children
    assert (first.path, first.negated, first.atom.field) == ("2.1.1", True, "size")
    assert (second.path, second.negated, second.atom.field) == ("2.1.2.1", False, "tag")  # double negation
    assert root.children[0].negated is False


def test_single_child_group_collapses_but_keeps_the_condition_path():
    rule = {"all": [cond("employees", "<=", 300), {"any": [cond("size", "==", "small")]}]}
    root = compile_rule(rule, None, DAY).root
    assert root.children[1].kind == "atom" and root.children[1].path == "2.1"
    single = compile_rule({"not": {"all": [cond("size", "==", "small")]}}, None, DAY).root
    assert single.kind == "atom" and single.negated and single.path == "1.1"


def test_single_condition_rule_has_path_1():
    assert compile_rule(cond("employees", "<=", 300), None, DAY).root.path == "1"


def test_source_kept_on_nodes_and_not_aliased():
    rule = cond("employees", "<=", 300)
    node = compile_rule(rule, None, DAY).root
    assert node.source == rule and node.source is not rule


PARAMS = {"人数上限": [{"from": None, "value": 300}, {"from": "2027-01-01", "value": 500},
                   {"from": "2028-01-01", "value": 800}]}


@pytest.mark.parametrize("day,expected", [(dt.date(2026, 12, 31), 300), (dt.date(2027, 1, 1), 500),
                                          (dt.date(2027, 12, 31), 500), (dt.date(2028, 1, 1), 800)])
def test_params_switch_on_their_date(day, expected):
    c = compile_rule({"field": "employees", "op": "<=", "param": "人数上限"}, PARAMS, day)
    assert c.atoms[0].value == expected
    assert resolve_params(PARAMS, day)["人数上限"] == expected


def test_compilation_is_cached_per_rule_params_and_date():
    rule = {"field": "employees", "op": "<=", "param": "人数上限"}
    assert compile_rule(rule, PARAMS, DAY) is compile_rule(dict(rule), PARAMS, DAY)
    assert compile_rule(rule, PARAMS, DAY) is not compile_rule(rule, PARAMS, dt.date(2027, 1, 1))


def test_as_of_defaults_to_today():
    assert compile_rule({}, None, None).as_of == dt.date.today()


@pytest.mark.parametrize("code,section", [("01", "A"), ("05", "A"), ("06", "B"), ("12", "B"), ("13", "C"), ("43", "C"),
                                          ("44", "D"), ("46", "D"), ("47", "E"), ("50", "E"), ("51", "F"), ("52", "F"),
                                          ("53", "G"), ("60", "G"), ("61", "H"), ("62", "H"), ("63", "I"), ("65", "I"),
                                          ("66", "J"), ("69", "J"), ("70", "K"), ("71", "L"), ("72", "L"), ("73", "M"),
                                          ("75", "M"), ("76", "N"), ("79", "N"), ("80", "O"), ("82", "O"), ("83", "P"),
                                          ("84", "Q"), ("85", "Q"), ("86", "R"), ("90", "R"), ("91", "S"), ("96", "S"),
                                          ("97", "T"), ("3911", "C"), ("701", "K"), ("C", "C")])
def test_industry_section(code, section):
    assert industry_section(code) == section


def test_industry_section_unknown():
    assert industry_section("98") is None and industry_section("") is None and industry_section("Z") is None


def test_division_table_agrees_with_the_shipped_gbt4754_table():
    from yingshang.enterprises.industries import division_sections  # pure Python, reads the shipped CSV

    shipped = division_sections()
    assert shipped and all(industry_section(code) == section for code, section in shipped.items())
