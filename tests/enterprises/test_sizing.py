"""Enterprise size against the table of 统计上大中小微型企业划分办法(2017) as written in DOMAIN.md §3.

The expected values come from the table below (copied from the standard), not from the code: at each
lower bound an indicator reaches its tier, one unit below it falls to the next tier; the size is the
lowest tier any listed indicator reaches; missing data → unknown, unless a known indicator is below 小.
"""
from decimal import Decimal
from itertools import product

import pytest

from yingshang.enterprises.models import Enterprise

TIERS = ["large", "medium", "small", "micro"]
# (row, GB/T 4754 codes governed by it, {indicator: (大, 中, 小) lower bounds}) — DOMAIN.md §3.
TABLE = [
    ("农、林、牧、渔业", ["01", "02", "03", "04", "05", "A"], {"Y": (20000, 500, 50)}),
    ("工业", ["06", "13", "33", "44", "46", "B", "C", "D"], {"X": (1000, 300, 20), "Y": (40000, 2000, 300)}),
    ("建筑业", ["47", "48", "50", "E"], {"Y": (80000, 6000, 300), "Z": (80000, 5000, 300)}),
    ("批发业", ["51", "511"], {"X": (200, 20, 5), "Y": (40000, 5000, 1000)}),
    ("零售业", ["52", "5211"], {"X": (300, 50, 10), "Y": (20000, 500, 100)}),
    ("交通运输业", ["54", "55", "56", "57", "58"], {"X": (1000, 300, 20), "Y": (30000, 3000, 200)}),
    ("仓储业", ["59"], {"X": (200, 100, 20), "Y": (30000, 1000, 100)}),
    ("邮政业", ["60"], {"X": (1000, 300, 20), "Y": (30000, 2000, 100)}),
    ("住宿业、餐饮业", ["61", "62"], {"X": (300, 100, 10), "Y": (10000, 2000, 100)}),
    ("信息传输业", ["63", "64"], {"X": (2000, 100, 10), "Y": (100000, 1000, 100)}),
    ("软件和信息技术服务业", ["65", "6513"], {"X": (300, 100, 10), "Y": (10000, 1000, 50)}),
    ("房地产开发经营", ["7010", "701"], {"Y": (200000, 1000, 100), "Z": (10000, 5000, 2000)}),
    ("物业管理", ["702", "7020"], {"X": (1000, 300, 100), "Y": (5000, 1000, 500)}),
    ("租赁和商务服务业", ["71", "72", "L"], {"X": (300, 100, 10), "Z": (120000, 8000, 100)}),
    ("其他未列明行业", ["73", "77", "80", "85", "86", "703", "7030", "709", "M", "N", "O", "R"], {"X": (300, 100, 10)}),
]
# Outside the standard, which covers 15 sections and division 85 社会工作 (办法第二条): 金融业 (J), 教育 (P),
# 卫生 (84), 铁路运输业 (53), 自有房地产经营活动 (704, excluded by the standard's note on 其他未列明行业),
# 公共管理 (S), 国际组织 (T); a bare "Q" cannot tell 84 from 85.
OUT_OF_SCOPE = ["J", "66", "67", "P", "83", "84", "8411", "Q", "53", "704", "7040", "S", "92", "T", "97"]
FIELD = {"X": "employees", "Y": "operating_revenue", "Z": "total_assets"}
ONE_UNIT = {"X": 1, "Y": Decimal("0.0001"), "Z": Decimal("0.0001")}


def size_of(code: str, values: dict) -> str | None:
    ent = Enterprise(industry_code=code, **{FIELD[k]: v for k, v in values.items()})
    ent.derive()
    return ent.size


def at_tier(bounds, tier: int, indicator: str):
    """A value reaching exactly the lower bound of ``tier`` (micro: one unit below 小)."""
    return bounds[tier] if tier < 3 else bounds[2] - ONE_UNIT[indicator]


BOUNDARY_CASES = [(name, codes[0], ind, tier) for name, codes, spec in TABLE for ind in spec for tier in range(3)]


@pytest.mark.parametrize("row,code,indicator,tier", BOUNDARY_CASES)
def test_each_bound_of_each_indicator(row, code, indicator, tier):
    spec = dict(next(s for n, _, s in TABLE if n == row))
    others = {k: b[0] for k, b in spec.items() if k != indicator}  # other indicators at 大
    bound = spec[indicator][tier]
    assert size_of(code, {**others, indicator: bound}) == TIERS[tier]
    assert size_of(code, {**others, indicator: bound - ONE_UNIT[indicator]}) == TIERS[tier + 1]


@pytest.mark.parametrize("row,codes,spec", TABLE, ids=[r[0] for r in TABLE])
def test_every_code_of_a_row_uses_that_row(row, codes, spec):
    for code in codes:
        for tier in range(4):
            values = {k: at_tier(b, tier, k) for k, b in spec.items()}
            assert size_of(code, values) == TIERS[tier], (code, tier)


@pytest.mark.parametrize("row,codes,spec", [r for r in TABLE if len(r[2]) == 2], ids=lambda r: str(r)[:12])
def test_mixed_tiers_give_the_lowest(row, codes, spec):
    (a, bounds_a), (b, bounds_b) = spec.items()
    for ta, tb in product(range(4), repeat=2):
        values = {a: at_tier(bounds_a, ta, a), b: at_tier(bounds_b, tb, b)}
        assert size_of(codes[0], values) == TIERS[max(ta, tb)], (ta, tb)


@pytest.mark.parametrize("row,codes,spec", TABLE, ids=[r[0] for r in TABLE])
def test_missing_data_is_unknown_unless_one_known_indicator_is_below_small(row, codes, spec):
    assert size_of(codes[0], {}) is None
    for missing in spec:
        present = {k: b for k, b in spec.items() if k != missing}
        if not present:
            continue
        assert size_of(codes[0], {k: b[0] for k, b in present.items()}) is None  # others 大, one missing
        assert size_of(codes[0], {k: b[2] for k, b in present.items()}) is None  # others at 小
        below = {k: b[2] - ONE_UNIT[k] for k, b in present.items()}
        assert size_of(codes[0], below) == "micro"  # 微 needs only one indicator below 小


@pytest.mark.parametrize("code", OUT_OF_SCOPE)
def test_out_of_scope_industries_are_unknown(code):
    assert size_of(code, {"X": 5, "Y": 10, "Z": 10}) is None
    assert size_of(code, {"X": 100000, "Y": 10**7, "Z": 10**7}) is None


@pytest.mark.parametrize("code", ["F", "G", "K", "70"])
def test_codes_too_coarse_for_the_table_are_unknown(code):
    """Sections/divisions split across rows (批发/零售; 交通/仓储/邮政; 房地产) cannot decide a row."""
    assert size_of(code, {"X": 5, "Y": 10, "Z": 10}) is None
