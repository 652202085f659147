"""The row evaluator: one enterprise (a ``facts`` dict, see ``compiled.Facts``) against compiled rules.

This is the reference semantics; the columnar matcher must agree with it exactly (property test).
``d`` below is ``compiled.as_of``. UNKNOWN (U) follows Kleene logic; ``not`` was pushed down to the
atoms by the compiler, and a negated atom maps T↔F and keeps U.

Atoms (``Atom(field, op, value)``), by field kind:

- number (employees, money in 万元): x = facts[field]; None → U. Otherwise the exact comparison of x with
  the Decimal value (Python compares int/Decimal/float exactly): ``>= <= > < == !=`` as written,
  ``between (lo, hi)``: lo ≤ x ≤ hi. Boundaries are inclusive for >=, <=, between; == is exact equality.
- rd_ratio: U when rd_expense or operating_revenue is None or operating_revenue == 0. Otherwise
  x = Fraction(rd_expense) / Fraction(operating_revenue), an exact rational (any sign), compared exactly
  with Fraction(value): no rounding anywhere (0.03 with rd 3, revenue 100 is equal, so ``>= 0.03`` holds).
- age_years: U when established_on is None. Otherwise the whole years completed on d:
  ``d.year - e.year - ((d.month, d.day) < (e.month, e.day))`` — so an enterprise established on
  2020-02-29 completes 1 year on 2021-03-01 (not on 02-28) and 4 years on 2024-02-29; negative when
  established after d. Compared as an integer with the (integer) value.
- established_on: U when None; otherwise date comparison with the value (dates; between inclusive).
- choice (size, tax_credit_rating, taxpayer_kind, legal_form): x = facts[field]; None or "" → U;
  ``in``: x ∈ value; ``not_in``: x ∉ value (the compiler turned ==/!= into these).
- region: never U. r = facts["region"] or "". Hit when r starts with some code of the value (a code is its
  own prefix, so 411602 matches 411602 and 411602101). ``in``: hit; ``not_in``: not hit.
- industry: never U. e = facts["industry"] (section letter or 2–4 digits) or "". A letter code L hits when
  ``rules.industry_section(e) == L``; a digit code c hits when e is digits and starts with c.
- tag: never U. ``in``: facts["tags"] ∩ value ≠ ∅; ``not_in``: empty intersection.
- certification: never U. Kind k is held on d when facts["certifications"][k] = (f, t) with
  (f is None or f ≤ d) and (t is None or d ≤ t) — both ends inclusive. ``in``: some kind of value is held
  on d; ``not_in``: none is.
- flags (serious_dishonest, abnormal_operation): never U. Listed on d when some (kind, listed_on, removed_on)
  of facts["credit"] has kind == field, listed_on ≤ d and (removed_on is None or d < removed_on) — the
  removal day itself is no longer listed. ``== v``: listed is v.

Groups: all = Kleene AND (F if any F, else U if any U, else T); any = Kleene OR. Near-miss ("one away")
exactly as in ``engine/__init__.py``: a F atom (after negation) is one away; all(…) when exactly one child is
one away and all others are T; any(…) when no child is T or U and some child is one away.
Status: facts["status"] (default "active") ≠ "active" → INELIGIBLE (one explanation "企业登记状态非存续");
else T → ELIGIBLE, U → UNKNOWN, F and one away → NEAR_MISS, else INELIGIBLE. ``root is None`` → T.
"""
from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal
from fractions import Fraction

from . import rules
from .compiled import Atom, CompiledRule, Node, Status, Truth

T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
NEG = {T: F, F: T, U: U}
_CMP = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne}


def _compare(op: str, x, v) -> Truth:
    if op == "between":
        return T if v[0] <= x <= v[1] else F
    return T if _CMP[op](x, v) else F


def _number(atom: Atom, facts: dict, d: dt.date) -> Truth:
    x = facts.get(atom.field)
    return U if x is None else _compare(atom.op, x, atom.value)


def ratio_of(facts: dict) -> Fraction | None:
    """rd_expense / operating_revenue as an exact rational, None when undecidable."""
    rd, revenue = facts.get("rd_expense"), facts.get("operating_revenue")
    if rd is None or revenue is None or revenue == 0:
        return None
    return Fraction(rd) / Fraction(revenue)


