"""兑现 figures for users whose scope is a street (a prefix longer than a county's six digits): eligible is
counted from the stored eligible ids of enterprises registered under that prefix, not the whole county."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.policies.test_redemption_support import make_enterprises, make_item
from yingshang.policies import stats
from yingshang.policies.engine.store import pack_ids
from yingshang.policies.models import MatchResult, Mode, PolicyPush

pytestmark = pytest.mark.django_db


def stored(item, shard, enterprises, counties):
    MatchResult.objects.create(item=item, shard=shard, as_of=dt.date(2025, 3, 1), revision=1,
                               eligible=pack_ids([e.pk for e in enterprises]), near_miss=b"", unknown=b"",
                               eligible_count=len(enterprises), breakdown={"county": counties})


@pytest.fixture
def scene(org):
    """Item A eligible: 2 in 川汇区 proper, 2 at its street, 1 in 扶沟县 (two shards); item B: 1 at the street."""
    a = make_item(org, mode=Mode.AUTO)
    b = make_item(org, mode=Mode.APPLY, department=org.fugou_dept)
    town = make_enterprises(2, region=org.chuanhui)
    street = make_enterprises(2, region=org.street)
    (fugou,) = make_enterprises(1, region=org.fugou)
    stored(a, "411602", town + street, {"411602": {"eligible": 4}})
    stored(a, "411621", [fugou], {"411621": {"eligible": 1}})
    stored(b, "", street[:1], {"411602": {"eligible": 1}})
    PolicyPush.objects.create(item=a, enterprise=street[0], reason="publish", status="sent")
    PolicyPush.objects.create(item=a, enterprise=town[0], reason="publish", status="sent")
    return {"a": a, "b": b}


def by_key(rows):
    return {r["key"]: (r["eligible"], r["notified"]) for r in rows}


def test_a_street_prefix_counts_only_the_street(org, scene):
    prefix = org.street.code
    assert by_key(stats.item_figures(prefix=prefix)) == {scene["a"].pk: (2, 1), scene["b"].pk: (1, 0)}
    assert by_key(stats.by_county(prefix=prefix)) == {"411602": (3, 1)}
    assert by_key(stats.by_department(prefix=prefix)) == {org.market.pk: (2, 1), org.fugou_dept.pk: (1, 0)}
    assert (stats.totals(prefix=prefix)["eligible"], stats.totals(prefix=prefix)["notified"]) == (3, 1)


def test_a_county_prefix_still_uses_the_breakdown(org, scene):
    assert by_key(stats.item_figures(prefix="411602")) == {scene["a"].pk: (4, 2), scene["b"].pk: (1, 0)}
    assert stats.totals(prefix="4116")["eligible"] == 6


def test_a_street_without_enterprises_counts_nothing(org, scene):
    assert stats.totals(prefix="411602999")["eligible"] == 0
