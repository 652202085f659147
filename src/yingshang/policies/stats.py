"""兑现 figures per item, department and county: eligible, notified, applied, approved, paid, amount paid,
兑现率 (paid ÷ eligible) and 直达天数 (days from an item's publication to each payout, median and mean).

Every figure is one grouped query (GROUP BY the dimension with conditional aggregates); the days are
fetched as one column of durations and reduced with NumPy, so the cost does not grow with Python loops
over records. Definitions:
- eligible: the matcher's eligible count (MatchResult, summed over shards; per county, or within a county or
  wider region prefix, from its county breakdown; within a street-level prefix (more than six digits) the
  breakdown would count the whole county, so the stored eligible ids are joined to Enterprise.region instead);
- notified: pushes with status "sent";
- applied: applications in any status except withdrawn, plus 免申即享 redemptions except cancelled (a
  redemption stands for the application the enterprise did not have to make);
- approved: applications approved/paid/received plus redemptions confirmed/paid/received;
- paid: applications and redemptions paid or received; amount paid: their approved/confirmed amounts.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Substr

from yingshang.core.models import Department, Region
from yingshang.enterprises.models import Enterprise
from yingshang.policies.models import (Application, ApplicationStatus as AS, MatchResult, PolicyItem, PolicyPush,
                                       PushStatus, Redemption, RedemptionStatus as RS)

DIMENSIONS = ("item", "department", "county")
APP_APPROVED = (AS.APPROVED, AS.PAID, AS.RECEIVED)
APP_PAID = (AS.PAID, AS.RECEIVED)
RED_APPROVED = (RS.CONFIRMED, RS.PAID, RS.RECEIVED)
RED_PAID = (RS.PAID, RS.RECEIVED)
COUNTY_DIGITS = 6
TOTAL = "total"
ZERO = Decimal("0.00")
FIGURES = ("eligible", "notified", "applied", "approved", "paid")


def _key(dimension: str):
    """The GROUP BY expression of a dimension on models with ``item`` and ``enterprise`` foreign keys."""
    if dimension == "item":
        return F("item_id")
    if dimension == "department":
        return F("item__department_id")
    if dimension == "county":
        return Substr("enterprise__region_id", 1, COUNTY_DIGITS)
    return Value(TOTAL)


def _scoped(qs: QuerySet, items: QuerySet | None, prefix: str) -> QuerySet:
    if items is not None:
        qs = qs.filter(item__in=items)
    if prefix:
        qs = qs.filter(enterprise__region__code__startswith=prefix)
    return qs.order_by()


def _grouped(qs: QuerySet, dimension: str, **aggregates) -> dict:
    """{key: {name: value}} of ``aggregates`` grouped by the dimension's key."""
    rows = qs.annotate(k=_key(dimension)).values("k").annotate(**aggregates)
    return {r.pop("k"): r for r in rows}


# ---------------------------------------------------------------- the sources
def _eligible(dimension: str, items, prefix: str) -> dict:
    qs = MatchResult.objects.order_by()
    if items is not None:
        qs = qs.filter(item__in=items)
    if len(prefix) > COUNTY_DIGITS:
        return _eligible_below_county(dimension, qs, prefix)
    if dimension != "county" and not prefix:
        return {k: v["n"] or 0 for k, v in _grouped(qs, dimension, n=Sum("eligible_count")).items()}
    # Per county (or limited to a county or above): the breakdown by county, one JSON object per item and shard.
    out: dict = {}
    for key, counties in qs.annotate(k=_key(dimension if dimension != "county" else TOTAL)).values_list(
            "k", "breakdown__county"):
        for code, counts in (counties or {}).items():
            if code.startswith(prefix) or prefix.startswith(code):
                k = code[:COUNTY_DIGITS] if dimension == "county" else key
                out[k] = out.get(k, 0) + int((counts or {}).get("eligible", 0))
    return out


def _eligible_below_county(dimension: str, qs: QuerySet, prefix: str) -> dict:
    """Eligible inside a street-level prefix: the county breakdown would count the whole county, so the stored
    eligible ids are intersected with the enterprises registered under the prefix (one query for those)."""
    from yingshang.policies.matching import stored_ids

    local = np.fromiter(Enterprise.objects.in_region(prefix).values_list("id", flat=True).iterator(chunk_size=20000),
                        dtype=np.int64)
    if not len(local):
        return {}
    per_item: dict[int, list] = {}
    for result in qs.filter(revision__gt=0).only("id", "item_id", "revision", "eligible").iterator(chunk_size=50):
        per_item.setdefault(result.item_id, []).append(stored_ids(result, "eligible"))
    departments = dict(PolicyItem.objects.filter(pk__in=per_item).values_list("pk", "department_id"))
    out: dict = {}
    for item_id, parts in per_item.items():
        n = int(np.isin(np.unique(np.concatenate(parts)), local, assume_unique=True).sum())
        k = {"item": item_id, "department": departments.get(item_id), "county": prefix[:COUNTY_DIGITS]}.get(
            dimension, TOTAL)
        out[k] = out.get(k, 0) + n
    return out


def _notified(dimension: str, items, prefix: str) -> dict:
    qs = _scoped(PolicyPush.objects.filter(status=PushStatus.SENT), items, prefix)
    return {k: v["n"] for k, v in _grouped(qs, dimension, n=Count("id")).items()}