def _ratio(atom: Atom, facts: dict, d: dt.date) -> Truth:
    x = ratio_of(facts)
    if x is None:
        return U
    v = atom.value
    return _compare(atom.op, x, (Fraction(v[0]), Fraction(v[1])) if atom.op == "between" else Fraction(v))


def age_on(established: dt.date, d: dt.date) -> int:
    """Whole years completed on d (born 02-29: the year completes on 03-01 of a common year)."""
    return d.year - established.year - ((d.month, d.day) < (established.month, established.day))


def _age(atom: Atom, facts: dict, d: dt.date) -> Truth:
    e = facts.get("established_on")
    return U if e is None else _compare(atom.op, age_on(e, d), atom.value)


def _choice(atom: Atom, facts: dict, d: dt.date) -> Truth:
    x = facts.get(atom.field)
    if not x:
        return U
    return T if (x in atom.value) == (atom.op == "in") else F


def _hit(atom: Atom, hit: bool) -> Truth:
    return T if hit == (atom.op == "in") else F


def _region(atom: Atom, facts: dict, d: dt.date) -> Truth:
    r = facts.get("region") or ""
    return _hit(atom, any(r.startswith(c) for c in atom.value))


def industry_hit(code: str, wanted) -> bool:
    section = rules.industry_section(code)
    digits = code.isdigit()
    return any(c == section if c.isalpha() else digits and code.startswith(c) for c in wanted)


def _industry(atom: Atom, facts: dict, d: dt.date) -> Truth:
    return _hit(atom, industry_hit(facts.get("industry") or "", atom.value))


def _tag(atom: Atom, facts: dict, d: dt.date) -> Truth:
    return _hit(atom, not atom.value.isdisjoint(facts.get("tags") or ()))


def held_on(facts: dict, d: dt.date) -> set[str]:
    """Certification kinds valid on d (both ends inclusive)."""
    return {k for k, (f, t) in (facts.get("certifications") or {}).items()
            if (f is None or f <= d) and (t is None or d <= t)}


def _cert(atom: Atom, facts: dict, d: dt.date) -> Truth:
    return _hit(atom, not atom.value.isdisjoint(held_on(facts, d)))


def listed_on(facts: dict, kind: str, d: dt.date) -> bool:
    """Whether a credit listing of this kind is in force on d (removal day excluded)."""
    return any(k == kind and listed <= d and (removed is None or d < removed)
               for k, listed, removed in facts.get("credit") or ())


def _flag(atom: Atom, facts: dict, d: dt.date) -> Truth:
    return T if listed_on(facts, atom.field, d) == atom.value else F


_BY_KIND = {"number": _number, "ratio": _ratio, "age": _age, "date": _number, "choice": _choice,
            "region": _region, "industry": _industry, "tag": _tag, "certification": _cert, "flag": _flag}
_EVAL = {name: _BY_KIND[spec.kind] for name, spec in rules.FIELDS.items()}


def atom_truth(atom: Atom, facts: dict, as_of: dt.date) -> Truth:
    """The truth of one (non-negated) atom for these facts on as_of."""
    return _EVAL[atom.field](atom, facts, as_of)


# ---- explanations ---------------------------------------------------------------------------------------

class _Context:
    """Per-facts state shared by all items of one evaluation: atom truths and texts are computed once.

    Caches are keyed by ``id(atom)`` (the compiler interns atoms, so equal conditions of different items are
    one object; hashing a dataclass on every lookup would dominate); ``alive`` keeps those atoms alive so an
    id cannot be reused while the context lives."""

    __slots__ = ("facts", "as_of", "names", "truths", "texts", "alive")

    def __init__(self, facts: dict, as_of: dt.date, names: dict | None):
        # A private copy: texts are built lazily, after the caller may have changed its dict.
        self.facts, self.as_of, self.names = dict(facts), as_of, names or {}
        self.truths: dict[int, Truth] = {}
        self.texts: dict[tuple[int, bool], tuple[str, str, str]] = {}
        self.alive: list[Atom] = []

    def truth(self, atom: Atom) -> Truth:
        t = self.truths.get(id(atom))
        if t is None:
            t = self.truths[id(atom)] = _EVAL[atom.field](atom, self.facts, self.as_of)
            self.alive.append(atom)
        return t


