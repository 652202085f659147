"""The 诉求 KPI page's data: the figures of ``kpis.compute`` per unit with their totals, the bar chart of
units and the trend over the last months, each limited to what the reader may see (``kpi_access``).

Nothing here counts anything itself: every figure comes from ``kpis.compute`` / ``kpis.cases_behind``.
The totals add numerators and denominators over the units (each task, round and event belongs to exactly
one unit, so the sums are the scope's own figures); the total average handling time is the mean weighted
by the number of cases behind each unit's average.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet

from yingshang.appeals import kpi_access, kpis
from yingshang.core.errors import ValidationFailed
from yingshang.core.models import Department, Region

RATE_KPIS = kpis.KPIS[:-1]  # the seven ratios; "handling" is an average
TREND_MONTHS = 6
MAX_CASES = 500
GROUP_LABELS = {"department": "按承办单位", "region": "按县区"}


# ---------------------------------------------------------------- periods
def previous_month(today: dt.date) -> str:
    """The month before ``today`` as "YYYY-MM" (the default period: the last complete month)."""
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def _last_month_of(period: str) -> tuple[int, int]:
    start, end = kpis.period_bounds(period)
    last = end - dt.timedelta(days=1)
    return last.year, last.month


def months_ending(period: str, count: int = TREND_MONTHS) -> list[str]:
    """The ``count`` months up to the last month of ``period`` (a month or a quarter), oldest first."""
    year, month = _last_month_of(period)
    index = year * 12 + month - 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def valid_period(value: str) -> bool:
    """True for a month "YYYY-MM" or a quarter "YYYY-Qn"."""
    try:
        kpis.period_bounds(value)
    except ValidationFailed:
        return False
    return True


def period_label(period: str) -> str:
    """"2026年3月" or "2026年第4季度" (the period must be valid)."""
    kpis.period_bounds(period)
    year, rest = period.split("-")
    return f"{year}年第{rest[1]}季度" if rest.startswith("Q") else f"{year}年{int(rest)}月"


def period_choices(today: dt.date, current: str = "", months: int = 24, quarters: int = 8) -> list[tuple[str, str]]:
    """Recent months and quarters for the picker (newest first), plus ``current`` when older."""
    month_values = list(reversed(months_ending(f"{today.year}-{today.month:02d}", months)))
    q_index = today.year * 4 + (today.month - 1) // 3
    quarter_values = [f"{i // 4}-Q{i % 4 + 1}" for i in range(q_index, q_index - quarters, -1)]
    values = month_values + quarter_values
    if current and current not in values:
        values.append(current)
    return [(v, period_label(v)) for v in values]


# ---------------------------------------------------------------- totals
def _sum_ratio(ratios: list[kpis.Ratio]) -> kpis.Ratio:
    num, den = sum(r.numerator for r in ratios), sum(r.denominator for r in ratios)
    num = int(num) if float(num).is_integer() else round(num, 4)
    return kpis.Ratio(num, den, round(num / den, 4) if den else None)


def total_row(rows: list[kpis.Row], label: str = "合计") -> kpis.Row:
    """The scope's figures: numerators and denominators added over the units."""
    handled = sum(r.handled for r in rows)
    days = sum(r.avg_handling_workdays * r.handled for r in rows if r.avg_handling_workdays is not None)
    avg = round(days / handled, 2) if handled else None
    return kpis.Row("", label, *(_sum_ratio([getattr(r, k) for r in rows]) for k in RATE_KPIS), avg, handled)


def pct(ratio: kpis.Ratio) -> float | None:
    """A ratio's rate in per cent, one decimal (None without a denominator)."""
    return None if ratio.rate is None else round(ratio.rate * 100, 1)


# ---------------------------------------------------------------- the page
@dataclass
class KpiReport:
    period: str
    group_by: str
    unit: str  # the unit of the trend line ('' = the whole scope)
    rows: list[kpis.Row]
    total: kpis.Row
    trend: dict = field(default_factory=dict)
    bars: dict = field(default_factory=dict)

    @property
    def unit_label(self) -> str:
        return next((r.label for r in self.rows if r.key == self.unit), self.unit) if self.unit else "全部"


def _check_unit(group_by: str, unit: str) -> None:
    """The trend's unit must be a department code or a county code known to the platform."""
    if not unit:
        return
    known = (Department.objects.filter(code=unit).exists() if group_by == "department"
             else len(unit) == 6 and unit.isdigit() and Region.objects.filter(code=unit).exists())
    if not known:
        raise ValidationFailed(f"单位「{unit[:40]}」不存在", fields={"unit": "请从列表中选择单位"})


def _series(rows_by_month: list[kpis.Row | None]) -> dict:
    out = {k: [None if r is None else pct(getattr(r, k)) for r in rows_by_month] for k in RATE_KPIS}
    out["handling"] = [None if r is None else r.avg_handling_workdays for r in rows_by_month]
    return out


def trend(user, period: str, group_by: str, prefix: str, unit: str, current: list[kpis.Row] | None = None) -> dict:
    """Each KPI over the last months: the unit's row, or the total of the reader's rows when no unit
    (``current``: the rows already computed for ``period`` when it is a month)."""
    months, picked = months_ending(period), []
    for month in months:
        if month == period and current is not None:
            rows = current
        else:
            rows = [r for r in kpi_access.own_rows(user, kpis.compute(month, group_by, prefix), group_by) if r.key]
        picked.append(next((r for r in rows if r.key == unit), None) if unit else total_row(rows))
    series = _series(picked)
    has_data = any(v is not None for values in series.values() for v in values)
    return {"months": months, "series": series, "has_data": has_data}


def bars(rows: list[kpis.Row]) -> dict:
    """Per unit, each KPI (rates in per cent, handling in working days) for the comparison chart."""
    return {"units": [r.label for r in rows], "series": _series(rows)}


def kpi_report(user, period: str, group_by: str = "department", unit: str = "") -> KpiReport:
    """The KPI page: the reader's units for the period, their total, the bar and trend chart data."""
    prefix = kpi_access.access_kpis(user)
    if kpi_access.department_bound(user):
        unit = kpi_access.own_department_code(user) or ""
    rows = kpi_access.own_rows(user, kpis.compute(period, group_by, prefix), group_by)
    _check_unit(group_by, unit)
    rows = [r for r in rows if r.key]  # events whose department was cleared (SET_NULL) belong to no unit
    return KpiReport(period, group_by, unit, rows, total_row(rows),
                     trend=trend(user, period, group_by, prefix, unit, rows), bars=bars(rows))


def kpi_cases(user, period: str, group_by: str, key: str, kpi: str, part: str = "denominator") -> QuerySet:
    """The cases behind one unit's figure that the reader may see (numerator or denominator)."""
    prefix = kpi_access.access_kpis(user)
    kpi_access.access_kpi_unit(user, group_by, key)
    return kpis.cases_behind(period, group_by, key, kpi, prefix, part)


def unit_label(group_by: str, key: str) -> str:
    """The name of a unit (department or county) for headings; the key itself when unknown."""
    model = Department.objects.filter(code=key) if group_by == "department" else Region.objects.filter(code=key)
    return model.values_list("name", flat=True).first() or key
