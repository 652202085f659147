"""Synthetic text columns: company names, person names, phone numbers, addresses."""
from __future__ import annotations

import numpy as np

from yingshang.seeding import names

TRADE = tuple(dict.fromkeys(names.TRADE_CHARS))
GIVEN = tuple(dict.fromkeys(names.GIVEN_CHARS))
_SURNAMES = tuple(s for s, _ in names.SURNAMES)
_SURNAME_P = np.array([w for _, w in names.SURNAMES], dtype=float) / sum(w for _, w in names.SURNAMES)

# Endings that already make a shop name complete (个体工商户 names end in 店/馆/行/部/场 …).
_SHOP_COMPLETE = ("超市", "百货", "大药房", "商行", "加油站", "饭店")
_SHOP_SUFFIX = {"养殖": "场", "牧业": "场", "种植": "园", "农业": "场", "蔬菜种植": "园", "禽业": "场"}


def trade_names(rng: np.random.Generator, n: int, length: int = 2) -> list[str]:
    """``n`` 字号 of ``length`` characters."""
    picks = rng.integers(0, len(TRADE), size=(n, length))
    return ["".join(TRADE[i] for i in row) for row in picks.tolist()]


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` person names: a frequency-weighted surname and one or two given-name characters."""
    surnames = rng.choice(len(_SURNAMES), size=n, p=_SURNAME_P).tolist()
    first = rng.integers(0, len(GIVEN), size=n).tolist()
    second = rng.integers(-len(GIVEN) // 2, len(GIVEN), size=n).tolist()  # negative → single character
    return [_SURNAMES[s] + GIVEN[a] + (GIVEN[b] if b >= 0 else "") for s, a, b in zip(surnames, first, second)]


def mobile_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` mobile numbers 1[3-9]xxxxxxxxx with real operator prefixes and random subscriber digits."""
    prefixes = rng.integers(0, len(names.MOBILE_PREFIXES), size=n).tolist()
    rest = rng.integers(0, 10**8, size=n).tolist()
    return [f"{names.MOBILE_PREFIXES[p]}{r:08d}" for p, r in zip(prefixes, rest)]


def county_stem(name: str) -> str:
    """扶沟县 → 扶沟, 项城市 → 项城; one-character stems (浚县) keep their suffix."""
    return name[:-1] if len(name) > 2 and name[-1] in "县区市" else name


def company_name(form: str, prefix: str, city: str, county: str, township: str, trade: str, word: str,
                 variant: int) -> str:
    """One enterprise name following the usual pattern of its legal form (行政区划+字号+行业+组织形式)."""
    if form in ("llc", "foreign"):
        return f"{prefix}{trade}{word}{'有限责任公司' if variant % 7 == 0 else '有限公司'}"
    if form == "joint_stock":
        return f"{'河南' if variant % 2 else city}{trade}{word}股份有限公司"
    if form == "sole":
        return f"{county}{trade}{word}{('中心', '商行', '经营部')[variant % 3]}"
    if form == "partnership":
        return f"{city.removesuffix('市')}{trade}{word}中心({'有限合伙' if variant % 3 else '普通合伙'})"
    if form == "cooperative":
        return f"{county}{township}{trade}{word}专业合作社"
    if form == "individual":
        return f"{county}{trade}{shop_word(word)}"
    if form == "branch":
        return f"河南{trade}{word}有限公司{county_stem(county)}分公司"
    if form == "state":
        return f"{city}{trade}{word}{'总公司' if variant % 2 else '公司'}"
    if form == "collective":
        return f"{county}{township}{trade}{word}{'厂' if variant % 2 else '站'}"
    return f"{prefix}{trade}{word}有限公司"


def shop_word(word: str) -> str:
    """The industry word of a 个体工商户 with a fitting ending (店, 场, 园 …)."""
    if word.endswith(_SHOP_COMPLETE):
        return word
    return word + _SHOP_SUFFIX.get(word, "店")


def name_prefix(variant: int, city: str, county: str) -> str:
    """The region part of a company name: the city, the county or the province."""
    choice = variant % 20
    if choice < 8:
        return city
    if choice < 14:
        return county
    if choice < 18:
        return "河南"
    return city.removesuffix("市")
