"""The enterprise register as NumPy columns, exact and Django-free (built by ``engine_db`` or from facts).

Rows are sorted by enterprise id. Numbers are exact integers: money (万元 with 4 decimals in the
database) in units of 0.0001 万元 (= 1 元), employees as int64, established_on as a proleptic day
ordinal (``date.toordinal()``); each has a null mask. Choices are small-int codes into a dictionary
whose code 0 means "missing"; region and industry are int codes into the sorted list of their distinct
codes, so a prefix condition becomes a lookup table over that short list. Tags, certifications and
credit listings are kept per code/kind as sorted row indices (with their date ordinals).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

MONEY_FIELDS = ("registered_capital", "operating_revenue", "total_assets", "rd_expense", "taxable_income")
CHOICES = {
    "size": ("large", "medium", "small", "micro"),
    "tax_credit_rating": ("A", "B", "M", "C", "D"),
    "taxpayer_kind": ("general", "small_scale"),
    "legal_form": ("llc", "joint_stock", "sole", "partnership", "cooperative", "individual", "foreign",
                   "state", "collective", "branch", "other"),
}
CREDIT_KINDS = ("serious_dishonest", "abnormal_operation")
MONEY_SCALE = 10_000  # units per 万元
OPEN_FROM = int(np.iinfo(np.int32).min)  # valid_from None: valid since ever
OPEN_TO = int(np.iinfo(np.int32).max)  # valid_to / removed_on None: open-ended


def ordinal(day: dt.date | None, default: int = 0) -> int:
    return default if day is None else day.toordinal()


def money_units(value) -> int:
    """万元 (Decimal/int/str, at most 4 decimals) → exact integer units of 0.0001 万元."""
    units = Decimal(value) * MONEY_SCALE
    if units != units.to_integral_value():
        raise ValueError(f"金额 {value} 万元超过4位小数")
    return int(units)


def industry_section(code: str) -> str:
    """GB/T 4754 section letter of a section/division/group/class code ("" when unknown)."""
    if not code:
        return ""
    try:  # engine-lang's division → section table (the row evaluator uses the same)
        from yingshang.policies.engine import rules

        return rules.industry_section(code) or ""
    except (ImportError, AttributeError):
        from yingshang.enterprises.industries import division_sections  # pure Python, no Django

        return code if code.isalpha() else division_sections().get(code[:2], "")


def encode(values, dictionary: tuple, dtype=np.uint8) -> np.ndarray:
    """Strings → codes into ``dictionary`` (index 0 is reserved for missing/blank; unknown → 0)."""
    lookup = {v: i for i, v in enumerate(dictionary) if i}
    return np.fromiter((lookup.get(v, 0) for v in values), dtype=dtype, count=len(values))


def encode_sorted(values) -> tuple[np.ndarray, tuple[str, ...]]:
    """Strings → (int32 codes, sorted tuple of distinct strings)."""
    dictionary = tuple(sorted(set(values)))
    lookup = {v: i for i, v in enumerate(dictionary)}
    return np.fromiter((lookup[v] for v in values), dtype=np.int32, count=len(values)), dictionary


@dataclass
class Dated:
    """Per-kind rows with a date interval: ``rows`` (int32 row indices, sorted), ``start``, ``end`` (ordinals)."""

    rows: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def take(self, keep: np.ndarray) -> "Dated":
        return Dated(self.rows[keep], self.start[keep], self.end[keep])


@dataclass
class Register:
    ids: np.ndarray  # int64, sorted ascending
    active: np.ndarray  # bool
    money: dict[str, np.ndarray]  # name → int64 units (0 where null)
    money_null: dict[str, np.ndarray]  # name → bool
    employees: np.ndarray
    employees_null: np.ndarray
    established: np.ndarray  # int32 ordinal (0 where null)
    established_null: np.ndarray
    choices: dict[str, np.ndarray]  # name → uint8 codes into (None,) + CHOICES[name] (0 = missing)
    region: np.ndarray  # int32 codes into region_dict
    region_dict: tuple[str, ...]
    industry: np.ndarray  # int32 codes into industry_dict
    industry_dict: tuple[str, ...]
    tags: dict[str, np.ndarray] = field(default_factory=dict)  # code → int32 sorted row indices
    certifications: dict[str, Dated] = field(default_factory=dict)  # kind → rows, valid_from, valid_to
    credit: dict[str, Dated] = field(default_factory=dict)  # kind → rows, listed_on, removed_on
    _derived: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, **columns) -> "Register":
        """Build from ready columns (see the attributes); sorts by id if needed and checks lengths."""
        reg = cls(**columns)
        n = len(reg.ids)
        for name in ("active", "employees", "employees_null", "established", "established_null", "region",
                     "industry"):
            if len(getattr(reg, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(reg, name))} rows, expected {n}")
        if n > 1 and not np.all(reg.ids[1:] > reg.ids[:-1]):
            reg = reg._reordered(np.argsort(reg.ids, kind="stable"))
        return reg

    @classmethod
    def from_facts(cls, facts_list: list[dict]) -> "Register":
        """Build from Facts dicts (``compiled.Facts``) — for tests and small registers."""
        facts_list = sorted(facts_list, key=lambda f: f["id"])
        n = len(facts_list)
        money, money_null = {}, {}
        for name in MONEY_FIELDS:
            vals = [f.get(name) for f in facts_list]
            money_null[name] = np.array([v is None for v in vals], dtype=bool)
            money[name] = np.array([0 if v is None else money_units(v) for v in vals], dtype=np.int64)
        emp = [f.get("employees") for f in facts_list]
        est = [f.get("established_on") for f in facts_list]
        region, region_dict = encode_sorted([f["region"] for f in facts_list])
        industry, industry_dict = encode_sorted([f["industry"] for f in facts_list])
        rows_tags, certs, credit = {}, {}, {}
        for i, f in enumerate(facts_list):
            for code in f.get("tags") or ():
                rows_tags.setdefault(code, []).append(i)
            for kind, (start, end) in (f.get("certifications") or {}).items():
                certs.setdefault(kind, []).append((i, ordinal(start, OPEN_FROM), ordinal(end, OPEN_TO)))
            for kind, listed, removed in f.get("credit") or ():
                credit.setdefault(kind, []).append((i, ordinal(listed), ordinal(removed, OPEN_TO)))
        return cls.from_arrays(
            ids=np.array([f["id"] for f in facts_list], dtype=np.int64),
            active=np.array([f.get("status", "active") == "active" for f in facts_list], dtype=bool),
            money=money, money_null=money_null,
            employees=np.array([v or 0 for v in emp], dtype=np.int64),
            employees_null=np.array([v is None for v in emp], dtype=bool),
            established=np.array([ordinal(d) for d in est], dtype=np.int32),
            established_null=np.array([d is None for d in est], dtype=bool),
            choices={name: encode([f.get(name) or None for f in facts_list], (None,) + vals)
                     for name, vals in CHOICES.items()},
            region=region, region_dict=region_dict, industry=industry, industry_dict=industry_dict,
            tags={k: np.array(v, dtype=np.int32) for k, v in rows_tags.items()},
            certifications={k: _dated(v) for k, v in certs.items()},
            credit={k: _dated(v) for k, v in credit.items()},
        )

    # ------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, ids) -> np.ndarray:
        """Row indices of these enterprise ids (-1 where absent)."""
        ids = np.asarray(ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, ids)
        pos_c = np.minimum(pos, max(len(self.ids) - 1, 0))
        found = (pos < len(self.ids)) & (self.ids[pos_c] == ids) if len(self.ids) else np.zeros(len(ids), bool)
        return np.where(found, pos, -1)

    def derived(self, key: str, build):
        """Per-register memo for derived lookup tables (section per industry code, county per region…)."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    def industry_sections(self) -> tuple[str, ...]:
        """Section letter of each industry dictionary entry."""
        return self.derived("sections", lambda: tuple(industry_section(c) for c in self.industry_dict))

    def counties(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """(county code per row as int codes, sorted county dictionary): the first 6 digits of the region."""
        def build():
            heads = [c[:6] for c in self.region_dict]
            county_dict = tuple(sorted(set(heads)))
            lut = np.array([county_dict.index(h) for h in heads], dtype=np.int32)
            return lut[self.region] if len(self.region) else np.zeros(0, np.int32), county_dict
        return self.derived("counties", build)

    # ------------------------------------------------------------ incremental update
    def updated(self, changes: "Register") -> "Register":
        """A new register where rows of ``changes`` replace rows with the same id and new ids are added."""
        if len(changes) == 0:
            return self
        keep = self.rows_of(changes.ids)
        drop = np.zeros(len(self), dtype=bool)
        drop[keep[keep >= 0]] = True
        return _concat(self._reordered(np.flatnonzero(~drop)), changes)

    def _reordered(self, order: np.ndarray) -> "Register":
        """Rows ``order`` of this register (a permutation or a subset), side data remapped."""
        remap = np.full(len(self.ids) + 1, -1, dtype=np.int64)
        remap[order] = np.arange(len(order))
        cols = {name: getattr(self, name)[order] for name in
                ("ids", "active", "employees", "employees_null", "established", "established_null", "region",
                 "industry")}
        return Register(
            money={k: v[order] for k, v in self.money.items()},
            money_null={k: v[order] for k, v in self.money_null.items()},
            choices={k: v[order] for k, v in self.choices.items()},
            region_dict=self.region_dict, industry_dict=self.industry_dict,
            tags={k: _sorted_rows(remap[v]) for k, v in self.tags.items()},
            certifications={k: _remap_dated(d, remap) for k, d in self.certifications.items()},
            credit={k: _remap_dated(d, remap) for k, d in self.credit.items()},
            **cols,
        )


def _dated(entries: list[tuple[int, int, int]]) -> Dated:
    arr = np.array(sorted(entries), dtype=np.int64).reshape(-1, 3)
    return Dated(arr[:, 0].astype(np.int32), arr[:, 1].astype(np.int32), arr[:, 2].astype(np.int32))


def _sorted_rows(rows: np.ndarray) -> np.ndarray:
    rows = rows[rows >= 0]
    return np.sort(rows).astype(np.int32)


def _remap_dated(d: Dated, remap: np.ndarray) -> Dated:
    rows = remap[d.rows]
    keep = rows >= 0
    out = Dated(rows[keep].astype(np.int32), d.start[keep], d.end[keep])
    order = np.argsort(out.rows, kind="stable")
    return out.take(order)


def _merge_dict(a: tuple, b: tuple) -> tuple[tuple, np.ndarray, np.ndarray]:
    """Union of two sorted dictionaries with the code remapping of each."""
    merged = tuple(sorted(set(a) | set(b)))
    pos = {v: i for i, v in enumerate(merged)}
    return (merged, np.array([pos[v] for v in a], dtype=np.int32).reshape(-1),
            np.array([pos[v] for v in b], dtype=np.int32).reshape(-1))


def _concat(a: Register, b: Register) -> Register:
    """Rows of a then b (disjoint ids), re-sorted by id; dictionaries merged."""
    region_dict, ra, rb = _merge_dict(a.region_dict, b.region_dict)
    industry_dict, ia, ib = _merge_dict(a.industry_dict, b.industry_dict)
    shift = len(a)

    def cat(x, y):
        return np.concatenate([x, y])

    def side(x: dict, y: dict, fn):
        return {k: fn(x.get(k), y.get(k)) for k in set(x) | set(y)}

    def tag_cat(x, y):
        return np.concatenate([x if x is not None else np.zeros(0, np.int32),
                               (y + shift).astype(np.int32) if y is not None else np.zeros(0, np.int32)])

    def dated_cat(x, y):
        empty = Dated(*(np.zeros(0, np.int32),) * 3)
        x, y = x or empty, y or empty
        return Dated(cat(x.rows, (y.rows + shift).astype(np.int32)), cat(x.start, y.start), cat(x.end, y.end))

    joined = Register(
        ids=cat(a.ids, b.ids), active=cat(a.active, b.active),
        money={k: cat(a.money[k], b.money[k]) for k in MONEY_FIELDS},
        money_null={k: cat(a.money_null[k], b.money_null[k]) for k in MONEY_FIELDS},
        employees=cat(a.employees, b.employees), employees_null=cat(a.employees_null, b.employees_null),
        established=cat(a.established, b.established),
        established_null=cat(a.established_null, b.established_null),
        choices={k: cat(a.choices[k], b.choices[k]) for k in CHOICES},
        region=cat(ra[a.region] if len(a) else a.region, rb[b.region]), region_dict=region_dict,
        industry=cat(ia[a.industry] if len(a) else a.industry, ib[b.industry]), industry_dict=industry_dict,
        tags=side(a.tags, b.tags, tag_cat),
        certifications=side(a.certifications, b.certifications, dated_cat),
        credit=side(a.credit, b.credit, dated_cat),
    )
    return joined._reordered(np.argsort(joined.ids, kind="stable"))


def row_facts(reg: Register, row: int) -> dict:
    """The Facts dict (``compiled.Facts``) of one row — the row evaluator's view of the same data."""
    def day(o):
        return None if o in (0, OPEN_FROM, OPEN_TO) else dt.date.fromordinal(int(o))

    facts = {"id": int(reg.ids[row]), "status": "active" if reg.active[row] else "cancelled",
             "employees": None if reg.employees_null[row] else int(reg.employees[row]),
             "established_on": None if reg.established_null[row] else day(reg.established[row]),
             "region": reg.region_dict[reg.region[row]], "industry": reg.industry_dict[reg.industry[row]]}
    for name in MONEY_FIELDS:
        facts[name] = None if reg.money_null[name][row] else Decimal(int(reg.money[name][row])).scaleb(-4)
    for name, values in CHOICES.items():
        code = int(reg.choices[name][row])
        facts[name] = values[code - 1] if code else None
    facts["tags"] = frozenset(c for c, rows in reg.tags.items() if _has(rows, row))
    facts["certifications"] = {k: (day(d.start[i]), day(d.end[i])) for k, d in reg.certifications.items()
                               for i in _positions(d.rows, row)}
    facts["credit"] = tuple((k, day(d.start[i]), day(d.end[i])) for k, d in reg.credit.items()
                            for i in _positions(d.rows, row))
    return facts


def _has(rows: np.ndarray, row: int) -> bool:
    i = np.searchsorted(rows, row)
    return bool(i < len(rows) and rows[i] == row)


def _positions(rows: np.ndarray, row: int) -> range:
    return range(int(np.searchsorted(rows, row, "left")), int(np.searchsorted(rows, row, "right")))
