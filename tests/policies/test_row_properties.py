"""Properties of the row evaluator on random rules and facts: Kleene laws, compile ≡ source, near-miss ≡ brute force."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yingshang.policies.engine.compiled import Status, Truth
from yingshang.policies.engine.row import NEG, atom_truth, evaluate
from yingshang.policies.engine.rules import atom_of, check_rule, compile_rule

DAY = dt.date(2026, 3, 1)
T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

small = st.integers(0, 4)
compare_ops = st.sampled_from([">=", "<=", ">", "<", "==", "!="])


def _between(values):
    return st.tuples(values, values).map(lambda p: sorted(p))


number_cond = st.builds(lambda f, op, v: {"field": f, "op": op, "value": v},
                        st.sampled_from(["employees", "operating_revenue", "rd_expense"]), compare_ops, small)
between_cond = st.builds(lambda f, v: {"field": f, "op": "between", "value": v},
                         st.sampled_from(["employees", "total_assets"]), _between(small))
ratio_cond = st.builds(lambda op, v: {"field": "rd_ratio", "op": op, "value": v},
                       compare_ops, st.sampled_from([0, 0.25, 0.5, 1]))
age_cond = st.builds(lambda op, v: {"field": "age_years", "op": op, "value": v}, compare_ops, st.integers(0, 3))
sizes = st.sampled_from(["large", "medium", "small", "micro"])
size_cond = st.one_of(
    st.builds(lambda op, v: {"field": "size", "op": op, "value": v}, st.sampled_from(["==", "!="]), sizes),
    st.builds(lambda op, v: {"field": "size", "op": op, "value": v}, st.sampled_from(["in", "not_in"]),
              st.lists(sizes, min_size=1, max_size=3)))
region_cond = st.builds(lambda op, v: {"field": "region", "op": op, "value": v}, st.sampled_from(["in", "not_in"]),
                        st.lists(st.sampled_from(["41", "4116", "411602", "31"]), min_size=1, max_size=2))
cert_cond = st.builds(lambda op, v: {"field": "certification", "op": op, "value": v},
                      st.sampled_from(["has", "not_has"]), st.sampled_from(["high_tech", "tech_sme"]))
flag_cond = st.builds(lambda v: {"field": "serious_dishonest", "op": "==", "value": v}, st.booleans())
conditions = st.one_of(number_cond, between_cond, ratio_cond, age_cond, size_cond, region_cond, cert_cond, flag_cond)


def _groups(children):
    lists = st.lists(children, min_size=1, max_size=3)
    return st.one_of(lists.map(lambda c: {"all": c}), lists.map(lambda c: {"any": c}),
                     children.map(lambda c: {"not": c}))


rules = st.recursive(conditions, _groups, max_leaves=8)
dates = st.dates(dt.date(2022, 2, 27), dt.date(2026, 3, 2))
maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731


@st.composite
def facts(draw, complete=False):
    opt = (lambda s: s) if complete else maybe
    valid = st.tuples(maybe(dates), maybe(dates))
    return {"status": "active", "employees": draw(opt(small)), "operating_revenue": draw(opt(small.map(D))),
            "rd_expense": draw(opt(small.map(D))), "total_assets": draw(opt(small.map(D))),
            "established_on": draw(opt(dates)), "size": draw(opt(sizes)),
            "region": draw(st.sampled_from(["411602101", "411603", "310101", ""])),
            "certifications": draw(st.dictionaries(st.sampled_from(["high_tech", "tech_sme"]), valid, max_size=2)),
            "credit": tuple(draw(st.lists(st.tuples(st.just("serious_dishonest"), dates, maybe(dates)), max_size=2))),
            "tags": frozenset()}


def source_truth(rule: dict, row: dict) -> Truth:
    """An independent evaluation of the source JSON (no compilation): Kleene with ``not`` where it is written."""
    if "field" in rule:
        return atom_truth(atom_of(rule), row, DAY)
    if "not" in rule:
        return NEG[source_truth(rule["not"], row)]
    truths = [source_truth(r, row) for r in rule.get("all", rule.get("any", []))]
    if "all" in rule:
        return F if F in truths else U if U in truths else T
    return T if T in truths else U if U in truths else F


def truth(rule, row) -> Truth:
    return evaluate(compile_rule(rule, None, DAY), row).truth


@SETTINGS
@given(rules, facts())
def test_compiled_rule_agrees_with_the_source(rule, row):
    check_rule(rule)
    assert truth(rule, row) is source_truth(rule, row)


@SETTINGS
@given(rules, facts())
def test_double_negation_and_negation(rule, row):
    assert truth({"not": {"not": rule}}, row) is truth(rule, row)
    assert truth({"not": rule}, row) is NEG[truth(rule, row)]


@SETTINGS
@given(rules, rules, facts())
def test_de_morgan(a, b, row):
    assert truth({"not": {"all": [a, b]}}, row) is truth({"any": [{"not": a}, {"not": b}]}, row)
    assert truth({"not": {"any": [a, b]}}, row) is truth({"all": [{"not": a}, {"not": b}]}, row)


@SETTINGS
@given(rules, facts())
def test_status_follows_truth(rule, row):
    result = evaluate(compile_rule(rule, None, DAY), row)
    expected = {T: {Status.ELIGIBLE}, U: {Status.UNKNOWN}, F: {Status.NEAR_MISS, Status.INELIGIBLE}}
    assert result.status in expected[result.truth]
    assert bool(result.missing) == (result.status is Status.UNKNOWN)
    assert bool(result.gaps) == (result.status is Status.NEAR_MISS)


def _forced(node, row, leaf) -> Truth:
    """Truth of a compiled node with one leaf (by identity) forced TRUE."""
    if node.kind == "atom":
        if node is leaf:
            return T
        t = atom_truth(node.atom, row, DAY)
        return NEG[t] if node.negated else t
    truths = [_forced(c, row, leaf) for c in node.children]
    if node.kind == "all":
        return F if F in truths else U if U in truths else T
    return T if T in truths else U if U in truths else F


def _leaves(node):
    if node.kind == "atom":
        return [node]
    return [x for c in node.children for x in _leaves(c)]


@SETTINGS
@given(rules, facts(complete=True))
def test_near_miss_is_exactly_one_condition_away_when_nothing_is_missing(rule, row):
    compiled = compile_rule(rule, None, DAY)
    result = evaluate(compiled, row)
    if result.truth is not F:
        return
    fixes = [leaf.path for leaf in _leaves(compiled.root) if _forced(compiled.root, row, leaf) is T]
    assert (result.status is Status.NEAR_MISS) == bool(fixes)
    assert [g.path for g in result.gaps] == fixes
