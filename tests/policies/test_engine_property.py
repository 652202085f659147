"""Property test: the row evaluator and the columnar matcher agree on every row's status.

Random rules (every field kind and operator, all/any/not nesting, parameters with effective dates) over
random registers (missing figures, zero revenue, values equal to thresholds, Feb 29, certificate and
credit-listing dates on the evaluation date's edges, non-active enterprises).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yingshang.policies.engine import columnar, register, rules

row = pytest.importorskip("yingshang.policies.engine.row")

AS_OF_POOL = [dt.date(2024, 2, 29), dt.date(2025, 2, 28), dt.date(2025, 3, 1), dt.date(2025, 6, 30),
              dt.date(2028, 2, 29)]
MONEY_POOL = ["0", "50", "100", "299.9999", "300", "300.0001", "5000", "1234.5678", "-20"]
RATIO_POOL = ["0", "0.03", "0.0333", "0.05", "0.5", "1"]
EMPLOYEE_POOL = [0, 9, 10, 11, 100, 300, 301]
MONEY_FIELDS = register.MONEY_FIELDS
REGIONS = ["411602", "411602001", "411621", "411622101", "410102", "420100"]
REGION_RULES = ["41", "4116", "411602", "411602001", "4101", "42"]
INDUSTRIES = ["C", "F", "13", "33", "3311", "65", "651", "7010", "70", "01", "I"]
INDUSTRY_RULES = ["C", "F", "I", "K", "33", "331", "3311", "65", "70", "701", "01"]
TAGS = ["gazelle", "export", "green"]
CERTS = ["high_tech", "tech_sme", "little_giant"]


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # Feb 29 in a common year
        return day.replace(year=day.year - years, day=28)


def dates_near(as_of: dt.date) -> st.SearchStrategy:
    """Dates on the edges of conditions evaluated on ``as_of``: a few days around it, whole years before
    it (± 1 day, Feb 29 included), fixed leap-day dates, and arbitrary dates."""
    near = st.integers(-1, 1).map(lambda k: as_of + dt.timedelta(days=k))
    return st.one_of(
        near, near,
        st.builds(lambda y, k: _years_before(as_of, y) + dt.timedelta(days=k), st.integers(-1, 5),
                  st.integers(-1, 1)),
        st.sampled_from([dt.date(2020, 2, 29), dt.date(2021, 2, 28), dt.date(2021, 3, 1), dt.date(2024, 2, 29)]),
        st.dates(dt.date(1990, 1, 1), dt.date(2031, 12, 31)))


money = st.one_of(st.none(), st.sampled_from(MONEY_POOL).map(Decimal),
                  st.decimals(min_value=-100, max_value=100000, places=4, allow_nan=False, allow_infinity=False))


@st.composite
def facts(draw, ident: int, as_of: dt.date) -> dict:
    dates = dates_near(as_of)
    f = {"id": ident, "status": draw(st.sampled_from(["active"] * 5 + ["cancelled", "suspended"])),
         "employees": draw(st.one_of(st.none(), st.sampled_from(EMPLOYEE_POOL), st.integers(0, 5000))),
         "established_on": draw(st.one_of(st.none(), dates)),
         "region": draw(st.sampled_from(REGIONS)), "industry": draw(st.sampled_from(INDUSTRIES)),
         "tags": frozenset(draw(st.sets(st.sampled_from(TAGS)))),
         "certifications": draw(st.dictionaries(st.sampled_from(CERTS), st.tuples(
             st.one_of(st.none(), dates), st.one_of(st.none(), dates)), max_size=3)),
         "credit": tuple(draw(st.lists(st.tuples(st.sampled_from(register.CREDIT_KINDS), dates,
                                                 st.one_of(st.none(), dates)), max_size=3)))}
    for name in MONEY_FIELDS:
        f[name] = draw(money)
    if f["rd_expense"] is not None and f["operating_revenue"] and draw(st.booleans()):
        # R&D exactly at a ratio threshold: rd = revenue × t (kept to 4 decimals)
        t = Decimal(draw(st.sampled_from(RATIO_POOL)))
        rd = f["operating_revenue"] * t
        if rd == rd.quantize(Decimal("0.0001")):
            f["rd_expense"] = rd
    for name, values in register.CHOICES.items():
        f[name] = draw(st.one_of(st.none(), st.just(""), st.sampled_from(values)))
    if f["legal_form"] is None:
        f["legal_form"] = ""
    return f


def _number_value(field: str):
    if field == "employees":
        return st.sampled_from(EMPLOYEE_POOL + [10.5])
    if field == "rd_ratio":
        return st.sampled_from([float(x) for x in RATIO_POOL])
    if field == "age_years":
        return st.integers(-1, 6)
    return st.sampled_from([float(x) for x in MONEY_POOL] + [100.5])


@st.composite
def condition(draw, as_of: dt.date) -> dict:
    field = draw(st.sampled_from(list(rules.FIELDS)))
    kind = rules.FIELDS[field].kind
    op = draw(st.sampled_from(rules.KIND_OPS[kind]))
    if kind in ("number", "ratio", "age"):
        value = _number_value(field)
        if op == "between":
            low, high = sorted([draw(value), draw(value)])
            return {"field": field, "op": op, "value": [low, high]}
        if kind == "number" and field != "employees" and draw(st.integers(0, 4)) == 0:
            return {"field": field, "op": op, "param": "门槛"}
        return {"field": field, "op": op, "value": draw(value)}
    if kind == "date":
        iso = dates_near(as_of).map(dt.date.isoformat)
        if op == "between":
            return {"field": field, "op": op, "value": sorted([draw(iso), draw(iso)])}
        return {"field": field, "op": op, "value": draw(iso)}
    if kind == "flag":
        return {"field": field, "op": op, "value": draw(st.booleans())}
    pool = {"region": REGION_RULES, "industry": INDUSTRY_RULES, "tag": TAGS, "certification": CERTS}.get(kind)
    pool = pool or [c for c, _ in rules.FIELDS[field].choices]
    if op in ("in", "not_in"):
        return {"field": field, "op": op, "value": draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))}
    return {"field": field, "op": op, "value": draw(st.sampled_from(pool))}


def rule_trees(as_of: dt.date) -> st.SearchStrategy:
    return st.recursive(
        condition(as_of),
        lambda children: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(children, min_size=1, max_size=4)),
            st.builds(lambda xs: {"any": xs}, st.lists(children, min_size=1, max_size=4)),
            st.builds(lambda x: {"not": x}, children)),
        max_leaves=8)


PARAMS = st.builds(lambda a, b, day: {"门槛": [{"from": None, "value": a}, {"from": day, "value": b}]},
                   st.sampled_from([100, 300, 300.0001]), st.sampled_from([50, 300, 5000]),
                   st.sampled_from(["2025-01-01", "2025-03-01", "2028-02-29"]))


AS_OF = st.one_of(st.sampled_from(AS_OF_POOL), st.sampled_from([dt.date(2024, 2, 29), dt.date(2028, 2, 29)]), st.dates(dt.date(2000, 1, 1), dt.date(2035, 12, 31)))


@st.composite
def registers(draw, as_of: dt.date) -> list[dict]:
    n = draw(st.integers(1, 12))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True))
    return [draw(facts(i, as_of)) for i in ids]


@st.composite
def cases(draw, rules_count: int = 1):
    """(as_of, facts list, [rule, …], params): data and rules drawn around the same evaluation date."""
    as_of = draw(AS_OF)
    trees = st.one_of(st.just({}), rule_trees(as_of)) if rules_count == 1 else rule_trees(as_of)
    rule_list = [draw(trees) for _ in range(rules_count)]
    return as_of, draw(registers(as_of)), rule_list, draw(PARAMS)


def _statuses(match, reg) -> dict[int, str]:
    codes = match.status_of_rows()
    return {int(i): columnar.STATUSES[c].value for i, c in zip(reg.ids, codes)}


SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


@settings(max_examples=400, **SETTINGS)
@given(case=cases())
def test_row_and_columnar_statuses_agree(case):
    as_of, facts_list, (rule,), params = case
    compiled = rules.compile_rule(rule, params, as_of)
    reg = register.Register.from_facts(facts_list)
    got = _statuses(columnar.Matcher(reg, as_of, threads=1).match_one(compiled), reg)
    for f in facts_list:
        assert got[f["id"]] == row.evaluate(compiled, f).status.value, (f, rule)


@settings(max_examples=60, **SETTINGS)
@given(case=cases(rules_count=4))
def test_shared_atoms_across_items_give_the_same_statuses(case):
    as_of, facts_list, rule_list, params = case
    compiled = {i: rules.compile_rule(r, params, as_of) for i, r in enumerate(rule_list)}
    reg = register.Register.from_facts(facts_list)
    results = columnar.Matcher(reg, as_of, threads=2).match(compiled)
    for i, c in compiled.items():
        got = _statuses(results[i], reg)
        for f in facts_list:
            assert got[f["id"]] == row.evaluate(c, f).status.value


@settings(max_examples=80, **SETTINGS)
@given(facts_list=AS_OF.flatmap(registers))
def test_register_round_trips_facts(facts_list):
    reg = register.Register.from_facts(facts_list)
    by_id = {f["id"]: f for f in facts_list}
    for r in range(len(reg)):
        back = register.row_facts(reg, r)
        original = by_id[back["id"]]
        for key in ("employees", "established_on", "region", "industry", "tags", *MONEY_FIELDS):
            assert back[key] == original[key]
        assert back["certifications"] == original["certifications"]
        assert sorted(back["credit"], key=repr) == sorted(original["credit"], key=repr)