def _records(dimension: str, items, prefix: str) -> list[dict]:
    apps = _grouped(_scoped(Application.objects.all(), items, prefix), dimension,
                    applied=Count("id", filter=~Q(status=AS.WITHDRAWN)),
                    approved=Count("id", filter=Q(status__in=APP_APPROVED)),
                    paid=Count("id", filter=Q(status__in=APP_PAID)),
                    amount_paid=Sum("amount_approved", filter=Q(status__in=APP_PAID)))
    reds = _grouped(_scoped(Redemption.objects.all(), items, prefix), dimension,
                    applied=Count("id", filter=~Q(status=RS.CANCELLED)),
                    approved=Count("id", filter=Q(status__in=RED_APPROVED)),
                    paid=Count("id", filter=Q(status__in=RED_PAID)),
                    amount_paid=Sum("amount_confirmed", filter=Q(status__in=RED_PAID)))
    return [apps, reds]


def _paid_days(dimension: str, items, prefix: str) -> dict:
    """{key: (median, mean)} of days from publication to payout over paid applications and redemptions."""
    keys, days = [], []
    delay = ExpressionWrapper(F("paid_at") - F("item__published_at"), output_field=DurationField())
    for model, statuses in ((Application, APP_PAID), (Redemption, RED_PAID)):
        qs = _scoped(model.objects.filter(status__in=statuses, paid_at__isnull=False,
                                          item__published_at__isnull=False), items, prefix)
        pairs = list(qs.annotate(k=_key(dimension), d=delay).values_list("k", "d"))
        if pairs:
            k, d = zip(*pairs)
            keys.extend(k)
            days.append(np.array(d, dtype="timedelta64[us]") / np.timedelta64(1, "D"))
    if not keys:
        return {}
    return _group_median_mean(np.array(keys, dtype=object), np.concatenate(days))


def _group_median_mean(keys: np.ndarray, days: np.ndarray) -> dict:
    """Median and mean of ``days`` per distinct key, vectorised (one sort, no loop over records)."""
    uniq, inv = np.unique(keys, return_inverse=True)
    inv = inv.reshape(-1)
    order = np.lexsort((days, inv))
    ordered = days[order]
    counts = np.bincount(inv, minlength=len(uniq))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    median = (ordered[starts + (counts - 1) // 2] + ordered[starts + counts // 2]) / 2
    mean = np.bincount(inv, weights=days, minlength=len(uniq)) / counts
    return {uniq[i]: (round(float(median[i]), 1), round(float(mean[i]), 1)) for i in range(len(uniq))}


# ---------------------------------------------------------------- assembling the figures
def _labels(dimension: str, keys) -> dict:
    if dimension == "item":
        return dict(PolicyItem.objects.filter(pk__in=keys).values_list("pk", "title"))
    if dimension == "department":
        return dict(Department.objects.filter(pk__in=keys).values_list("pk", "name"))
    if dimension == "county":
        return dict(Region.objects.filter(code__in=keys).values_list("code", "name"))
    return {TOTAL: "合计"}


def _row(key, label: str, sources: dict) -> dict:
    row = {"key": key, "label": label, "eligible": sources["eligible"].get(key, 0),
           "notified": sources["notified"].get(key, 0), "applied": 0, "approved": 0, "paid": 0, "amount_paid": ZERO}
    for part in sources["records"]:
        got = part.get(key) or {}
        for name in ("applied", "approved", "paid"):
            row[name] += got.get(name) or 0
        row["amount_paid"] += got.get("amount_paid") or ZERO
    row["rate"] = round(row["paid"] / row["eligible"], 4) if row["eligible"] else None
    row["days_median"], row["days_mean"] = sources["days"].get(key, (None, None))
    return row


def figures(dimension: str, items: QuerySet | None = None, prefix: str = "") -> list[dict]:
    """Figures grouped by ``dimension`` ("item", "department", "county" or "total"), most eligible first.

    ``items`` limits the items counted (a PolicyItem queryset); ``prefix`` limits to enterprises (and
    counties) inside a region code prefix. By default the items followed to payout or approval
    (``PolicyItem.objects.redeemable()``): a tax benefit applied automatically has nothing to pay."""
    items = PolicyItem.objects.redeemable() if items is None else items
    sources = {"eligible": _eligible(dimension, items, prefix), "notified": _notified(dimension, items, prefix),
               "records": _records(dimension, items, prefix), "days": _paid_days(dimension, items, prefix)}
    keys = set(sources["eligible"]) | set(sources["notified"]) | set(sources["days"])
    for part in sources["records"]:
        keys |= set(part)
    keys.discard(None)
    labels = _labels(dimension, keys)
    rows = [_row(k, labels.get(k, str(k)), sources) for k in keys]
    return sorted(rows, key=lambda r: (-r["eligible"], -r["paid"], str(r["label"])))


def item_figures(items: QuerySet | None = None, prefix: str = "") -> list[dict]:
    """Figures per policy item."""
    return figures("item", items, prefix)


def by_department(items: QuerySet | None = None, prefix: str = "") -> list[dict]:
    """Figures per responsible department (over its items)."""
    return figures("department", items, prefix)


def by_county(items: QuerySet | None = None, prefix: str = "") -> list[dict]:
    """Figures per county of the enterprises (first six digits of their region code)."""
    return figures("county", items, prefix)


def totals(items: QuerySet | None = None, prefix: str = "") -> dict:
    """The figures over everything selected, as one row (its 直达天数 over all paid records)."""
    rows = figures(TOTAL, items, prefix)
    return rows[0] if rows else _row(TOTAL, "合计", {"eligible": {}, "notified": {}, "records": [], "days": {}})
