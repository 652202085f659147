"""兑现 figures per item, department and county, checked against values worked out by hand for a small
scenario (see ``scenario``): eligible from match results, notified pushes, applied/approved/paid from
applications and redemptions, amount paid, 兑现率 and 直达天数."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.policies.test_redemption_support import make_enterprises, make_item
from yingshang.policies import stats
from yingshang.policies.models import (Application, MatchResult, Mode, PolicyPush, Redemption)

pytestmark = pytest.mark.django_db
T0 = timezone.make_aware(dt.datetime(2025, 3, 1, 9, 0))


def days(n):
    return T0 + dt.timedelta(days=n)


def match(item, shard, eligible, counties):
    MatchResult.objects.create(item=item, shard=shard, as_of=T0.date(), revision=1, eligible=b"", near_miss=b"",
                               unknown=b"", eligible_count=eligible,
                               breakdown={"county": {c: {"eligible": n, "near_miss": 1} for c, n in counties.items()}})


def red(item, ent, status, amount=None, paid=None):
    Redemption.objects.create(item=item, enterprise=ent, status=status, amount_estimated=amount,
                              amount_confirmed=amount, paid_at=None if paid is None else days(paid))


def app(item, ent, user, status, amount=None, paid=None):
    Application.objects.create(item=item, enterprise=ent, applicant=user, status=status, amount_approved=amount,
                               paid_at=None if paid is None else days(paid))


@pytest.fixture
def scenario(org):
    """A (免申即享, 市场监管局), B (申报, 扶沟县局), C (申报, 市场监管局, nobody eligible yet).
    川汇区: e1, e2, e3 (e3 registered at a street); 扶沟县: f1, f2, f3."""
    a = make_item(org, mode=Mode.AUTO, published_at=T0)
    b = make_item(org, mode=Mode.APPLY, department=org.fugou_dept, published_at=T0)
    c = make_item(org, mode=Mode.APPLY, published_at=T0)
    e1, e2 = make_enterprises(2, region=org.chuanhui)
    (e3,) = make_enterprises(1, region=org.street)
    f1, f2, f3 = make_enterprises(3, region=org.fugou)
    match(a, "411602", 3, {"411602": 3})
    match(a, "411621", 2, {"411621": 2})
    match(b, "", 4, {"411602": 1, "411621": 3})
    for ent in (e1, e2, e3, f1):
        PolicyPush.objects.create(item=a, enterprise=ent, reason="publish", status="sent")
    PolicyPush.objects.create(item=a, enterprise=f2, reason="publish", status="opted_out")
    PolicyPush.objects.create(item=b, enterprise=f1, reason="publish", status="sent")
    PolicyPush.objects.create(item=b, enterprise=e1, reason="publish", status="deferred")
    red(a, e1, "received", Decimal("100"), paid=10)
    red(a, e2, "paid", Decimal("200"), paid=20)
    red(a, e3, "confirmed", Decimal("300"))
    red(a, f1, "paid", Decimal("50"), paid=5)
    red(a, f2, "cancelled", Decimal("70"))
    user = org.users["enterprise"]
    app(b, f1, user, "received", Decimal("1000"), paid=30)
    app(b, f2, user, "rejected")
    app(b, f3, user, "withdrawn")
    app(b, e1, user, "approved", Decimal("500"))
    app(c, e2, user, "submitted")
    return {"a": a, "b": b, "c": c}


def pick(rows, key):
    (row,) = [r for r in rows if r["key"] == key]
    return row


def figures(row):
    return (row["eligible"], row["notified"], row["applied"], row["approved"], row["paid"], row["amount_paid"],
            row["rate"], row["days_median"], row["days_mean"])


def test_per_item(scenario):
    rows = stats.item_figures()
    assert figures(pick(rows, scenario["a"].pk)) == (5, 4, 4, 4, 3, Decimal("350"), 0.6, 10.0, round(35 / 3, 1))
    assert figures(pick(rows, scenario["b"].pk)) == (4, 1, 3, 2, 1, Decimal("1000"), 0.25, 30.0, 30.0)
    assert figures(pick(rows, scenario["c"].pk)) == (0, 0, 1, 0, 0, Decimal("0"), None, None, None)
    assert pick(rows, scenario["a"].pk)["label"] == scenario["a"].title
    assert [r["key"] for r in rows][:2] == [scenario["a"].pk, scenario["b"].pk]  # most eligible first


def test_per_department(org, scenario):
    rows = stats.by_department()
    assert figures(pick(rows, org.market.pk)) == (5, 4, 5, 4, 3, Decimal("350"), 0.6, 10.0, round(35 / 3, 1))
    assert figures(pick(rows, org.fugou_dept.pk)) == (4, 1, 3, 2, 1, Decimal("1000"), 0.25, 30.0, 30.0)
    assert pick(rows, org.fugou_dept.pk)["label"] == "扶沟县市场监督管理局"


def test_per_county(scenario):
    rows = stats.by_county()
    assert figures(pick(rows, "411602")) == (4, 3, 5, 4, 2, Decimal("300"), 0.5, 15.0, 15.0)
    assert figures(pick(rows, "411621")) == (5, 2, 3, 2, 2, Decimal("1050"), 0.4, 17.5, 17.5)
    assert pick(rows, "411621")["label"] == "扶沟县"
    assert len(rows) == 2


def test_totals(scenario):
    total = stats.totals()
    assert figures(total)[:7] == (9, 5, 8, 6, 4, Decimal("1350"), round(4 / 9, 4))
    assert total["days_median"] == 15.0 and total["days_mean"] == round((5 + 10 + 20 + 30) / 4, 1)


def test_a_region_prefix_limits_every_figure(scenario):
    rows = stats.item_figures(prefix="411621")
    assert figures(pick(rows, scenario["a"].pk)) == (2, 1, 1, 1, 1, Decimal("50"), 0.5, 5.0, 5.0)
    assert figures(pick(rows, scenario["b"].pk)) == (3, 1, 2, 1, 1, Decimal("1000"), round(1 / 3, 4), 30.0, 30.0)
    assert [r["key"] for r in stats.by_county(prefix="411621")] == ["411621"]


def test_items_filter(scenario):
    rows = stats.by_department(items=type(scenario["a"]).objects.filter(pk=scenario["b"].pk))
    assert [r["eligible"] for r in rows] == [4]


def test_nothing_yet(org):
    assert stats.item_figures() == []
    total = stats.totals()
    assert (total["eligible"], total["paid"], total["rate"], total["days_median"]) == (0, 0, None, None)


def test_median_of_an_even_and_odd_number_of_payouts():
    import numpy as np

    got = stats._group_median_mean(np.array([1, 2, 1, 2, 1], dtype=object), np.array([3.0, 8.0, 1.0, 4.0, 2.0]))
    assert got == {1: (2.0, 2.0), 2: (6.0, 6.0)}