class ConditionResult:
    """One condition's outcome for one enterprise; the texts are built on first access."""

    __slots__ = ("path", "field", "truth", "atom", "negated", "_ctx", "_texts")

    def __init__(self, path: str, atom: Atom | None, negated: bool, truth: Truth, ctx: _Context | None,
                 texts: tuple[str, str, str] | None = None, field: str | None = None):
        self.path, self.atom, self.negated, self.truth, self._ctx = path, atom, negated, truth, ctx
        self.field = field or atom.field
        self._texts = texts

    @property
    def label(self) -> str:
        spec = rules.FIELDS.get(self.field)
        return spec.label if spec else "企业登记状态"

    @property
    def actual_text(self) -> str:
        return self._text()[0]

    @property
    def expected_text(self) -> str:
        return self._text()[1]

    @property
    def sentence(self) -> str:
        return self._text()[2]

    @property
    def missing(self) -> list[str]:
        """The figures to supply when this condition is UNKNOWN."""
        return missing_for(self.atom.field, self._ctx.facts) if self.truth is U and self.atom else []

    def _text(self) -> tuple[str, str, str]:
        if self._texts is None:
            key = (id(self.atom), self.negated)  # the texts do not depend on the item or path
            texts = self._ctx.texts.get(key)
            if texts is None:
                texts = self._ctx.texts[key] = _texts(self)
            self._texts = texts
        return self._texts

    def as_dict(self) -> dict:
        return {"path": self.path, "field": self.field, "label": self.label, "truth": self.truth.name.lower(),
                "actual": self.actual_text, "expected": self.expected_text, "sentence": self.sentence}

    def __repr__(self) -> str:
        return f"<ConditionResult {self.path} {self.truth.name}: {self.sentence}>"


def missing_for(field: str, facts: dict) -> list[str]:
    """Underlying figures that make a condition on ``field`` undecidable (empty when decidable)."""
    if field == "size":
        gaps = [f for f in ("employees", "operating_revenue", "total_assets") if facts.get(f) is None]
        return gaps or ["size"]
    sources = rules.SOURCES.get(field, (field,))
    gaps = [f for f in sources if facts.get(f) in (None, "")]
    if not gaps and field == "rd_ratio" and facts.get("operating_revenue") == 0:
        return ["operating_revenue"]
    return gaps


def _effective(atom: Atom, negated: bool) -> tuple[str, object]:
    """The (op, value) a negated atom actually requires (flag == v negated is == not v)."""
    if not negated:
        return atom.op, atom.value
    if atom.field in ("serious_dishonest", "abnormal_operation"):
        return "==", not atom.value
    return rules.COMPLEMENT[atom.op], atom.value


def _texts(cr: ConditionResult) -> tuple[str, str, str]:
    atom, ctx = cr.atom, cr._ctx
    spec = rules.FIELDS[atom.field]
    op, value = _effective(atom, cr.negated)
    names = ctx.names.get(spec.kind) if spec.kind in ("region", "industry", "tag") else None
    expected = rules.requirement(atom.field, op, value, names)
    if cr.truth is U:
        return "缺少数据", expected, _unknown_sentence(atom.field, ctx.facts)
    if spec.kind in ("tag", "certification", "flag"):
        actual = _holding_text(atom, spec, ctx, names)
        short = _short_requirement(spec, op, value)
        return actual, expected, actual if cr.truth is T else f"{actual},需{short}"
    actual = _actual(atom, ctx)
    if expected[:1] in "≥≤><=≠":
        verdict = f"{'满足' if cr.truth is T else '需'} {expected}"
    else:
        verdict = f"满足“{expected}”" if cr.truth is T else f"需{expected}"
    return actual, expected, f"{cr.label} {actual},{verdict}"


def _unknown_sentence(field: str, facts: dict) -> str:
    label = rules.FIELDS[field].label
    if field == "rd_ratio" and facts.get("rd_expense") is not None and facts.get("operating_revenue") == 0:
        return f"营业收入为 0,无法判断{label}"
    gaps = missing_for(field, facts)
    figures = "、".join(rules.FIELDS[g].label if g in rules.FIELDS else g for g in gaps)
    return f"缺少{figures}数据,无法判断{label}"


