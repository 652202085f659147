"""``yingshang bench matching [--enterprises N] [--items M] [--seed S] [--sample K] [--threads T]``.

Generates N enterprises as NumPy columns (Henan counties 41xxxx, industries weighted like a real
register, sizes, figures with ~10 % missing, tags, certifications, credit listings) and M items with
3–8 conditions drawn from realistic pools (so atoms repeat across items as in real policies), then times:

- ``full_s``: compile every rule and match all items over all enterprises with near-miss/unknown counts;
- ``one_item_s``: one new item over all enterprises on a fresh Matcher (median of several items);
- ``one_enterprise_ms``: one enterprise against all items with explanations (``row.evaluate``), median;
- the BASELINE: ``naive_status`` below, a plain-Python interpreter of the JSON rules (no compilation,
  no caching), row by row on a sample of K enterprises, extrapolated to N×M.

Baseline and engine statuses are compared on the sample (``mismatches`` must be 0). The last line is JSON.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import statistics
import time
from decimal import Decimal

import numpy as np

from yingshang.policies.engine.register import (CHOICES, CREDIT_KINDS, OPEN_FROM, OPEN_TO, Dated,
                                                Register, row_facts)

AS_OF = dt.date(2025, 6, 30)
TAGS = ("gazelle", "unicorn_seed", "export", "foreign_trade", "returnee", "women_led", "veteran_led", "green",
        "digital", "agri_leader", "time_honored", "platform", "incubated", "listed_reserve", "rural")
CERT_KINDS = ("high_tech", "tech_sme", "innovative_sme", "specialized_sme", "little_giant", "above_scale")
# Share of each section among enterprises (roughly a prefecture-level register) and its divisions.
SECTIONS = {"A": (0.06, range(1, 6)), "B": (0.005, range(6, 13)), "C": (0.18, range(13, 44)),
            "D": (0.01, range(44, 47)), "E": (0.07, range(47, 51)), "F": (0.30, range(51, 53)),
            "G": (0.04, range(53, 61)), "H": (0.07, range(61, 63)), "I": (0.05, range(63, 66)),
            "K": (0.02, range(70, 71)), "L": (0.08, range(71, 73)), "M": (0.05, range(73, 76)),
            "O": (0.045, range(80, 83)), "R": (0.02, range(86, 91))}


# ---------------------------------------------------------------- the register
def henan_regions(rng: np.random.Generator) -> list[str]:
    """County codes of 18 Henan cities (4101–4117, 4190) and some street codes under them."""
    counties = []
    for city in [f"41{c:02d}" for c in range(1, 18)] + ["4190"]:
        districts = [f"{city}{d:02d}" for d in range(2, 2 + int(rng.integers(3, 7)))]
        rural = [f"{city}{d:02d}" for d in range(21, 21 + int(rng.integers(3, 9)))]
        counties += districts + rural
    streets = [f"{c}{s:03d}" for c in counties for s in range(1, int(rng.integers(2, 12)))]
    return counties + streets


def _industry_codes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    names = list(SECTIONS)
    share = np.array([SECTIONS[s][0] for s in names])
    section = rng.choice(len(names), size=n, p=share / share.sum())
    codes = []
    for i, s in enumerate(names):
        for d in SECTIONS[s][1]:
            codes += [f"{d:02d}", f"{d:02d}{1 + d % 9}", f"{d:02d}{1 + d % 9}{d % 7}"]
    dictionary = tuple(sorted(set(codes) | set(names)))
    pos = {c: i for i, c in enumerate(dictionary)}
    per_section = [[pos[c] for c in dictionary if not c.isalpha() and int(c[:2]) in SECTIONS[s][1]] + [pos[s]]
                   for s in names]
    pick = rng.random(n)
    out = np.empty(n, dtype=np.int32)
    for i, options in enumerate(per_section):
        rows = np.flatnonzero(section == i)
        out[rows] = np.asarray(options, dtype=np.int32)[(pick[rows] * len(options)).astype(np.int64)]
    return out, dictionary


def _money(rng: np.random.Generator, n: int, median_wan: float, sigma: float, missing: float):
    """Lognormal figures in 万元 as exact units of 0.0001 万元, with a share missing and some exact round values."""
    wan = rng.lognormal(np.log(median_wan), sigma, n)
    units = np.round(wan * 10_000).astype(np.int64)
    round_rows = rng.random(n) < 0.2  # many registers hold whole 万元 figures: thresholds get hit exactly
    units[round_rows] = np.round(wan[round_rows]).astype(np.int64) * 10_000
    null = rng.random(n) < missing
    units[null] = 0
    return units, null


def _dated(rng: np.random.Generator, n: int, share: float, as_of: int, open_share: float) -> Dated:
    rows = np.flatnonzero(rng.random(n) < share).astype(np.int32)
    start = (as_of - rng.integers(-200, 2200, len(rows))).astype(np.int32)
    end = (start + rng.integers(300, 1500, len(rows))).astype(np.int32)
    end[rng.random(len(rows)) < open_share] = OPEN_TO
    return Dated(rows, start, end)


def generate_register(n: int, seed: int = 1) -> Register:
    """N synthetic enterprises (ids 1…N with gaps) as a Register, straight from arrays."""
    rng = np.random.default_rng(seed)
    as_of = AS_OF.toordinal()
    regions = henan_regions(rng)
    region_dict = tuple(sorted(regions))
    weights = rng.pareto(1.2, len(region_dict)) + 1
    region = rng.choice(len(region_dict), size=n, p=weights / weights.sum()).astype(np.int32)
    industry, industry_dict = _industry_codes(rng, n)
    money, money_null = {}, {}
    for name, median, sigma in (("registered_capital", 100, 1.6), ("operating_revenue", 300, 2.0),
                                ("total_assets", 400, 1.9), ("rd_expense", 8, 1.8), ("taxable_income", 30, 1.8)):
        money[name], money_null[name] = _money(rng, n, median, sigma, 0.10)
    no_rd = rng.random(n) < 0.4  # many enterprises report zero R&D
    money["rd_expense"][no_rd & ~money_null["rd_expense"]] = 0
    money["operating_revenue"][rng.random(n) < 0.02] = 0  # zero revenue: rd_ratio unknown
    employees = np.round(rng.lognormal(np.log(12), 1.4, n)).astype(np.int64)
    established = (as_of - rng.integers(0, 35 * 365, n)).astype(np.int32)
    leap = rng.random(n) < 0.002
    established[leap] = dt.date(2016, 2, 29).toordinal() - 4 * 365 * rng.integers(0, 5, int(leap.sum()))
    choices = {}
    for name, p in (("size", (0.01, 0.06, 0.2, 0.70)), ("tax_credit_rating", (0.3, 0.4, 0.15, 0.05, 0.02)),
                    ("taxpayer_kind", (0.35, 0.57)), ("legal_form", (0.6, 0.05, 0.05, 0.03, 0.03, 0.2, 0.01,
                                                                        0.005, 0.005, 0.01, 0.01))):
        probs = np.array((max(0.0, 1 - sum(p)),) + p)
        choices[name] = rng.choice(len(probs), size=n, p=probs / probs.sum()).astype(np.uint8)
    tags = {code: np.flatnonzero(rng.random(n) < share).astype(np.int32)
            for code, share in zip(TAGS, np.geomspace(0.2, 0.003, len(TAGS)))}
    certs = {kind: _dated(rng, n, share, as_of, 0.1)
             for kind, share in zip(CERT_KINDS, (0.02, 0.04, 0.03, 0.01, 0.001, 0.05))}
    credit = {kind: _dated(rng, n, share, as_of, 0.5) for kind, share in zip(CREDIT_KINDS, (0.01, 0.03))}
    for d in certs.values():
        d.start[rng.random(len(d.rows)) < 0.1] = OPEN_FROM
    ids = np.cumsum(rng.integers(1, 3, n)).astype(np.int64)
    return Register.from_arrays(
        ids=ids, active=rng.random(n) < 0.93, money=money, money_null=money_null,
        employees=employees, employees_null=rng.random(n) < 0.10,
        established=established, established_null=rng.random(n) < 0.05, choices=choices,
        region=region, region_dict=region_dict, industry=industry, industry_dict=industry_dict,
        tags=tags, certifications=certs, credit=credit)


# ---------------------------------------------------------------- the items
def _condition(rng: random.Random, regions: list[str]) -> dict:
    """One condition of a realistic kind; values come from small pools so that atoms repeat across items."""
    kind = rng.choices(range(15), weights=(10, 8, 6, 8, 8, 4, 6, 5, 6, 4, 5, 6, 3, 4, 4))[0]
    pick = rng.choice
    if kind == 0:
        return {"field": "size", "op": "in", "value": pick([["small", "micro"], ["medium", "small", "micro"],
                                                            ["micro"], ["large", "medium"]])}
    if kind == 1:
        return {"field": "industry", "op": pick(["in", "in", "not_in"]),
                "value": pick([["C"], ["C", "I"], ["I", "M"], ["A"], ["65"], ["39", "40"], ["K"], ["F", "H"]])}
    if kind == 2:
        return {"field": "employees", "op": pick(["<=", "<=", ">="]), "value": pick([10, 20, 50, 100, 300, 1000])}
    if kind == 3:
        if rng.random() < 0.2:
            return {"field": "operating_revenue", "op": "between", "value": pick([[100, 5000], [500, 20000]])}
        return {"field": "operating_revenue", "op": pick([">=", "<="]), "value": pick([100, 500, 1000, 2000, 5000])}
    if kind == 4:
        return {"field": "rd_ratio", "op": ">=", "value": pick([0.03, 0.04, 0.05, 0.06])}
    if kind == 5:
        return {"field": pick(["total_assets", "taxable_income"]), "op": "<=", "value": pick([300, 5000])}
    if kind == 6:
        return {"field": "age_years", "op": pick([">=", "<=", ">="]), "value": pick([1, 2, 3, 5, 10])}
    if kind == 7:
        return {"field": "tax_credit_rating", "op": "in", "value": pick([["A"], ["A", "B"], ["A", "B", "M"]])}
    if kind == 8:
        if rng.random() < 0.2:
            return {"field": "certification", "op": "in", "value": ["specialized_sme", "little_giant"]}
        return {"field": "certification", "op": pick(["has"] * 9 + ["not_has"]), "value": pick(CERT_KINDS[:5])}
    if kind == 9:
        return {"field": "tag", "op": pick(["has", "not_has"]), "value": pick(TAGS[:8])}
    if kind == 10:
        return pick([{"field": "serious_dishonest", "op": "==", "value": False},
                     {"not": {"field": "abnormal_operation", "op": "==", "value": True}}])
    if kind == 11:
        return {"field": "region", "op": "in", "value": [pick(regions)]}
    if kind == 12:
        return {"any": [{"field": "certification", "op": "has", "value": "high_tech"},
                        {"field": "certification", "op": "has", "value": pick(["tech_sme", "specialized_sme"])}]}
    if kind == 13:
        return {"any": [{"field": "employees", "op": "<=", "value": pick([100, 300])},
                        {"all": [{"field": "operating_revenue", "op": "<=", "value": pick([2000, 5000])},
                                 {"not": {"field": "size", "op": "==", "value": "large"}}]}]}
    return pick([{"field": "taxpayer_kind", "op": "==", "value": "small_scale"},
                 {"field": "rd_expense", "op": ">=", "value": pick([50, 100, 500])},
                 {"field": "established_on", "op": ">=", "value": pick(["2015-01-01", "2020-02-29"])}])


def generate_items(m: int, seed: int = 1) -> dict[int, tuple[dict, dict]]:
    """M items: {item_id: (rule, params)}; a quarter use a parameter whose value changes on a date."""
    rng = random.Random(seed)
    regions = [f"41{c:02d}" for c in range(1, 18)] + ["41"] * 6 + ["411602", "411621", "410102", "4190"]
    items = {}
    for item_id in range(1, m + 1):
        conds = [_condition(rng, regions) for _ in range(rng.randint(3, 8))]
        params = {}
        if rng.random() < 0.25:
            params = {"收入门槛": [{"from": None, "value": rng.choice([500, 1000])},
                                {"from": "2025-01-01", "value": rng.choice([1000, 2000])}]}
            conds.append({"field": "operating_revenue", "op": ">=", "param": "收入门槛"})
        items[item_id] = ({"all": conds}, params)
    return items


# ---------------------------------------------------------------- the baseline (naive, labelled)
def naive_status(rule: dict, params: dict, facts: dict, as_of: dt.date) -> str:
    """BASELINE: interpret the JSON rule for one enterprise, from scratch, with no compilation or caching."""
    if facts["status"] != "active":
        return "ineligible"
    if not rule:
        return "eligible"
    truth, one_away = _naive(rule, params, facts, as_of, False)
    return {True: "eligible", None: "unknown"}[truth] if truth is not False else (
        "near_miss" if one_away else "ineligible")


def _naive(rule, params, facts, as_of, negated):
    """(truth True/False/None, one_away) of a JSON node, ``not`` applied on the way down."""
    if "not" in rule:
        return _naive(rule["not"], params, facts, as_of, not negated)
    if "field" in rule:
        truth = _naive_condition(rule, params, facts, as_of)
        if negated and truth is not None:
            truth = not truth
        return truth, truth is False
    kind = "all" if "all" in rule else "any"
    if negated:
        kind = "any" if kind == "all" else "all"
    results = [_naive(c, params, facts, as_of, negated) for c in rule[kind]]
    truths = [t for t, _ in results]
    if kind == "all":
        truth = False if False in truths else (None if None in truths else True)
        ones = [o for t, o in results if t is not True]
        return truth, truth is False and len(ones) == 1 and ones[0] and None not in truths
    truth = True if True in truths else (None if None in truths else False)
    return truth, truth is False and any(o for _, o in results)


def _naive_value(rule, params, as_of):
    if "value" in rule:
        return rule["value"]
    entries = [e for e in params[rule["param"]] if e["from"] is None or e["from"] <= as_of.isoformat()]
    return entries[-1]["value"]


def _naive_condition(rule, params, facts, as_of):
    field, op, value = rule["field"], rule["op"], _naive_value(rule, params, as_of)
    if field in ("region", "industry"):
        code = facts[field]
        codes = value if isinstance(value, list) else [value]
        from yingshang.policies.engine.register import industry_section
        hit = any(code.startswith(c) if not c.isalpha() else industry_section(code) == c for c in codes)
        return hit if op == "in" else not hit
    if field in ("tag", "certification"):
        held = facts["tags"] if field == "tag" else {k for k, (a, b) in facts["certifications"].items()
                                                      if (a is None or a <= as_of) and (b is None or as_of <= b)}
        codes = value if isinstance(value, list) else [value]
        hit = any(c in held for c in codes)
        return hit if op in ("has", "in") else not hit
    if field in CREDIT_KINDS:
        listed = any(k == field and a <= as_of and (b is None or as_of < b) for k, a, b in facts["credit"])
        return listed == value
    actual = _naive_actual(field, facts, as_of)
    if actual is None:
        return None
    if field in CHOICES:
        codes = value if isinstance(value, list) else [value]
        return (actual in codes) == (op in ("==", "in"))
    conv = (lambda v: dt.date.fromisoformat(v)) if field == "established_on" else (lambda v: Decimal(str(v)))
    if op == "between":
        return conv(value[0]) <= actual <= conv(value[1])
    v = conv(value)
    return {">=": actual >= v, "<=": actual <= v, ">": actual > v, "<": actual < v, "==": actual == v,
            "!=": actual != v}[op]


def _naive_actual(field, facts, as_of):
    if field == "rd_ratio":
        rd, rev = facts["rd_expense"], facts["operating_revenue"]
        return None if rd is None or not rev else rd / rev
    if field == "age_years":
        e = facts["established_on"]
        return None if e is None else max(0, as_of.year - e.year - ((as_of.month, as_of.day) < (e.month, e.day)))
    return facts[field]


# ---------------------------------------------------------------- timing
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _parse(argv):
    p = argparse.ArgumentParser(prog="yingshang bench matching", description="政策匹配引擎性能基准")
    p.add_argument("--enterprises", type=int, default=1_000_000)
    p.add_argument("--items", type=int, default=1_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sample", type=int, default=200, help="基线逐户计算的抽样企业数")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=7, help="单项/单企业计时的重复次数(取中位数)")
    return p.parse_args(argv)


def _time_one_item(reg, items, args) -> float:
    from yingshang.policies.engine import columnar, rules

    extra = generate_items(args.repeat, seed=args.seed + 99)
    times = []
    for rule, params in extra.values():
        t0 = time.perf_counter()
        matcher = columnar.Matcher(reg, AS_OF, threads=args.threads)
        matcher.match_one(rules.compile_rule(rule, params, AS_OF)).counts
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _time_one_enterprise(reg, compiled, args) -> float:
    """Median ms to evaluate one enterprise against every item and build the sentences of the items the
    calculator shows (eligible, near-miss, unknown: every condition's explanation)."""
    from yingshang.policies.engine import row

    rng = np.random.default_rng(args.seed + 7)
    times = []
    for r in rng.integers(0, len(reg), args.repeat).tolist():
        facts = row_facts(reg, r)
        t0 = time.perf_counter()
        evaluations = row.evaluate_many(compiled, facts)
        shown = [[c.sentence for c in ev.conditions] for ev in evaluations.values() if ev.status.value != "ineligible"]
        times.append(time.perf_counter() - t0)
        del shown
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from yingshang.policies.engine import columnar, rules

    t0 = time.perf_counter()
    reg = generate_register(args.enterprises, args.seed)
    items = generate_items(args.items, args.seed)
    gen_s = time.perf_counter() - t0
    print(f"generated {len(reg):,} enterprises and {len(items):,} items in {gen_s:.1f} s")

    rows = np.random.default_rng(args.seed + 3).choice(len(reg), size=min(args.sample, len(reg)), replace=False)
    totals = {"eligible": 0, "near_miss": 0, "unknown": 0}
    codes: list[dict[int, str]] = []

    def keep(item_id, result):  # streamed: only the counts and the sample rows' statuses are kept
        for k in totals:
            totals[k] += result.counts[k]
        codes.append(_sample_statuses(result, rows))

    t0 = time.perf_counter()
    compiled = {i: rules.compile_rule(rule, params, AS_OF) for i, (rule, params) in items.items()}
    matcher = columnar.Matcher(reg, AS_OF, threads=args.threads)
    matcher.match(compiled, on_result=keep)
    full_s = time.perf_counter() - t0
    print(f"full match: {full_s:.3f} s ({matcher.distinct_atoms} distinct atoms); pairs eligible "
          f"{totals['eligible']:,}, near-miss {totals['near_miss']:,}, unknown {totals['unknown']:,}")
    distinct_atoms = matcher.distinct_atoms
    del matcher
    one_item_s = _time_one_item(reg, items, args)
    print(f"one new item over all enterprises (fresh matcher): {one_item_s * 1000:.1f} ms (median)")
    one_ent_ms = _time_one_enterprise(reg, compiled, args)
    print(f"one enterprise against all items with explanations: {one_ent_ms:.2f} ms (median)")
    per_pair, mismatches = _baseline_on(reg, items, codes, rows)
    baseline_s = per_pair * len(reg) * len(items)
    print(f"baseline (naive JSON interpreter, {len(rows)} rows × {len(items)} items): "
          f"{per_pair * 1e6:.1f} µs per pair → {baseline_s:,.0f} s extrapolated; disagreements: {mismatches}")
    peak = _peak_mb()
    print(f"peak RSS: {peak:.0f} MB")
    print(json.dumps({"N": len(reg), "M": len(items), "distinct_atoms": distinct_atoms,
                      "full_s": round(full_s, 3), "one_item_s": round(one_item_s, 4),
                      "one_enterprise_ms": round(one_ent_ms, 3),
                      "peak_rss_mb": round(peak, 1), "baseline_full_s_extrapolated": round(baseline_s, 1),
                      "speedup": round(baseline_s / full_s, 1), "baseline_sample_rows": len(rows),
                      "mismatches": mismatches, "threads": args.threads, "generate_s": round(gen_s, 2)}))
    return 1 if mismatches else 0


def _sample_statuses(result, rows: np.ndarray) -> dict[int, str]:
    out = {}
    for status in ("eligible", "near_miss", "unknown"):
        bits = getattr(result, status)
        hit = (bits[rows >> 6] >> (rows & 63).astype(np.uint64)) & np.uint64(1)
        for r in rows[hit.astype(bool)].tolist():
            out[r] = status
    return out


def _baseline_on(reg, items, codes, rows) -> tuple[float, int]:
    facts = [row_facts(reg, int(r)) for r in rows]
    t0 = time.perf_counter()
    got = [[naive_status(rule, params, f, AS_OF) for rule, params in items.values()] for f in facts]
    per_pair = (time.perf_counter() - t0) / max(1, len(facts) * len(items))
    mismatches = sum(got[i][j] != codes[j].get(int(r), "ineligible")
                     for i, r in enumerate(rows.tolist()) for j in range(len(items)))
    return per_pair, mismatches
