"""Synthetic certifications (few 高新技术企业 / 科技型中小企业 / 专精特新, 规上 by the statistical thresholds)
and credit-list records (经营异常名录, 严重失信主体名单)."""
from __future__ import annotations

import datetime as dt

import numpy as np

TECH_SECTIONS = ["C", "I", "M", "D"]
SOURCES = {
    "high_tech": "河南省高新技术企业认定管理工作领导小组",
    "tech_sme": "河南省科学技术厅",
    "innovative_sme": "河南省工业和信息化厅",
    "specialized_sme": "河南省工业和信息化厅",
    "little_giant": "工业和信息化部",
    "above_scale": "统计部门联网直报名录",
}
# 规模以上/限额以上 thresholds on operating revenue (万元) used by the statistics bureau.
ABOVE_SCALE_REVENUE = {"B": 2000, "C": 2000, "D": 2000, "E": 2000, "51": 2000, "52": 500, "61": 200, "62": 200,
                       "7010": 1}


def generate(rng: np.random.Generator, ents: dict[str, list], cols: dict) -> dict[str, list]:
    """Certification rows for one chunk of enterprises (column-wise, model attribute names)."""
    n = len(ents["id"])
    section = np.array(ents["industry_section"])
    division = np.array(ents["industry_division"])
    code = np.array(ents["industry_code"])
    active = cols["status"] == "active"
    employees, revenue = cols["employees"], np.nan_to_num(cols["revenue"], nan=-1)
    has_rd = ~np.isnan(cols["rd"]) & active
    tech = np.isin(section, TECH_SECTIONS)
    aged = cols["established"] <= np.datetime64("2024-12-31")
    u = rng.random((6, n))
    high_tech = has_rd & tech & aged & (employees >= 10) & (u[0] < 0.14)
    tech_sme = has_rd & np.isin(section, ["C", "I", "M"]) & (employees <= 500) & (revenue <= 20000) & (u[1] < 0.35)
    innovative = has_rd & np.isin(section, ["C", "I", "M"]) & (employees >= 5) & (u[2] < 0.12)
    specialized = innovative & (revenue >= 1000) & (u[3] < 0.35)
    giant = specialized & (revenue >= 5000) & (u[4] < 0.25)
    above = active & (revenue >= _above_scale_threshold(section, division, code))
    rows: dict[str, list] = {k: [] for k in ("enterprise_id", "kind", "certificate_no", "valid_from", "valid_to", "source")}
    ids = np.array(ents["id"])
    # 高新技术企业 certificates are valid three years; firms certified in 2021–2022 that did not renew hold
    # an expired one (about a fifth).
    _add(rows, "high_tech", ids[high_tech], *_three_years(rng, high_tech.sum(), (2021, 2025), (10, 12),
                                                          weights=HIGH_TECH_YEARS), numbers=True)
    _add(rows, "tech_sme", ids[tech_sme], *_one_year(rng, tech_sme.sum(), 2026))
    _add(rows, "innovative_sme", ids[innovative], *_three_years(rng, innovative.sum(), (2024, 2026), (3, 9)))
    _add(rows, "specialized_sme", ids[specialized], *_three_years(rng, specialized.sum(), (2024, 2026), (3, 9)))
    _add(rows, "little_giant", ids[giant], *_three_years(rng, giant.sum(), (2023, 2025), (7, 8)))
    _add(rows, "above_scale", ids[above], ["2025-01-01"] * int(above.sum()), [None] * int(above.sum()))
    return rows


