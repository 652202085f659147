"""How a short budget is shared among the open 免申即享 claims of an item: pure, no database.

``allocate`` decides the selected claims' amounts over ALL open claims of the item, so a selection never
takes money an earlier claim (rule "order") or a proportional share (rule "pro_rata") is owed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from yingshang.core.errors import Conflict
from yingshang.policies.models import AllocationRule, RedemptionStatus as RS

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass
class Allocation:
    """The outcome of one confirmation: per selected redemption (confirmed amount, shortfall, status)."""

    decided: dict[int, tuple[Decimal | None, Decimal, str]] = field(default_factory=dict)
    remaining_before: Decimal | None = None
    # "order" only: unselected earlier claims the budget would serve first while a selected one goes short.
    passed_over: list = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for _, _, s in self.decided.values() if s == status)

    @property
    def confirmed_total(self) -> Decimal:
        return sum((a for a, _, s in self.decided.values() if s == RS.CONFIRMED), ZERO)

    @property
    def reduced(self) -> int:
        return sum(1 for _, short, s in self.decided.values() if s == RS.CONFIRMED and short > 0)


@dataclass(frozen=True)
class Claim:
    """An open (pending/short) redemption as the allocation sees it."""

    pk: int
    enterprise_id: int
    amount_estimated: Decimal


def allocate(rows: list, remaining: Decimal | None, rule: str, open_rows: list | None = None) -> Allocation:
    """Decide amounts for the selected ``rows`` given the remaining budget (None = unlimited).

    ``open_rows`` are ALL open claims of the item in eligibility order (``rows`` among them; default: just
    ``rows``). When the remainder cannot cover them all, the rule is applied over all of them, so a
    selection never takes money an earlier claim (order) or a proportional share (pro rata) is owed."""
    pool = _pool(rows, open_rows)
    result = Allocation(remaining_before=remaining)
    total = sum((r.amount_estimated for r in pool), ZERO)
    if remaining is None or total <= remaining:
        decided = {r.pk: (r.amount_estimated, ZERO, RS.CONFIRMED) for r in pool}
    elif remaining <= 0:
        decided = {r.pk: (None, r.amount_estimated, RS.SHORT) for r in pool}
    elif rule == AllocationRule.PRO_RATA:
        decided = _pro_rata(pool, remaining, total)
    else:
        decided = _in_order(pool, remaining)
    chosen = {r.pk for r in rows}
    result.decided = {pk: d for pk, d in decided.items() if pk in chosen}
    if result.count(RS.SHORT) and remaining is not None and remaining > 0:
        result.passed_over = [r for r in pool if r.pk not in chosen and decided[r.pk][2] == RS.CONFIRMED]
    return result


def _pool(rows: list, open_rows: list | None) -> list:
    if open_rows is None:
        return list(rows)
    known = {r.pk for r in open_rows}
    return list(open_rows) + [r for r in rows if r.pk not in known]  # defensive: a stray row counts as latest


def _pro_rata(rows, remaining: Decimal, total: Decimal) -> dict:
    # Every open claim's share of the remainder, rounded down to the fen, so the sum never exceeds it.
    # A claim confirmed later gets at least the share computed now (the rounding leftovers stay in the pot).
    out = {}
    for r in rows:
        share = (r.amount_estimated * remaining / total).quantize(FEN, rounding=ROUND_DOWN)
        out[r.pk] = (share, r.amount_estimated - share, RS.CONFIRMED)
    return out


def _in_order(rows, remaining: Decimal) -> dict:
    # Whole amounts in order of eligibility; the first that does not fit and every later one wait (SHORT),
    # so a later, smaller claim never overtakes an earlier one.
    out, left, stopped = {}, remaining, False
    for r in rows:
        stopped = stopped or r.amount_estimated > left
        if stopped:
            out[r.pk] = (None, r.amount_estimated, RS.SHORT)
        else:
            out[r.pk] = (r.amount_estimated, ZERO, RS.CONFIRMED)
            left -= r.amount_estimated
    return out


def _check_passed_over(alloc: Allocation) -> None:
    """Refuse (we never confirm rows the clerk did not tick) a selection that would leave earlier claims the
    budget serves first unconfirmed while its own later rows go short: the clerk must include them."""
    if not alloc.passed_over:
        return
    waiting = sum((r.amount_estimated for r in alloc.passed_over), ZERO)
    raise Conflict(f"按符合条件先后分配预算:剩余预算 {alloc.remaining_before:.2f} 元不足以兑现全部待确认记录,"
                   f"尚有 {len(alloc.passed_over)} 条更早符合条件的兑现记录(合计 {waiting:.2f} 元)未勾选,"
                   f"所选记录中有 {alloc.count(RS.SHORT)} 条排在其后,不能越过它们确认。请一并勾选或先确认更早的记录。")