def _holding_text(atom: Atom, spec, ctx: _Context, names) -> str:
    facts, d = ctx.facts, ctx.as_of
    if spec.kind == "flag":
        return ("已" if listed_on(facts, atom.field, d) else "未") + spec.label
    have = held_on(facts, d) if spec.kind == "certification" else set(facts.get("tags") or ())
    hit = atom.value & have
    shown = rules.codes_text(atom.field, hit or atom.value, names, "、" if hit else "或")
    if spec.kind == "certification":
        return f"持有有效的{shown}资质" if hit else f"未持有有效的{shown}资质"
    return f"具有{shown}标签" if hit else f"不具有{shown}标签"


def _short_requirement(spec, op: str, value) -> str:
    if spec.kind == "flag":
        return "已列入" if value else "未列入"
    if spec.kind == "certification":
        return "持有" if op == "in" else "未持有"
    return "具有" if op == "in" else "不具有"


def _actual(atom: Atom, ctx: _Context) -> str:
    facts, field = ctx.facts, atom.field
    kind = rules.FIELDS[field].kind
    if kind == "ratio":
        return percent_text(ratio_of(facts), atom.value)
    if kind == "age":
        return f"{age_on(facts['established_on'], ctx.as_of)} 年"
    if kind in ("number", "date"):
        return rules.fmt_scalar(field, facts[field])
    if kind == "choice":
        return rules.code_name(field, facts[field])
    code = facts.get(field) or ""
    if not code:
        return "未登记"
    if kind == "industry":
        section = rules.industry_section(code)
        return code if code.isalpha() or not section else f"{code}({rules.SECTION_NAMES[section]} {section})"
    return rules.code_name(field, code, ctx.names.get("region"))


def percent_text(x: Fraction, thresholds) -> str:
    """x as a percent with one decimal, more when rounding would hide its side of a threshold."""
    bounds = [Fraction(t) for t in (thresholds if isinstance(thresholds, tuple) else (thresholds,))]
    for places in range(1, 8):
        shown = round(x * 100, places)
        if all((shown > b * 100) - (shown < b * 100) == (x > b) - (x < b) for b in bounds):
            break
    q = Decimal(shown.numerator) / Decimal(shown.denominator)
    return f"{q.quantize(Decimal(1).scaleb(-places))}%"


# ---- evaluation -------------------------------------------------------------------------------------------

class Evaluation:
    """One enterprise against one compiled rule. ``status``/``truth`` are computed at once; ``conditions``,
    ``gaps`` (the alternative single FALSE conditions of a near-miss, else empty) and ``missing`` (figures to
    supply, for an UNKNOWN result) on first access."""

    __slots__ = ("status", "truth", "_root", "_ctx", "_conditions", "_one", "_special")

    def __init__(self, status: Status, truth: Truth, root: Node | None, ctx: _Context | None, special=None):
        self.status, self.truth, self._root, self._ctx = status, truth, root, ctx
        self._conditions = special
        self._one = None
        self._special = special is not None

    @property
    def conditions(self) -> list[ConditionResult]:
        if self._conditions is None:
            self._conditions = [self._result(n) for n in _atom_nodes(self._root)]
        return self._conditions

    def _result(self, node: Node) -> ConditionResult:
        t = self._ctx.truth(node.atom)
        return ConditionResult(node.path, node.atom, node.negated, NEG[t] if node.negated else t, self._ctx)

    @property
    def gaps(self) -> list[ConditionResult]:
        if self.status is not Status.NEAR_MISS:
            return []
        return [self._result(n) for n in _gap_nodes(self._root, self._ctx)]

    @property
    def missing(self) -> list[str]:
        if self.status is not Status.UNKNOWN:
            return []
        out: dict[str, None] = {}
        for node in _unknown_nodes(self._root, self._ctx):
            out.update(dict.fromkeys(missing_for(node.atom.field, self._ctx.facts)))
        return list(out)

    def as_dict(self) -> dict:
        return {"status": self.status.value, "conditions": [c.as_dict() for c in self.conditions],
                "gaps": [c.sentence for c in self.gaps], "missing": self.missing}

    def __repr__(self) -> str:
        return f"<Evaluation {self.status.value}>"