def _above_scale_threshold(section: np.ndarray, division: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Revenue threshold per row: industry/construction/wholesale 2000, retail 500, 住宿餐饮 200, services 1000;
    real-estate developers always (1); finance never."""
    threshold = np.full(len(section), 1000.0)
    for key, value in ABOVE_SCALE_REVENUE.items():
        target = section if len(key) == 1 else (division if len(key) == 2 else code)
        threshold[target == key] = value
    threshold[section == "J"] = np.inf
    return threshold


HIGH_TECH_YEARS = (0.08, 0.12, 0.25, 0.27, 0.28)


def _three_years(rng, n: int, years: tuple[int, int], months: tuple[int, int], weights=None):
    if weights is None:
        year = rng.integers(years[0], years[1] + 1, size=n)
    else:
        year = rng.choice(np.arange(years[0], years[1] + 1), size=n, p=np.array(weights) / sum(weights))
    month = rng.integers(months[0], months[1] + 1, size=n)
    day = rng.integers(1, 29, size=n)
    start = [f"{y}-{m:02d}-{d:02d}" for y, m, d in zip(year.tolist(), month.tolist(), day.tolist())]
    end = [f"{y + 3}-{s[5:]}" for y, s in zip(year.tolist(), start)]
    end = (np.array(end, dtype="datetime64[D]") - np.timedelta64(1, "D")).astype(str).tolist()
    return start, end


def _one_year(rng, n: int, year: int):
    month = rng.integers(3, 8, size=n)
    day = rng.integers(1, 29, size=n)
    start = [f"{year}-{m:02d}-{d:02d}" for m, d in zip(month.tolist(), day.tolist())]
    return start, [f"{year}-12-31"] * n


def _add(rows: dict[str, list], kind: str, ids: np.ndarray, start: list, end: list, numbers: bool = False) -> None:
    ids_list = ids.tolist()
    rows["enterprise_id"] += ids_list
    rows["kind"] += [kind] * len(ids_list)
    # 高新技术企业证书编号: GR + year + province code 41 + six digits.
    rows["certificate_no"] += [f"GR{s[:4]}41{i % 10**6:06d}" for s, i in zip(start, ids_list)] if numbers else [""] * len(ids_list)
    rows["valid_from"] += start
    rows["valid_to"] += end
    rows["source"] += [SOURCES[kind]] * len(ids_list)


# ------------------------------------------------------------------ credit lists
ABNORMAL_REASONS = ("未按照规定期限公示年度报告", "通过登记的住所或者经营场所无法联系",
                    "未在市场监督管理部门责令的期限内公示有关企业信息", "公示企业信息隐瞒真实情况、弄虚作假")
SERIOUS_REASONS = ("被列入经营异常名录届满3年仍未履行相关义务", "提交虚假材料或者采取其他欺诈手段隐瞒重要事实,取得市场主体登记",
                   "重大税收违法失信", "拒不履行生效法律文书确定的义务(失信被执行人)")
LISTING_START = np.datetime64("2018-01-01")


def credit_listings(rng: np.random.Generator, ents: dict[str, list], cols: dict, county_names: list[str],
                    data_end: dt.date) -> dict[str, list]:
    """Credit-list rows for one chunk: about 2 % on the 经营异常名录 (mostly firms that did not file their
    annual report, and revoked ones), about 0.3 % on the 严重失信主体名单; some already removed."""
    n = len(ents["id"])
    status = cols["status"]
    missed_report = ~cols["reported"] & (status == "active") & (cols["established"] <= np.datetime64("2025-06-30"))
    p_abnormal = 0.008 + 0.2 * missed_report + 0.25 * (status == "revoked")
    u = rng.random((2, n))
    abnormal, serious = u[0] < p_abnormal, u[1] < 0.003
    rows: dict[str, list] = {k: [] for k in ("enterprise_id", "kind", "authority", "reason", "listed_on", "removed_on")}
    end = np.datetime64(data_end)
    for kind, chosen, removal in (("abnormal_operation", abnormal, 0.45), ("serious_dishonest", serious, 0.2)):
        idx = np.flatnonzero(chosen & (cols["established"] + 180 < end))
        _listings(rng, rows, kind, idx, removal, ents, cols, county_names, end)
    return rows


def _listings(rng, rows, kind: str, idx: np.ndarray, removal: float, ents, cols, county_names, end) -> None:
    first = np.maximum(cols["established"][idx] + 180, LISTING_START)
    span = (end - first).astype(np.int64)
    listed = first + (rng.random(len(idx)) * span).astype(np.int64)
    removed = listed + rng.integers(30, 900, size=len(idx))
    removed_ok = (rng.random(len(idx)) < removal) & (removed <= end)
    reasons = ABNORMAL_REASONS if kind == "abnormal_operation" else SERIOUS_REASONS
    picks = rng.integers(0, len(reasons), size=len(idx)).tolist()
    ids, counties = np.array(ents["id"])[idx].tolist(), cols["county"][idx].tolist()
    rows["enterprise_id"] += ids
    rows["kind"] += [kind] * len(ids)
    rows["reason"] += [reasons[p] for p in picks]
    rows["authority"] += [(f"国家税务总局{county_names[c]}税务局" if "税收" in reasons[p] else
                           f"{county_names[c]}人民法院" if "被执行人" in reasons[p] else f"{county_names[c]}市场监督管理局")
                          for c, p in zip(counties, picks)]
    rows["listed_on"] += listed.astype(str).tolist()
    rows["removed_on"] += [str(r) if ok else None for r, ok in zip(removed.tolist(), removed_ok.tolist())]
