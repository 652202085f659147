"""All enterprises against many items: each distinct atom evaluated once, items combined on packed bitmaps.

An atom becomes two packed bitmaps over the register's rows (bit i of word i//64 = row i): T (true) and
U (unknown, ``None`` when the field is never unknown); both are restricted to active (存续) rows, so
every bitmap derived from them is too. Items are combined with the near-miss algebra of
``engine/__init__``: per node three bitmaps T (true), U (unknown) and N (false and one condition away).
All comparisons are exact: money as int64 units of 0.0001 万元, rd_ratio by cross-multiplication.
"""
from __future__ import annotations

import datetime as dt
import math
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from fractions import Fraction

import numpy as np

from yingshang.policies.engine.compiled import Atom, CompiledRule, Node, Status
from yingshang.policies.engine.register import CHOICES, MONEY_FIELDS, MONEY_SCALE, Register

I64_MIN, I64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)
THREADS = 2
STATUSES = (Status.ELIGIBLE, Status.NEAR_MISS, Status.UNKNOWN, Status.INELIGIBLE)


def popcount(words: np.ndarray | None) -> int:
    return 0 if words is None else int(np.bitwise_count(words).sum(dtype=np.uint32))


class ItemMatch:
    """One item's result: packed bitmaps of eligible / near-miss / unknown rows, and their counts.

    Like the row evaluator, every row in none of the three sets is ineligible, non-active (not 存续)
    enterprises included; ``candidates`` is the number of active rows."""

    __slots__ = ("eligible", "near_miss", "unknown", "_active", "_ids", "counts", "candidates")

    def __init__(self, eligible, near_miss, unknown, active, ids, active_count: int | None = None):
        self.eligible, self.near_miss, self.unknown = eligible, near_miss, unknown
        self._active, self._ids = active, ids
        e, nm, u = popcount(eligible), popcount(near_miss), popcount(unknown)
        self.candidates = popcount(active) if active_count is None else active_count
        self.counts = {Status.ELIGIBLE.value: e, Status.NEAR_MISS.value: nm, Status.UNKNOWN.value: u,
                       Status.INELIGIBLE.value: len(ids) - e - nm - u}

    def bits(self, status) -> np.ndarray:
        """Packed bitmap of the rows with this status (bits past the last row are 0)."""
        status = Status(status)
        if status is Status.INELIGIBLE:
            out = ~(self.eligible | self.near_miss | self.unknown)
            tail = len(self._ids) % 64
            if tail:
                out[-1] &= np.uint64((1 << tail) - 1)
            return out
        return {Status.ELIGIBLE: self.eligible, Status.NEAR_MISS: self.near_miss,
                Status.UNKNOWN: self.unknown}[status]

    def rows(self, status) -> np.ndarray:
        """Row indices (into the register) with this status, ascending."""
        bools = np.unpackbits(self.bits(status).view(np.uint8), bitorder="little")
        return np.flatnonzero(bools[: len(self._ids)])

    def ids(self, status) -> np.ndarray:
        """Enterprise ids with this status, sorted ascending (int64)."""
        return self._ids[self.rows(status)]

    def status_of_rows(self) -> np.ndarray:
        """Per row a status code 0..3 in the order of STATUSES (non-active rows: ineligible)."""
        out = np.full(len(self._ids), 3, dtype=np.int8)
        for code, status in enumerate(STATUSES[:3]):
            out[self.rows(status)] = code
        return out

    def breakdown(self, register: Register) -> dict:
        """Counts by county (first 6 digits of the region code), size and industry section."""
        county, county_dict = register.counties()
        sections = np.array(register.industry_sections() or ("",), dtype=object)
        size_dict = ("",) + CHOICES["size"]
        out = {"county": {}, "size": {}, "section": {}}
        for status in STATUSES:
            rows = self.rows(status)
            _tally(out["county"], county_dict, np.bincount(county[rows], minlength=len(county_dict)), status)
            _tally(out["size"], size_dict, np.bincount(register.choices["size"][rows], minlength=len(size_dict)),
                   status)
            per_code = np.bincount(register.industry[rows], minlength=len(register.industry_dict))
            by_section: dict[str, int] = {}
            for code, n in zip(sections[: len(per_code)], per_code.tolist()):
                if n:
                    by_section[code] = by_section.get(code, 0) + n
            _tally(out["section"], tuple(by_section), list(by_section.values()), status)
        return out


def _tally(target: dict, keys, counts, status: Status) -> None:
    for key, n in zip(keys, counts):
        if n:
            target.setdefault(key, {s.value: 0 for s in STATUSES})[status.value] = int(n)


