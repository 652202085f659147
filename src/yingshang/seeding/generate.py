"""Deterministic synthetic enterprises, generated in fixed-size chunks with NumPy.

The same ``(size, seed)`` always yields the same rows: every chunk draws from its own generator
seeded with ``[seed, chunk_index]``, the chunk size is fixed, and no clock or database state
enters the generated values (except the ``created_at`` timestamps and the first id). Columns added
later (tax figures, credit lists) draw from a second generator ``[seed, chunk_index, 2]`` so the
earlier columns stay exactly as they were.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from yingshang.enterprises import industries, sizing
from yingshang.enterprises.uscc import make_uscc
from yingshang.seeding import certs, text, uscc_bulk
from yingshang.seeding.regions import RegionRow, all_regions, county_weights, streets_by_county

SIZES = {"small": 2_000, "city": 50_000, "province": 1_000_000}
CHUNK = 50_000
DATA_END = dt.date(2026, 9, 30)  # registry snapshot: no establishment date after this day
REPORT_AS_OF = "2025-12-31"  # the annual reports (年报) the figures come from
USCC_ERA = np.datetime64("2015-10-01")  # codes issued since then have "MA…" organisation bodies
MIX_FILE = Path(__file__).parent / "data" / "industry_mix.csv"

FORMS = ("llc", "individual", "sole", "partnership", "cooperative", "joint_stock", "branch", "foreign",
         "state", "collective")
FORM_P = np.array([0.655, 0.12, 0.05, 0.025, 0.05, 0.015, 0.06, 0.005, 0.012, 0.008])
FORM_USCC_TYPE = {"individual": ord("2"), "cooperative": ord("3")}  # everything else: 1 (企业)
INDIVIDUAL_CODES = {"52", "5212", "5221", "5251", "6210", "6291", "8040", "8111", "80", "8010", "0313"}
STATUSES = np.array(["active", "cancelled", "revoked", "suspended", "moved_out"])
RATINGS = np.array(["A", "B", "M", "C", "D"])
CAPITALS = np.array([3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 800, 1000, 2000, 3000, 5000, 10000])
# Bit i of a row's figure mask = FIGURES[i] present (new figures are appended, keeping the old bits).
FIGURES = ("registered_capital", "employees", "operating_revenue", "total_assets", "rd_expense",
           "tax_credit_rating", "taxable_income", "taxpayer_kind")
SOURCES = {
    "registered_capital": ("市场监管部门登记信息", DATA_END.isoformat()),
    "employees": ("市场监管部门年报", REPORT_AS_OF),
    "operating_revenue": ("市场监管部门年报", REPORT_AS_OF),
    "total_assets": ("市场监管部门年报", REPORT_AS_OF),
    "rd_expense": ("税务部门研发费用加计扣除申报", REPORT_AS_OF),
    "tax_credit_rating": ("税务部门纳税信用评价", REPORT_AS_OF),
    "taxable_income": ("税务部门企业所得税年度申报", REPORT_AS_OF),
    "taxpayer_kind": ("税务部门纳税人登记信息", DATA_END.isoformat()),
}
# 增值税: annual taxable sales above 500万元 must register as 一般纳税人 (财政部 税务总局公告2018年第33号 sets
# the threshold); below it most firms stay 小规模纳税人, a few register voluntarily.
SMALL_SCALE_LIMIT = 500.0
TAXABLE_MISSING = 0.15


@dataclass(frozen=True)
class MixEntry:
    code: str
    weight: float
    words: tuple[str, ...]
    scope: str
    revenue_per_employee: float
    assets_to_revenue: float
    employee_scale: float
    section: str
    division: str


def load_mix() -> list[MixEntry]:
    """The industry mix (codes resolved exactly as ``Enterprise.derive`` resolves them)."""
    entries = []
    with MIX_FILE.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            code, section, division = industries.resolve(r["code"])
            entries.append(MixEntry(code, float(r["weight"]), tuple(r["words"].split("|")), r["scope"],
                                    float(r["revenue_per_employee"]), float(r["assets_to_revenue"]),
                                    float(r["employee_scale"]), section, division))
    return entries


@dataclass
class Chunk:
    """One batch of generated rows, column-wise (model attribute → list of values)."""

    enterprises: dict[str, list]
    certifications: dict[str, list]
    size: int = 0
    credit_listings: dict[str, list] = field(default_factory=dict)


def figure_sources_json(mask: int) -> str:
    """The ``figure_sources`` JSON for the figures present in ``mask`` (bit i = FIGURES[i])."""
    present = {f: {"source": SOURCES[f][0], "as_of": SOURCES[f][1]} for i, f in enumerate(FIGURES) if mask >> i & 1}
    return json.dumps(present, ensure_ascii=False, separators=(",", ":"))


@dataclass
class EnterpriseGenerator:
    size: str
    seed: int
    total: int = 0
    first_id: int = 1
    counties: list[RegionRow] = field(default_factory=list)
    used_names: set[str] = field(default_factory=set)

    def __post_init__(self):
        self.total = self.total or SIZES[self.size]
        self.counties, weights = county_weights(self.size)
        self.county_p = np.array(weights) / sum(weights)
        by_code = {r.code: r for r in all_regions()}
        self.city_names = [self._city_name(c, by_code) for c in self.counties]
        self.county_bytes = np.array([np.frombuffer(c.code.encode(), np.uint8) for c in self.counties])
        streets = streets_by_county()
        self.streets = [[s.name for s in streets.get(c.code, [])] for c in self.counties]
        self.mix = load_mix()
        self.form_mix = self._form_mix()
        self.sources = [figure_sources_json(m) for m in range(1 << len(FIGURES))]
        params = np.random.default_rng([self.seed, 1 << 30])
        self.ma_ab = (self._coprime(params, 31), int(params.integers(0, uscc_bulk.MA_SPACE)))
        self.num_ab = (self._coprime(params, 10), int(params.integers(0, uscc_bulk.NUMERIC_SPACE)))

    @staticmethod
    def _city_name(county: RegionRow, by_code: dict[str, RegionRow]) -> str:
        parent = by_code[county.parent]
        return county.name if parent.code == "419000" else parent.name  # 济源 is directly under the province

    @staticmethod
    def _coprime(rng: np.random.Generator, base: int) -> int:
        """A large multiplier sharing no factor with the code space (powers of 31, or of 10)."""
        while True:
            value = int(rng.integers(10**7, 2**31 - 1))
            coprime = value % 2 and value % 5 if base == 10 else value % 31
            if coprime:
                return value

    def _form_mix(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """For each legal form, the mix entries it may take and their probabilities."""
        allowed = {
            "cooperative": lambda e: e.section == "A",
            "individual": lambda e: e.code in INDIVIDUAL_CODES,
        }
        out = {}
        for form in FORMS:
            keep = allowed.get(form, lambda e: True)
            idx = np.array([i for i, e in enumerate(self.mix) if keep(e)])
            w = np.array([self.mix[i].weight for i in idx])
            out[form] = (idx, w / w.sum())
        return out

    # ------------------------------------------------------------------ chunks
    def chunks(self) -> Iterator[Chunk]:
        """All rows, chunk by chunk."""
        for number, start in enumerate(range(0, self.total, CHUNK)):
            yield self.chunk(number, start, min(CHUNK, self.total - start))

    def chunk(self, number: int, start: int, n: int) -> Chunk:
        rng = np.random.default_rng([self.seed, number])
        extra = np.random.default_rng([self.seed, number, 2])
        cols = self._base_columns(rng, start, n)
        self._figures(rng, cols, n)
        self._tax(extra, cols, n)
        self._texts(rng, cols, n)
        ents = self._finish(cols, start, n)
        cert_cols = certs.generate(rng, ents, cols)
        county_names = [c.name for c in self.counties]
        listings = certs.credit_listings(extra, ents, cols, county_names, DATA_END)
        return Chunk(ents, cert_cols, n, listings)

    def _base_columns(self, rng: np.random.Generator, start: int, n: int) -> dict:
        county = rng.choice(len(self.counties), size=n, p=self.county_p)
        form = rng.choice(len(FORMS), size=n, p=FORM_P)
        mix = np.empty(n, dtype=np.int64)
        for f, name in enumerate(FORMS):
            rows = np.flatnonzero(form == f)
            idx, p = self.form_mix[name]
            mix[rows] = rng.choice(idx, size=len(rows), p=p)
        established = self._dates(rng, n, form)
        return {"county": county, "form": form, "mix": mix, "established": established,
                "uscc": self._usccs(start, n, county, form, established),
                "status": self._status(rng, n, established)}

    @staticmethod
    def _dates(rng: np.random.Generator, n: int, form: np.ndarray) -> np.ndarray:
        """Establishment dates, skewed to recent years (商事制度改革 since 2014), a few before 2000."""
        years = np.arange(1985, DATA_END.year + 1)
        weights = np.where(years >= 2000, np.exp(0.13 * (years - DATA_END.year)), 0.004)
        weights = np.where(years >= 2014, weights * 1.6, weights)
        weights[-1] *= (DATA_END.timetuple().tm_yday / 365)  # the current year is not over
        year = rng.choice(years, size=n, p=weights / weights.sum())
        old_forms = np.isin(form, [FORMS.index("state"), FORMS.index("collective")])
        year = np.where(old_forms, rng.integers(1985, 2012, size=n), year)
        start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
        days_in_year = np.where(year == DATA_END.year, DATA_END.timetuple().tm_yday, 365)
        return start + (rng.random(n) * days_in_year).astype(np.int64)

    def _usccs(self, start: int, n: int, county: np.ndarray, form: np.ndarray, established: np.ndarray) -> list[str]:
        """Valid, unique codes: authority 9 (市场监管), type by legal form, the county's region code."""
        index = np.arange(start, start + n, dtype=np.int64)
        modern = established >= USCC_ERA
        bodies = np.where(modern[:, None],
                          uscc_bulk.ma_bodies(uscc_bulk.scramble(index, uscc_bulk.MA_SPACE, *self.ma_ab)),
                          uscc_bulk.numeric_bodies(uscc_bulk.scramble(index, uscc_bulk.NUMERIC_SPACE, *self.num_ab)))
        kinds = np.full(n, ord("1"), dtype=np.uint8)
        for name, kind in FORM_USCC_TYPE.items():
            kinds[form == FORMS.index(name)] = kind
        codes = uscc_bulk.compose(np.full(n, ord("9"), np.uint8), kinds, self.county_bytes[county], bodies)
        for i in range(0, n, max(n // 20, 1)):  # cross-check against the reference implementation
            assert codes[i] == make_uscc(codes[i][0], codes[i][1], codes[i][2:8], codes[i][8:16]), codes[i]
        return codes

    @staticmethod
    def _status(rng: np.random.Generator, n: int, established: np.ndarray) -> np.ndarray:
        """Mostly 存续; older firms are more often 注销 or 吊销."""
        old = established < np.datetime64("2010-01-01")
        u = rng.random(n)
        cancelled = 0.03 + 0.12 * old
        revoked = cancelled + 0.015 + 0.04 * old
        status = np.select([u < cancelled, u < revoked, u < revoked + 0.008, u < revoked + 0.015],
                           [1, 2, 3, 4], default=0)
        return STATUSES[status]

    # ------------------------------------------------------------------ figures
    def _figures(self, rng: np.random.Generator, cols: dict, n: int) -> None:
        """Employees, revenue, assets (log-normal, correlated through a latent firm scale), registered
        capital, R&D expense and tax credit rating; missing where no annual report exists."""
        form, mix = cols["form"], cols["mix"]
        scale = np.array([e.employee_scale for e in self.mix])[mix]
        rpe = np.array([e.revenue_per_employee for e in self.mix])[mix]
        a2r = np.array([e.assets_to_revenue for e in self.mix])[mix]
        latent = rng.standard_normal(n) + np.isin(form, [FORMS.index(f) for f in ("joint_stock", "state", "foreign")]) * 1.5
        employees = np.clip(np.rint(np.exp(np.log(5) + 1.2 * latent) * scale), 1, 60000)
        employees = np.where(form == FORMS.index("individual"), 1 + rng.poisson(1.3, n), employees)
        employees = np.where(form == FORMS.index("cooperative"), 5 + rng.poisson(4, n), employees)
        revenue = employees * rpe * np.exp(0.6 * rng.standard_normal(n) - 0.5)
        revenue = np.where(rng.random(n) < 0.08, revenue * 0.05, revenue)  # dormant shells
        assets = np.maximum(revenue * a2r * np.exp(0.5 * rng.standard_normal(n)), 1.0)
        reported = (cols["established"] <= np.datetime64(REPORT_AS_OF)) & (cols["status"] == "active")
        reported &= rng.random(n) >= 0.05  # some enterprises did not file an annual report
        cols["reported"] = reported
        cols["employees"] = np.where(reported, employees, -1).astype(np.int64)
        cols["revenue"] = np.where(reported & (rng.random(n) >= 0.03), np.round(revenue, 2), np.nan)
        cols["assets"] = np.where(reported & (rng.random(n) >= 0.03), np.round(assets, 2), np.nan)
        cols["capital"] = self._capital(rng, n, form, latent)
        cols["rd"] = self._rd(rng, n, cols)
        cols["rating"] = self._rating(rng, n, cols, reported)

    @staticmethod
    def _capital(rng: np.random.Generator, n: int, form: np.ndarray, latent: np.ndarray) -> np.ndarray:
        step = np.clip(np.rint(5 + 1.6 * latent + 1.2 * rng.standard_normal(n)), 0, len(CAPITALS) - 1).astype(int)
        step = np.where(form == FORMS.index("joint_stock"), np.maximum(step, 9), step)
        capital = CAPITALS[step].astype(float)
        no_capital = np.isin(form, [FORMS.index("individual"), FORMS.index("branch")])  # 分公司/个体户 have none
        return np.where(no_capital, np.nan, capital)

    def _rd(self, rng: np.random.Generator, n: int, cols: dict) -> np.ndarray:
        """R&D expense for some manufacturing, software and technology firms (1–6 % of revenue)."""
        sections = np.array([e.section for e in self.mix])[cols["mix"]]
        innovative = np.isin(sections, ["C", "I", "M", "D"]) & ~np.isnan(cols["revenue"])
        chance = np.where(cols["employees"] >= 10, 0.55, 0.2)
        has_rd = innovative & (rng.random(n) < chance)
        return np.where(has_rd, np.round(cols["revenue"] * rng.uniform(0.01, 0.06, n), 2), np.nan)

    @staticmethod
    def _rating(rng: np.random.Generator, n: int, cols: dict, reported: np.ndarray) -> np.ndarray:
        """纳税信用等级: mostly B, larger firms more often A, new firms M, many 个体户 unrated."""
        big = cols["employees"] >= 50
        u = rng.random(n)
        a_share = np.where(big, 0.4, 0.1)
        grade = np.select([u < a_share, u < a_share + 0.55, u < a_share + 0.8, u < a_share + 0.86],
                          [0, 1, 2, 3], default=4)
        rating = RATINGS[np.minimum(grade, 4)]
        new = cols["established"] > np.datetime64(REPORT_AS_OF) - np.timedelta64(365, "D")
        rating = np.where(new, "M", rating)
        unrated = ((cols["form"] == FORMS.index("individual")) & (rng.random(n) < 0.7)) | ~(reported | new)
        return np.where(unrated, "", rating)

    @staticmethod
    def _tax(rng: np.random.Generator, cols: dict, n: int) -> None:
        """应纳税所得额 (revenue × a profit margin, losses → 0; about 15 % missing; none for 个体工商户,
        who pay individual income tax) and 纳税人类型 (by the 500万元 sales threshold, a few blank)."""
        revenue = cols["revenue"]
        margin = np.clip(rng.normal(0.06, 0.07, n), 0.0, 0.45)
        known = ~np.isnan(revenue) & (rng.random(n) >= TAXABLE_MISSING) & (cols["form"] != FORMS.index("individual"))
        cols["taxable"] = np.where(known, np.round(np.nan_to_num(revenue) * margin, 2), np.nan)
        u = rng.random(n)
        large = np.nan_to_num(revenue, nan=-1.0) > SMALL_SCALE_LIMIT
        general = np.where(large, u < 0.96, u < 0.1)
        general = np.where(np.isnan(revenue), u < 0.15, general)  # no annual report: mostly 小规模
        kind = np.where(general, "general", "small_scale")
        blank = rng.random(n) < np.where(np.isnan(revenue), 0.3, 0.04)
        cols["taxpayer"] = np.where(blank, "", kind)

    # ------------------------------------------------------------------ texts
    def _texts(self, rng: np.random.Generator, cols: dict, n: int) -> None:
        cols["variant"] = rng.integers(0, 1 << 20, size=n)
        cols["word"] = [self.mix[m].words[v % len(self.mix[m].words)] for m, v in zip(cols["mix"].tolist(), cols["variant"].tolist())]
        cols["township"] = self._townships(rng, cols["county"])
        cols["name"] = self._unique_names(rng, cols, n)
        legal = text.person_names(rng, n)
        other = text.person_names(rng, n)
        same = rng.random(n) < 0.55
        cols["legal_representative"] = legal
        cols["contact_name"] = [a if s else b for a, b, s in zip(legal, other, same.tolist())]
        cols["contact_phone"] = self._phones(rng, cols["county"], n)
        roads = rng.integers(0, len(text.names.ROADS), size=n).tolist()
        numbers = (1 + np.exp(rng.normal(3.0, 1.1, n)).astype(np.int64) % 999).tolist()
        cols["address"] = [
            f"河南省{'' if self.city_names[c] == self.counties[c].name else self.city_names[c]}{self.counties[c].name}"
            f"{t}{text.names.ROADS[r]}{num}号"
            for c, t, r, num in zip(cols["county"].tolist(), cols["township"], roads, numbers)]

    def _townships(self, rng: np.random.Generator, county: np.ndarray) -> list[str]:
        picks = rng.integers(0, 1 << 20, size=len(county)).tolist()
        return [self.streets[c][p % len(self.streets[c])] if self.streets[c] else ""
                for c, p in zip(county.tolist(), picks)]

    def _phones(self, rng: np.random.Generator, county: np.ndarray, n: int) -> list[str]:
        """Mobile numbers; one in ten a 周口 landline (area code 0394) for firms there."""
        mobiles = text.mobile_numbers(rng, n)
        landline = (rng.random(n) < 0.1).tolist()
        digits = rng.integers(0, 10**7, size=n).tolist()
        zhoukou = [self.counties[c].code.startswith("4116") for c in county.tolist()]
        return [f"0394-8{d % 10**6:06d}" if land and zk else m
                for m, land, zk, d in zip(mobiles, landline, zhoukou, digits)]

    def _unique_names(self, rng: np.random.Generator, cols: dict, n: int) -> list[str]:
        """Company names, unique across the whole run (a clash gets a longer 字号)."""
        trades = text.trade_names(rng, n)
        names = self._compose(cols, range(n), trades)
        length = 3
        while True:
            seen, clash = set(), []
            for i, name in enumerate(names):
                if name in self.used_names or name in seen:
                    clash.append(i)
                seen.add(name)
            if not clash:
                break
            fresh = text.trade_names(rng, len(clash), length)
            for i, name in zip(clash, self._compose(cols, clash, fresh)):
                names[i] = name
            length = min(length + 1, 6)
        self.used_names.update(names)
        return names

    def _compose(self, cols: dict, rows, trades: list[str]) -> list[str]:
        out = []
        for i, trade in zip(rows, trades):
            c, v = int(cols["county"][i]), int(cols["variant"][i])
            city, county = self.city_names[c], self.counties[c].name
            out.append(text.company_name(FORMS[cols["form"][i]], text.name_prefix(v >> 4, city, county), city,
                                         county, cols["township"][i], trade, cols["word"][i], v))
        return out

    # ------------------------------------------------------------------ assembly
    def _finish(self, cols: dict, start: int, n: int) -> dict[str, list]:
        """Model-attribute columns; size and industry columns exactly as ``Enterprise.derive``."""
        mix = cols["mix"].tolist()
        employees = [None if e < 0 else e for e in cols["employees"].tolist()]
        revenue = [None if v != v else v for v in cols["revenue"].tolist()]
        assets = [None if v != v else v for v in cols["assets"].tolist()]
        capital = [None if v != v else v for v in cols["capital"].tolist()]
        rd = [None if v != v else v for v in cols["rd"].tolist()]
        taxable = [None if v != v else v for v in cols["taxable"].tolist()]
        rating, taxpayer = cols["rating"].tolist(), cols["taxpayer"].tolist()
        # classify_enterprise(section, code, …) is classify(size_row(section, code), …): the row is
        # resolved once per industry entry; rows without any figure are unknown either way.
        rows = [sizing.size_row(e.section, self._numeric(i)) for i, e in enumerate(self.mix)]
        sizes = [None if e is None and r is None and a is None else
                 sizing.classify(rows[m], {"X": e, "Y": r, "Z": a})
                 for m, e, r, a in zip(mix, employees, revenue, assets)]
        present = [(c is not None) | (e is not None) << 1 | (r is not None) << 2 | (a is not None) << 3
                   | (d is not None) << 4 | (bool(t)) << 5 | (ti is not None) << 6 | (bool(k)) << 7
                   for c, e, r, a, d, t, ti, k in zip(capital, employees, revenue, assets, rd, rating, taxable, taxpayer)]
        return {
            "id": list(range(self.first_id + start, self.first_id + start + n)),
            "uscc": cols["uscc"], "name": cols["name"],
            "legal_form": [FORMS[f] for f in cols["form"].tolist()],
            "status": cols["status"].tolist(),
            "region_id": [self.counties[c].code for c in cols["county"].tolist()],
            "industry_code": [self.mix[m].code for m in mix],
            "industry_section": [self.mix[m].section for m in mix],
            "industry_division": [self.mix[m].division for m in mix],
            "established_on": cols["established"].astype(str).tolist(),
            "registered_capital": _decimal_strings(capital), "employees": employees,
            "operating_revenue": _decimal_strings(revenue), "total_assets": _decimal_strings(assets),
            "rd_expense": _decimal_strings(rd), "tax_credit_rating": rating, "size": sizes,
            "taxable_income": _decimal_strings(taxable), "taxpayer_kind": taxpayer,
            "legal_representative": cols["legal_representative"], "contact_name": cols["contact_name"],
            "contact_phone": cols["contact_phone"], "address": cols["address"],
            "business_scope": [self.mix[m].scope for m in mix],
            "figure_sources": [self.sources[p] for p in present],
        }

    def _numeric(self, m: int) -> str:
        code = self.mix[m].code
        return "" if code.isalpha() else code


def _decimal_strings(values: list) -> list[str | None]:
    """Two-decimal strings (the exact values the size rule was applied to)."""
    return [None if v is None else f"{v:.2f}" for v in values]


# ------------------------------------------------------------------ after the accounts exist
STEWARD_USERNAME = "steward"
STEWARD_TARGET = 120  # enterprises looked after by the demo steward


def assign_demo_steward(username: str = STEWARD_USERNAME, target: int = STEWARD_TARGET) -> int:
    """Make the demo steward account the 服务管家 of about ``target`` active enterprises of its region
    (every k-th by id, so the choice is deterministic); returns how many. Runs once the accounts exist."""
    from yingshang.core.models import User
    from yingshang.enterprises.models import Enterprise

    steward = User.objects.filter(username=username, role="steward").select_related("region").first()
    if steward is None:
        return 0
    # All active firms of the region, whoever looks after them now: the same choice on every run.
    ids = list(Enterprise.objects.active().in_region(steward.scope_prefix).order_by("id").values_list("id", flat=True))
    chosen = ids[::max(len(ids) // target, 1)][:target]
    for start in range(0, len(chosen), 2000):
        Enterprise.objects.filter(pk__in=chosen[start:start + 2000]).update(steward=steward)
    return len(chosen)
