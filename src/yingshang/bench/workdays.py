"""``yingshang bench workdays [--calls N] [--baseline-calls M] [--seed S]``: working-day arithmetic speed.

Times ``WorkCalendar.add`` and ``between`` over random (start, n) pairs after a warm-up, and, in the
same run, a naive baseline that walks day by day asking ``chinese_calendar.is_workday``. The last
line is JSON: add_us_per_call, between_us_per_call, baseline_us_per_call, speedup.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time

from yingshang.workcal import seed


def naive_add(start: dt.date, n: int) -> dt.date:
    """The day-by-day loop the engine replaces (positive n only)."""
    import chinese_calendar

    day = start
    while n > 0:
        day += dt.timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return day


def _pairs(rng: random.Random, count: int, first: dt.date, last: dt.date, max_n: int) -> list[tuple[dt.date, int]]:
    span = (last - first).days
    return [(first + dt.timedelta(days=rng.randrange(span)), rng.randint(-max_n, max_n)) for _ in range(count)]


def _time(fn, args: list[tuple]) -> float:
    """Microseconds per call of fn(*a) over args."""
    t0 = time.perf_counter()
    for a in args:
        fn(*a)
    return (time.perf_counter() - t0) / len(args) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="yingshang bench workdays")
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--baseline-calls", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    cal = seed.package_calendar()
    pairs = _pairs(rng, args.calls, dt.date(2004, 1, 1), dt.date(2030, 12, 31), 60)
    ends = [(d, d + dt.timedelta(days=rng.randint(-400, 400))) for d, _ in pairs]
    _time(cal.add, pairs[:10_000])  # warm-up
    add_us = min(_time(cal.add, pairs) for _ in range(3))
    between_us = min(_time(cal.between, ends) for _ in range(3))
    # Baseline: positive n and dates the package knows (it refuses later years).
    base_pairs = [(d, abs(n) or 1) for d, n in _pairs(rng, args.baseline_calls, dt.date(2004, 1, 1),
                                                         dt.date(2026, 9, 30), 60)]
    mismatches = sum(cal.add(d, n).date != naive_add(d, n) for d, n in base_pairs[:500])
    baseline_us = _time(naive_add, base_pairs)
    print(f"add:      {add_us:8.2f} µs/call over {len(pairs):,} random (start, n), |n| ≤ 60, 2004–2030")
    print(f"between:  {between_us:8.2f} µs/call over {len(ends):,} random spans of ≤ 400 days")
    print(f"baseline: {baseline_us:8.2f} µs/call (day-by-day chinese_calendar.is_workday, {len(base_pairs):,} calls)")
    print(f"engine vs baseline disagreements on 500 sampled pairs: {mismatches}")
    print(json.dumps({"add_us_per_call": round(add_us, 3), "between_us_per_call": round(between_us, 3),
                      "baseline_us_per_call": round(baseline_us, 3), "speedup": round(baseline_us / add_us, 1),
                      "calls": len(pairs), "baseline_calls": len(base_pairs), "mismatches": mismatches}))
    return 1 if mismatches else 0
