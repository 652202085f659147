"""The region tree shipped with the seed data (GB/T 2260 codes for 河南省, townships of 周口市).

County and city codes are the real ones. Township (乡镇街道) names of 周口市 are real; their
9-digit codes follow the 统计用区划代码 numbering (001–099 街道, 100–199 镇, 200–299 乡) and are
not guaranteed to match the statistical bureau's list one for one.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "regions_henan.csv"
PROVINCE = "410000"
DEMO_CITY = "411600"
# Rough relative numbers of market entities per city (larger economies register more firms).
CITY_WEIGHTS = {
    "4101": 4.0, "4103": 1.6, "4113": 1.5, "4116": 1.3, "4114": 1.2, "4107": 1.0, "4117": 1.0,
    "4115": 1.0, "4105": 0.9, "4104": 0.8, "4102": 0.8, "4110": 0.8, "4108": 0.6, "4109": 0.6,
    "4111": 0.5, "4112": 0.4, "4106": 0.3, "4190": 0.15,
}


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: str
    parent: str


@lru_cache(maxsize=1)
def all_regions() -> tuple[RegionRow, ...]:
    """Every row of the shipped CSV, parents before children."""
    with DATA.open(encoding="utf-8") as fh:
        return tuple(RegionRow(r["code"], r["name"], r["level"], r["parent"]) for r in csv.DictReader(fh))


def regions_for(size: str) -> list[RegionRow]:
    """The regions a seed of ``size`` creates: the whole province for ``province``, else the demo
    city (with the province above it)."""
    rows = all_regions()
    if size == "province":
        return list(rows)
    return [r for r in rows if r.code == PROVINCE or r.code.startswith(DEMO_CITY[:4])]


def county_weights(size: str) -> tuple[list[RegionRow], list[float]]:
    """Counties that receive enterprises and their relative weights."""
    counties = [r for r in regions_for(size) if r.level == "county"]
    weights = []
    for county in counties:
        weight = CITY_WEIGHTS.get(county.code[:4], 1.0)
        # City districts and the demo city's urban core register more firms than rural counties.
        if county.name.endswith("区"):
            weight *= 1.6
        elif county.name.endswith("市"):
            weight *= 1.3
        if county.code == "411602":
            weight *= 1.5
        weights.append(weight)
    return counties, weights


def streets_by_county() -> dict[str, list[RegionRow]]:
    """Township rows grouped by their county code."""
    grouped: dict[str, list[RegionRow]] = {}
    for row in all_regions():
        if row.level == "street":
            grouped.setdefault(row.parent, []).append(row)
    return grouped