class Matcher:
    """Evaluates compiled rules over a register on one date; atoms are evaluated once and shared."""

    def __init__(self, register: Register, as_of: dt.date, *, threads: int = THREADS):
        self.register, self.as_of, self.threads = register, as_of, max(1, threads)
        self.n = len(register)
        self.words = (self.n + 63) // 64
        self._derived: dict = {}
        self.active = self.pack(register.active)
        self.active_count = popcount(self.active)
        self._atoms: dict[Atom, tuple] = {}  # atom → [T, U | None, F | None]
        self._unknown: dict = {}  # per field: packed unknown rows (shared by every atom on that field)

    # ------------------------------------------------------------ public
    def match_one(self, compiled: CompiledRule) -> ItemMatch:
        """One item over every row."""
        self.prepare(compiled.atoms)
        return self._combine(compiled)

    def match(self, compiled_by_item: dict, on_result=None) -> dict:
        """Every item over every row: ``{item_id: ItemMatch}``; with ``on_result(item_id, ItemMatch)`` the
        results are streamed to the callback instead (not kept) and ``{item_id: counts}`` is returned."""
        atoms = dict.fromkeys(a for c in compiled_by_item.values() for a in c.atoms)
        self.prepare(list(atoms))
        out = {}
        for item_id, result in self.iter_match(compiled_by_item):
            if on_result is None:
                out[item_id] = result
            else:
                on_result(item_id, result)
                out[item_id] = result.counts
        return out

    def iter_match(self, compiled_by_item: dict):
        """Yield ``(item_id, ItemMatch)`` one item at a time (atoms first, in parallel threads).

        Items are combined in the calling thread: the word operations are too short for threads to win
        against the GIL hand-over (measured), and streaming keeps memory flat."""
        items = list(compiled_by_item.items())
        self.prepare(list(dict.fromkeys(a for _, c in items for a in c.atoms)))
        for item_id, compiled in items:
            yield item_id, self._combine(compiled)

    def prepare(self, atoms) -> None:
        """Evaluate the atoms not yet cached (in parallel threads: NumPy releases the GIL)."""
        todo = [a for a in dict.fromkeys(atoms) if a not in self._atoms]
        if not todo:
            return
        if self.threads == 1 or len(todo) == 1:
            results = [self._evaluate(a) for a in todo]
        else:
            with ThreadPoolExecutor(self.threads) as pool:
                results = list(pool.map(self._evaluate, todo))
        for atom, (t, u) in zip(todo, results):
            self._atoms[atom] = [t, u, None]

    @property
    def distinct_atoms(self) -> int:
        return len(self._atoms)

    def atom_bits(self, atom: Atom) -> tuple[np.ndarray, np.ndarray | None]:
        """(T, U) packed bitmaps of one atom (U None when never unknown)."""
        self.prepare([atom])
        t, u, _ = self._atoms[atom]
        return t, u

    # ------------------------------------------------------------ packing
    def pack(self, bools: np.ndarray) -> np.ndarray:
        """Bool array over the rows → packed uint64 words (row i = bit i%64 of word i//64, tail bits 0)."""
        packed = np.packbits(bools, bitorder="little")
        if len(packed) == self.words * 8:
            return packed.view(np.uint64)
        out = np.zeros(self.words * 8, dtype=np.uint8)
        out[: len(packed)] = packed
        return out.view(np.uint64)

    def zeros(self) -> np.ndarray:
        return np.zeros(self.words, dtype=np.uint64)

    def _rows_mask(self, rows: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        mask[rows] = True
        return mask

    # ------------------------------------------------------------ atoms
    def _evaluate(self, atom: Atom) -> tuple[np.ndarray, np.ndarray | None]:
        true, u = _FIELD_EVALUATORS.get(atom.field, _evaluate_choice)(self, atom)
        t = self.pack(true) & self.active
        if u is not None:
            t &= ~u
        return t, u

    def unknown_bits(self, key, build) -> np.ndarray | None:
        """Packed unknown rows for ``key`` (built once from a bool array; None when there are none)."""
        if key not in self._unknown:
            u = self.pack(build()) & self.active
            self._unknown[key] = u if u.any() else None
        return self._unknown[key]

    def derived(self, key, build):
        """Per-matcher memo of derived columns (built once, shared by threads)."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    def _false(self, atom: Atom) -> np.ndarray:
        entry = self._atoms[atom]
        if entry[2] is None:
            t, u = entry[0], entry[1]
            entry[2] = self.active & ~(t if u is None else t | u)
        return entry[2]

    # ------------------------------------------------------------ combination
    def _combine(self, compiled: CompiledRule) -> ItemMatch:
        if compiled.root is None:
            return ItemMatch(self.active, self.zeros(), self.zeros(), self.active, self.register.ids, self.active_count)
        t, u, nm = self._node(compiled.root, fresh=False)
        zero = None
        if u is None or nm is None:
            zero = self.zeros()
        return ItemMatch(t, nm if nm is not None else zero, u if u is not None else zero, self.active,
                         self.register.ids, self.active_count)

    def _node(self, node: Node, fresh: bool):
        """(T, U | None, N | None) of a node; ``fresh`` asks for arrays the caller may modify in place."""
        if node.kind == "atom":
            t, u, _ = self._atoms[node.atom]
            f = self._false(node.atom)
            t, nm = (f, t) if node.negated else (t, f)
            if fresh:
                return t.copy(), (None if u is None else u.copy()), nm.copy()
            return t, u, nm
        if node.kind == "all":
            return self._all(node.children)
        if node.kind == "any":
            return self._any(node.children)
        raise ValueError(f"unknown node kind {node.kind!r}")

    def _all(self, children):
        """T = ∧T; U = ∧(T∨U) ∧ ¬T; N = exactly one child N and the rest T."""
        a, tu, b = self._node(children[0], fresh=True)  # a: all T so far; b: one N, rest T
        tu = None if tu is None else tu | a
        tmp = np.empty_like(a)
        for child in children[1:]:
            t, u, nm = self._node(child, fresh=False)
            if u is not None or tu is not None:
                both = t if u is None else t | u
                tu = (a & both) if tu is None else np.bitwise_and(tu, both, out=tu)
            np.bitwise_and(b, t, out=b)
            np.bitwise_and(a, nm, out=tmp)
            np.bitwise_or(b, tmp, out=b)
            np.bitwise_and(a, t, out=a)
        if tu is not None:
            np.bitwise_and(tu, ~a, out=tu)
        return a, tu, b

    def _any(self, children):
        """T = ∨T; U = ¬T ∧ ∨U; N = ¬T ∧ ¬U ∧ ∨N."""
        t, u, nm = self._node(children[0], fresh=True)
        for child in children[1:]:
            ct, cu, cn = self._node(child, fresh=False)
            np.bitwise_or(t, ct, out=t)
            if cu is not None:
                u = cu.copy() if u is None else np.bitwise_or(u, cu, out=u)
            np.bitwise_or(nm, cn, out=nm)
        not_t = ~t
        if u is not None:
            np.bitwise_and(u, not_t, out=u)
            np.bitwise_and(nm, ~u, out=nm)
        np.bitwise_and(nm, not_t, out=nm)
        return t, u, nm


# ---------------------------------------------------------------- field evaluators
def _ge(col: np.ndarray, c: int) -> np.ndarray:
    if c <= I64_MIN:
        return np.ones(len(col), dtype=bool)
    if c > I64_MAX:
        return np.zeros(len(col), dtype=bool)
    return col >= c


def _le(col: np.ndarray, c: int) -> np.ndarray:
    if c >= I64_MAX:
        return np.ones(len(col), dtype=bool)
    if c < I64_MIN:
        return np.zeros(len(col), dtype=bool)
    return col <= c


def int_compare(col: np.ndarray, op: str, value) -> np.ndarray:
    """Exact ``col OP value`` for an integer column and a Decimal/Fraction/int value (or a (low, high) pair)."""
    if op == "between":
        low, high = value
        return _ge(col, math.ceil(low)) & _le(col, math.floor(high))
    if op == ">=":
        return _ge(col, math.ceil(value))
    if op == ">":
        return _ge(col, math.floor(value) + 1)
    if op == "<=":
        return _le(col, math.floor(value))
    if op == "<":
        return _le(col, math.ceil(value) - 1)
    if op in ("==", "!="):
        hit = _ge(col, value) & _le(col, value) if value == math.floor(value) else np.zeros(len(col), bool)
        return hit if op == "==" else ~hit
    raise ValueError(f"operator {op!r} does not apply to numbers")


def _scaled(value, scale):
    if isinstance(value, tuple):
        return tuple(_scaled(v, scale) for v in value)
    return Decimal(value) * scale


def _null_bits(m: Matcher, key: str, null: np.ndarray):
    return m.unknown_bits(key, lambda: null)


def _evaluate_money(m: Matcher, atom: Atom):
    col = m.register.money[atom.field]
    return (int_compare(col, atom.op, _scaled(atom.value, MONEY_SCALE)),
            _null_bits(m, atom.field, m.register.money_null[atom.field]))


def _evaluate_employees(m: Matcher, atom: Atom):
    col = m.register.employees
    return int_compare(col, atom.op, _scaled(atom.value, 1)), _null_bits(m, "employees", m.register.employees_null)


def _established(m: Matcher) -> np.ndarray:
    return m.derived("established64", lambda: m.register.established.astype(np.int64))


def _evaluate_established(m: Matcher, atom: Atom):
    value = tuple(d.toordinal() for d in atom.value) if isinstance(atom.value, tuple) else atom.value.toordinal()
    return (int_compare(_established(m), atom.op, value),
            _null_bits(m, "established_on", m.register.established_null))


def age_bound(on: dt.date, years: int) -> int:
    """The latest establishment ordinal whose age on ``on`` is at least ``years``: the same day ``years``
    earlier, or Feb 28 when ``on`` is Feb 29 and that year is common (born Feb 29 completes on Mar 1)."""
    y = on.year - years
    if y < 1:
        return 0
    if y > 9999:
        return dt.date.max.toordinal()
    try:
        return dt.date(y, on.month, on.day).toordinal()
    except ValueError:  # on is Feb 29 and year y is not a leap year: the birthday counts from Feb 28
        return dt.date(y, 2, 28).toordinal()


def _age_intervals(op: str, v) -> list[tuple[float, float]]:
    """The integer ages (as closed intervals, ±inf open) for which ``age OP v`` holds."""
    inf = math.inf
    if op == "between":
        return [(math.ceil(v[0]), math.floor(v[1]))]
    if op in ("==", "!="):
        whole = v == math.floor(v)
        if op == "==":
            return [(int(v), int(v))] if whole else []
        return [(-inf, int(v) - 1), (int(v) + 1, inf)] if whole else [(-inf, inf)]
    return [{">=": (math.ceil(v), inf), ">": (math.floor(v) + 1, inf), "<=": (-inf, math.floor(v)),
             "<": (-inf, math.ceil(v) - 1)}[op]]


def _evaluate_age(m: Matcher, atom: Atom):
    """age_years OP k as bounds on the establishment date: age ≥ j ⇔ established_on ≤ age_bound(as_of, j).

    Like the row evaluator, the age is the signed count of whole years (negative when established after
    the evaluation date)."""
    col = _established(m)
    true = np.zeros(len(col), dtype=bool)
    for lo, hi in _age_intervals(atom.op, atom.value):
        if hi < lo:
            continue
        hit = np.ones(len(col), dtype=bool) if lo == -math.inf else col <= age_bound(m.as_of, int(lo))
        if hi != math.inf:
            hit &= col > age_bound(m.as_of, int(hi) + 1)
        true |= hit
    return true, _null_bits(m, "established_on", m.register.established_null)


def _ratio_columns(m: Matcher):
    """(sign(rev)·rd, |rev|, max |rd|, max |rev|) over the padded rows, built once per matcher."""
    def build():
        reg = m.register
        rd = reg.money["rd_expense"]
        rev = reg.money["operating_revenue"]
        abs_rev = np.abs(rev)
        return (np.where(rev < 0, -rd, rd), abs_rev, int(np.abs(rd).max(initial=0)), int(abs_rev.max(initial=0)))
    return m.derived("ratio", build)


def _evaluate_rd_ratio(m: Matcher, atom: Atom):
    reg = m.register
    u = m.unknown_bits("rd_ratio", lambda: (
        reg.money_null["rd_expense"]
        | reg.money_null["operating_revenue"]
        | (reg.money["operating_revenue"] == 0)))
    if atom.op == "between":
        low, high = atom.value
        true = _ratio_cmp(m, ">=", Fraction(low)) & _ratio_cmp(m, "<=", Fraction(high))
    else:
        true = _ratio_cmp(m, atom.op, Fraction(atom.value))
    return true, u


_CMP = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less, "==": np.equal,
        "!=": np.not_equal}
_PY_CMP = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
           "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _ratio_cmp(m: Matcher, op: str, t: Fraction) -> np.ndarray:
    """rd/rev OP t exactly (rows with rev = 0 are masked as unknown by the caller):
    sign(rev)·rd·den OP num·|rev| with den > 0, on int64 when no product can overflow, and in exact
    Python integers for the rows where one could."""
    rd_s, abs_rev, max_rd, max_rev = _ratio_columns(m)
    num, den = t.numerator, t.denominator
    if max_rd * den <= I64_MAX and max_rev * abs(num) <= I64_MAX:
        return _CMP[op](rd_s * den, abs_rev * num)
    small = den <= I64_MAX and abs(num) <= I64_MAX
    out = _CMP[op](rd_s * den, abs_rev * num) if small else np.zeros(len(rd_s), dtype=bool)
    unsafe = ((np.abs(rd_s) > I64_MAX // den) | (abs_rev > I64_MAX // max(abs(num), 1))) if small else \
        np.ones(len(rd_s), dtype=bool)
    for i in np.flatnonzero(unsafe & (abs_rev != 0)).tolist():
        out[i] = _PY_CMP[op](Fraction(int(rd_s[i]), int(abs_rev[i])), t)
    return out


def codes_in(codes: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """``lut[codes]``; when the selected codes form a few contiguous runs (prefixes over a sorted
    dictionary do), as range tests, which are several times faster than a gather."""
    idx = np.flatnonzero(lut)
    if len(idx) == 0:
        return np.zeros(len(codes), dtype=bool)
    cut = np.flatnonzero(np.diff(idx) != 1)
    starts, ends = idx[np.r_[0, cut + 1]], idx[np.r_[cut, len(idx) - 1]] + 1
    if len(starts) > 3:
        return lut[codes]
    unsigned = np.dtype(f"u{codes.dtype.itemsize}")
    out = None
    for lo, hi in zip(starts.tolist(), ends.tolist()):
        if hi - lo == 1:
            hit = codes == lo
        else:
            hit = np.subtract(codes, codes.dtype.type(lo)).view(unsigned) < (hi - lo)
        out = hit if out is None else np.bitwise_or(out, hit, out=out)
    return out


def _evaluate_choice(m: Matcher, atom: Atom):
    if atom.field not in CHOICES:
        raise ValueError(f"unknown field {atom.field!r}")
    dictionary = (None,) + CHOICES[atom.field]
    codes = m.register.choices[atom.field]
    u = m.unknown_bits(("choice", atom.field), lambda: codes == 0)
    lut = np.array([v is not None and v in atom.value for v in dictionary], dtype=bool)
    if atom.op == "not_in":
        lut = ~lut
        lut[0] = False
    elif atom.op != "in":
        raise ValueError(f"operator {atom.op!r} does not apply to {atom.field}")
    return codes_in(codes, lut), u


def _set_op(atom: Atom, hit: np.ndarray):
    if atom.op == "in":
        return hit, None
    if atom.op == "not_in":
        return ~hit, None
    raise ValueError(f"operator {atom.op!r} does not apply to {atom.field}")


def _evaluate_region(m: Matcher, atom: Atom):
    prefixes = tuple(atom.value)
    lut = np.array([code.startswith(prefixes) for code in m.register.region_dict], dtype=bool)
    return _set_op(atom, codes_in(m.register.region, lut))


def _evaluate_industry(m: Matcher, atom: Atom):
    sections = {v for v in atom.value if v.isalpha()}
    prefixes = tuple(v for v in atom.value if not v.isalpha())
    lut = np.array([s in sections or (bool(prefixes) and code.startswith(prefixes))
                    for code, s in zip(m.register.industry_dict, m.register.industry_sections())], dtype=bool)
    return _set_op(atom, codes_in(m.register.industry, lut))


def _evaluate_tag(m: Matcher, atom: Atom):
    rows = [m.register.tags[c] for c in atom.value if c in m.register.tags]
    return _set_op(atom, m._rows_mask(np.concatenate(rows) if rows else np.zeros(0, np.int32)))


def _evaluate_certification(m: Matcher, atom: Atom):
    day = m.as_of.toordinal()
    rows = [d.rows[(d.start <= day) & (day <= d.end)]
            for kind, d in m.register.certifications.items() if kind in atom.value]
    return _set_op(atom, m._rows_mask(np.concatenate(rows) if rows else np.zeros(0, np.int32)))


def _evaluate_credit(m: Matcher, atom: Atom):
    day = m.as_of.toordinal()
    d = m.register.credit.get(atom.field)
    listed = m._rows_mask(d.rows[(d.start <= day) & (day < d.end)] if d is not None else np.zeros(0, np.int32))
    if atom.op not in ("==", "!="):
        raise ValueError(f"operator {atom.op!r} does not apply to {atom.field}")
    want = bool(atom.value) == (atom.op == "==")
    return (listed if want else ~listed), None


_FIELD_EVALUATORS = {
    **{name: _evaluate_money for name in MONEY_FIELDS},
    "employees": _evaluate_employees,
    "established_on": _evaluate_established,
    "age_years": _evaluate_age,
    "rd_ratio": _evaluate_rd_ratio,
    "region": _evaluate_region,
    "industry": _evaluate_industry,
    "tag": _evaluate_tag,
    "certification": _evaluate_certification,
    "serious_dishonest": _evaluate_credit,
    "abnormal_operation": _evaluate_credit,
}
