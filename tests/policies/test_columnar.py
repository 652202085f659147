"""The columnar matcher: hand-checked semantics, edges (Feb 29, huge figures), breakdown, updates, id store."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import numpy as np
import pytest

from yingshang.policies.engine import columnar, register, rules, store

AS_OF = dt.date(2025, 6, 30)


def ent(ident: int, **kw) -> dict:
    facts = {"id": ident, "status": "active", "employees": 10, "established_on": dt.date(2015, 1, 1),
             "size": "small", "tax_credit_rating": "A", "taxpayer_kind": "general", "legal_form": "llc",
             "region": "411602", "industry": "3311", "tags": frozenset(), "certifications": {}, "credit": ()}
    facts.update({name: Decimal("100") for name in register.MONEY_FIELDS})
    facts.update(kw)
    return facts


def statuses(facts_list, rule, as_of=AS_OF, params=None) -> dict[int, str]:
    reg = register.Register.from_facts(facts_list)
    match = columnar.Matcher(reg, as_of).match_one(rules.compile_rule(rule, params, as_of))
    return {int(i): columnar.STATUSES[c].value for i, c in zip(reg.ids, match.status_of_rows())}


def test_money_thresholds_are_exact_at_four_decimals():
    rows = [ent(1, taxable_income=Decimal("300")), ent(2, taxable_income=Decimal("300.0001")),
            ent(3, taxable_income=None), ent(4, taxable_income=Decimal("299.9999"))]
    got = statuses(rows, {"field": "taxable_income", "op": "<=", "value": 300})
    assert got == {1: "eligible", 2: "near_miss", 3: "unknown", 4: "eligible"}
    got = statuses(rows, {"field": "taxable_income", "op": ">", "value": 299.99995})
    assert got == {1: "eligible", 2: "eligible", 3: "unknown", 4: "near_miss"}


def test_rd_ratio_is_exact_and_unknown_without_revenue():
    rows = [ent(1, rd_expense=Decimal("3"), operating_revenue=Decimal("100")),
            ent(2, rd_expense=Decimal("2.9999"), operating_revenue=Decimal("100")),
            ent(3, rd_expense=Decimal("5"), operating_revenue=Decimal("0")),
            ent(4, rd_expense=None),
            ent(5, rd_expense=Decimal("-3"), operating_revenue=Decimal("-100"))]
    got = statuses(rows, {"field": "rd_ratio", "op": ">=", "value": 0.03})
    assert got == {1: "eligible", 2: "near_miss", 3: "unknown", 4: "unknown", 5: "eligible"}


def test_rd_ratio_falls_back_to_exact_integers_when_int64_could_overflow():
    revenue = Decimal("10000000000000")  # 10^17 units; × the threshold's denominator 10^7 overflows int64
    rows = [ent(1, rd_expense=revenue * Decimal("0.1234567"), operating_revenue=revenue),
            ent(2, rd_expense=revenue * Decimal("0.1234567") - Decimal("0.0001"), operating_revenue=revenue)]
    got = statuses(rows, {"field": "rd_ratio", "op": ">=", "value": 0.1234567})
    assert got == {1: "eligible", 2: "near_miss"}  # a float ratio would round row 2 up to the threshold


def _age(established: dt.date, on: dt.date) -> int:
    return on.year - established.year - ((on.month, on.day) < (established.month, established.day))


@pytest.mark.parametrize("as_of", [dt.date(2024, 2, 29), dt.date(2025, 2, 28), dt.date(2025, 3, 1),
                                   dt.date(2028, 2, 29), dt.date(2025, 12, 31)])
def test_age_years_matches_whole_years_on_every_edge(as_of):
    """Every establishment date within two days of 0–5 anniversaries (and Feb 29s), every operator."""
    days = {as_of.replace(year=as_of.year - k, day=min(as_of.day, 28)) + dt.timedelta(days=d)
            for k in range(-1, 6) for d in range(-3, 4)} | {dt.date(2020, 2, 29), dt.date(2024, 2, 29)}
    rows = [ent(i, established_on=day) for i, day in enumerate(sorted(days), 1)]
    by_id = {f["id"]: f["established_on"] for f in rows}
    for op, k in itertools.product((">=", ">", "<=", "<", "==", "!="), range(-1, 6)):
        got = statuses(rows, {"field": "age_years", "op": op, "value": k}, as_of)
        for ident, day in by_id.items():
            holds = eval(f"{_age(day, as_of)} {op} {k}")
            assert got[ident] == ("eligible" if holds else "near_miss"), (op, k, day, as_of)


def test_certifications_and_credit_listings_on_their_boundary_days():
    rows = [ent(1, certifications={"high_tech": (AS_OF, AS_OF)}),
            ent(2, certifications={"high_tech": (None, AS_OF - dt.timedelta(days=1))}),
            ent(3, credit=(("serious_dishonest", AS_OF, None),)),
            ent(4, credit=(("serious_dishonest", dt.date(2020, 1, 1), AS_OF),))]
    assert statuses(rows, {"field": "certification", "op": "has", "value": "high_tech"}) == \
        {1: "eligible", 2: "near_miss", 3: "near_miss", 4: "near_miss"}
    assert statuses(rows, {"field": "serious_dishonest", "op": "==", "value": False}) == \
        {1: "eligible", 2: "eligible", 3: "near_miss", 4: "eligible"}


def test_near_miss_algebra_with_any_not_and_unknowns():
    rule = {"all": [{"field": "employees", "op": "<=", "value": 100},
                    {"any": [{"field": "size", "op": "==", "value": "micro"},
                             {"not": {"field": "tag", "op": "has", "value": "export"}}]},
                    {"field": "region", "op": "in", "value": ["4116"]}]}
    rows = [ent(1), ent(2, employees=500), ent(3, employees=500, region="410102"),
            ent(4, employees=None), ent(5, employees=None, region="410102"),
            ent(6, tags=frozenset({"export"})), ent(7, tags=frozenset({"export"}), size=None),
            ent(8, status="cancelled"), ent(9, tags=frozenset({"export"}), size=None, employees=500)]
    assert statuses(rows, rule) == {1: "eligible", 2: "near_miss", 3: "ineligible", 4: "unknown",
                                    5: "ineligible", 6: "near_miss", 7: "unknown", 8: "ineligible",
                                    9: "ineligible"}


def test_region_and_industry_prefixes_include_descendants():
    rows = [ent(1, region="411602001", industry="3311"), ent(2, region="411621", industry="C"),
            ent(3, region="410102", industry="6510"), ent(4, region="41160", industry="33")]
    assert statuses(rows, {"field": "region", "op": "in", "value": ["411602"]}) == \
        {1: "eligible", 2: "near_miss", 3: "near_miss", 4: "near_miss"}
    assert statuses(rows, {"field": "industry", "op": "in", "value": ["C"]}) == \
        {1: "eligible", 2: "eligible", 3: "near_miss", 4: "eligible"}
    assert statuses(rows, {"field": "industry", "op": "not_in", "value": ["331", "65"]}) == \
        {1: "near_miss", 2: "eligible", 3: "near_miss", 4: "eligible"}


def test_match_streams_results_and_shares_atoms():
    rows = [ent(i, employees=i) for i in range(1, 200)]
    reg = register.Register.from_facts(rows)
    compiled = {k: rules.compile_rule({"all": [{"field": "employees", "op": "<=", "value": k},
                                               {"field": "size", "op": "==", "value": "small"}]}, None, AS_OF)
                for k in (10, 50, 100)}
    seen = {}
    matcher = columnar.Matcher(reg, AS_OF)
    counts = matcher.match(compiled, on_result=lambda item, result: seen.setdefault(item, result.ids("eligible")))
    assert matcher.distinct_atoms == 4
    assert {k: v.tolist() for k, v in seen.items()} == {k: list(range(1, k + 1)) for k in (10, 50, 100)}
    assert counts[50] == {"eligible": 50, "near_miss": 149, "unknown": 0, "ineligible": 0}


def test_empty_rule_makes_every_active_enterprise_eligible():
    got = statuses([ent(1), ent(2, status="revoked"), ent(3, size=None)], {})
    assert got == {1: "eligible", 2: "ineligible", 3: "eligible"}


def test_breakdown_counts_by_county_size_and_section():
    rows = [ent(1, region="411602001", size="micro"), ent(2, region="411602", industry="6510", employees=500),
            ent(3, region="411621", size=None, industry="F"), ent(4, region="411621", status="cancelled")]
    reg = register.Register.from_facts(rows)
    match = columnar.Matcher(reg, AS_OF).match_one(
        rules.compile_rule({"field": "employees", "op": "<", "value": 100}, None, AS_OF))
    out = match.breakdown(reg)
    assert out["county"]["411602"] == {"eligible": 1, "near_miss": 1, "unknown": 0, "ineligible": 0}
    assert out["county"]["411621"] == {"eligible": 1, "near_miss": 0, "unknown": 0, "ineligible": 1}
    assert out["size"]["micro"]["eligible"] == 1 and out["size"][""]["eligible"] == 1
    assert out["section"]["I"] == {"eligible": 0, "near_miss": 1, "unknown": 0, "ineligible": 0}
    assert out["section"]["C"]["eligible"] == 1 and out["section"]["C"]["ineligible"] == 1


def test_register_update_replaces_and_appends_rows_by_id():
    old = register.Register.from_facts([ent(5, tags=frozenset({"a"})), ent(9, certifications={"x": (None, None)}),
                                        ent(2, region="410102")])
    new = old.updated(register.Register.from_facts([ent(9, employees=77, region="419001"), ent(7, tags=frozenset({"a"}))]))
    assert new.ids.tolist() == [2, 5, 7, 9]
    facts = {f["id"]: f for f in (register.row_facts(new, r) for r in range(len(new)))}
    assert facts[9]["employees"] == 77 and facts[9]["region"] == "419001" and facts[9]["certifications"] == {}
    assert facts[2]["region"] == "410102" and facts[5]["tags"] == {"a"} and facts[7]["tags"] == {"a"}


@pytest.mark.parametrize("ids", [[], [1], [3, 1, 2, 2], list(range(10**6, 10**6 + 5000, 3)),
                                 [-5, 0, 2**62, 2**63 - 1]])
def test_id_store_round_trips(ids):
    packed = store.pack_ids(ids)
    assert store.unpack_ids(packed).tolist() == sorted(set(ids))
    assert store.unpack_ids(packed).dtype == np.int64


def test_id_store_compresses_dense_sets():
    ids = np.arange(1, 1_000_001, 2)
    assert len(store.pack_ids(ids)) < len(ids) // 50