def _atom_nodes(node: Node | None) -> list[Node]:
    """The atom nodes in rule order (iterative: cheaper than a recursive generator)."""
    out, stack = [], [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n.kind == "atom":
            out.append(n)
        else:
            stack.extend(reversed(n.children))
    return out


def _walk(node: Node, ctx: _Context) -> tuple[Truth, bool]:
    """(truth, one away) of a node — the near-miss algebra of engine/__init__.py.

    Written as flat loops with atom children inline: this is the inner loop of the 政策计算器."""
    if node.kind == "atom":
        t = ctx.truth(node.atom)
        if node.negated:
            t = NEG[t]
        return t, t is F
    truths, truth_of = ctx.truths, ctx.truth
    if node.kind == "all":
        false = unknown = blocked = False
        ones = 0
        for c in node.children:
            if c.kind == "atom":
                t = truths.get(id(c.atom))
                if t is None:
                    t = truth_of(c.atom)
                if c.negated:
                    t = NEG[t]
                one = t is F
            else:
                t, one = _walk(c, ctx)
            if t is F:
                false = True
            elif t is U:
                unknown = True
            if one:
                ones += 1
            elif t is not T:
                blocked = True  # a FALSE child that is not one away, or an UNKNOWN one
        return (F if false else U if unknown else T), ones == 1 and not blocked
    unknown = some = False
    for c in node.children:
        if c.kind == "atom":
            t = truths.get(id(c.atom))
            if t is None:
                t = truth_of(c.atom)
            if c.negated:
                t = NEG[t]
            one = t is F
        else:
            t, one = _walk(c, ctx)
        if t is T:
            return T, False
        if t is U:
            unknown = True
        some = some or one
    return (U, False) if unknown else (F, some)


def _gap_nodes(node: Node, ctx: _Context) -> list[Node]:
    """The atoms of a one-away node whose fixing alone makes it TRUE."""
    if node.kind == "atom":
        return [node]
    out = []
    for c in node.children:
        if c.kind == "atom":  # inline: an atom is one away when it is FALSE after negation
            t = ctx.truth(c.atom)
            if (t is T) if c.negated else (t is F):
                out.append(c)
        elif _walk(c, ctx)[1]:
            out.extend(_gap_nodes(c, ctx))
    return out


def _unknown_nodes(node: Node, ctx: _Context) -> list[Node]:
    """The UNKNOWN atoms an UNKNOWN node depends on (children that are TRUE or FALSE are decided)."""
    if node.kind == "atom":
        return [node]
    return [u for c in node.children if _walk(c, ctx)[0] is U for u in _unknown_nodes(c, ctx)]


def _not_active(facts: dict) -> Evaluation:
    code = facts.get("status") or ""
    label = rules.STATUS_LABELS.get(code, code or "未知")
    result = ConditionResult("", None, False, F, None, ("企业登记状态:" + label, "存续", "企业登记状态非存续"), "status")
    return Evaluation(Status.INELIGIBLE, F, None, None, [result])


def _evaluate(compiled: CompiledRule, ctx: _Context) -> Evaluation:
    if compiled.root is None:
        return Evaluation(Status.ELIGIBLE, T, None, ctx)
    truth, one = _walk(compiled.root, ctx)
    status = (Status.ELIGIBLE if truth is T else Status.UNKNOWN if truth is U
              else Status.NEAR_MISS if one else Status.INELIGIBLE)
    return Evaluation(status, truth, compiled.root, ctx)


def evaluate(compiled: CompiledRule, facts: dict, *, names: dict | None = None) -> Evaluation:
    """One enterprise against one compiled rule, with per-condition explanations.

    ``names`` (optional): {"region": {code: name}, "industry": {…}, "tag": {…}} for the sentences."""
    if facts.get("status", "active") != "active":
        return _not_active(facts)
    return _evaluate(compiled, _Context(facts, compiled.as_of, names))


def evaluate_many(compiled_by_item: dict, facts: dict, *, names: dict | None = None) -> dict:
    """One enterprise against many items ({key: CompiledRule} → {key: Evaluation}); each distinct atom is
    evaluated once per evaluation date and shared, texts are built only when read."""
    if facts.get("status", "active") != "active":
        return {key: _not_active(facts) for key in compiled_by_item}
    contexts: dict[dt.date, _Context] = {}
    out = {}
    for key, compiled in compiled_by_item.items():
        ctx = contexts.get(compiled.as_of)
        if ctx is None:
            ctx = contexts[compiled.as_of] = _Context(facts, compiled.as_of, names)
        out[key] = _evaluate(compiled, ctx)
    return out
