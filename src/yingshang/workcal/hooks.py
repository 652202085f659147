"""What runs when the calendar of some years changes: later issues register deadline recomputation.

Two ways to listen: ``register_recompute(func)`` (``func(years: set[int])``, called in the same
transaction as the change, so a failure rolls the notice back) and the ``calendar_changed`` signal
(``sender=HolidayNotice``, ``years=set[int]``).
"""
from __future__ import annotations

from collections.abc import Callable

from django.dispatch import Signal

calendar_changed = Signal()  # kwargs: years (set[int])

_recompute: list[Callable[[set[int]], None]] = []


def register_recompute(func: Callable[[set[int]], None]) -> Callable[[set[int]], None]:
    """Register ``func(years)`` to run after a notice changed those years; usable as a decorator."""
    if func not in _recompute:
        _recompute.append(func)
    return func


def unregister_recompute(func: Callable[[set[int]], None]) -> None:
    if func in _recompute:
        _recompute.remove(func)


def fire(years: set[int]) -> None:
    """Run every registered recompute function, then send ``calendar_changed``."""
    from yingshang.workcal.models import HolidayNotice

    for func in list(_recompute):
        func(set(years))
    calendar_changed.send(sender=HolidayNotice, years=set(years))
