"""The compiled form of a rule, shared by the row evaluator and the columnar matcher.

``rules.compile_rule(rule, params, as_of)`` produces a ``CompiledRule``: parameters resolved for the
evaluation date, ``not`` pushed down to the atoms (``Node.negated``), values normalised so that equal
conditions of different items compare equal (and are evaluated once by the columnar matcher).
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Union

# Normalised atom values:
#   numbers (incl. money in 万元, rd_ratio, age_years): Decimal; "between": (Decimal, Decimal)
#   established_on: dt.date; "between": (dt.date, dt.date)
#   choices, region, industry, tag, certification with in/not_in: frozenset[str]
#       (``==``/``!=`` on choices and has/not_has become in/not_in with one element)
#   flags: bool
AtomValue = Union[Decimal, dt.date, tuple, frozenset, bool]

OPS = (">=", "<=", ">", "<", "==", "!=", "between", "in", "not_in")


@dataclass(frozen=True)
class Atom:
    """One condition after normalisation; hashable, so equal conditions across items are shared."""

    field: str
    op: str  # one of OPS (has → in, not_has → not_in; ``==``/``!=`` on choices → in/not_in)
    value: AtomValue


@dataclass(frozen=True)
class Node:
    """A node of the compiled tree: a group ("all"/"any") or an atom (possibly negated by a pushed-down not)."""

    kind: str  # "all" | "any" | "atom"
    children: tuple["Node", ...] = ()
    atom: Atom | None = None
    negated: bool = False
    path: str = ""  # position in the source rule, 1-based, e.g. "2.1" (for explanations and messages)
    source: dict | None = field(default=None, compare=False, hash=False)  # the source condition JSON


@dataclass(frozen=True)
class CompiledRule:
    root: Node | None  # None = no condition (every candidate qualifies)
    atoms: tuple[Atom, ...]  # distinct atoms in first-appearance order
    as_of: dt.date


class Truth(enum.IntEnum):
    FALSE = 0
    TRUE = 1
    UNKNOWN = 2


class Status(str, enum.Enum):
    ELIGIBLE = "eligible"
    NEAR_MISS = "near_miss"
    UNKNOWN = "unknown"
    INELIGIBLE = "ineligible"


# Facts: the row evaluator's input for one enterprise (built by ``engine_db.facts_for`` or by tests).
#   "id": int, "status": str (EnterpriseStatus code; only "active" is a candidate)
#   "employees": int | None; "registered_capital", "operating_revenue", "total_assets", "rd_expense",
#   "taxable_income": Decimal | None (万元); "established_on": dt.date | None
#   "size", "tax_credit_rating", "taxpayer_kind": str | None; "legal_form": str
#   "region": str (the full region code); "industry": str (the registered GB/T 4754 code, 1–4 chars)
#   "tags": frozenset[str]; "certifications": {kind: (valid_from | None, valid_to | None)}
#   "credit": tuple of (kind, listed_on, removed_on | None)
# A certification is valid on d when (valid_from is None or valid_from <= d) and (valid_to is None or
# d <= valid_to); a credit listing is in force on d when listed_on <= d and (removed_on is None or d < removed_on).
Facts = dict
