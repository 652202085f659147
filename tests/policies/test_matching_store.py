"""matching_store.py: stale runs never overwrite newer results, ids leaving the eligible set lose their
open redemptions, the breakdown follows incremental moves, a change to a paying item redeems everyone
eligible, and the matches page counts only the user's region."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tests.factories import UserFactory
from tests.policies.test_matching_fixtures import (  # noqa: F401  (autouse fixture)
    _fresh_engine_caches,
    enterprise,
    enterprise_user,
    item,
)
from yingshang.core.models import Role
from yingshang.policies import actions_redemption, engine_db, matching, matching_store
from yingshang.policies.models import MatchResult, PolicyItem, PolicyPush, Redemption, RedemptionStatus

pytestmark = pytest.mark.django_db

LOOSE = {"field": "employees", "op": "<=", "value": 1000}
TIGHT = {"field": "employees", "op": "<=", "value": 100}
HAS_CANCEL = hasattr(actions_redemption, "do_cancel_ineligible_redemptions")


def ids(it, status):
    return set(matching.matched_ids(it, status)[0].tolist())


def compute(it: PolicyItem):
    """(the item as loaded, its ItemMatch, the register) — a shard job that has matched but not stored yet."""
    from yingshang.policies.engine import columnar

    loaded = PolicyItem.objects.select_related("document__region").get(pk=it.pk)
    as_of = matching._as_date(None)
    register = matching.shard_register("")
    return loaded, columnar.Matcher(register, as_of).match_one(matching.item_rule(loaded, as_of).compiled), register


def revise(it: PolicyItem, **changes) -> PolicyItem:
    """What the library's do_update_item does to the row: new values, next revision."""
    PolicyItem.objects.filter(pk=it.pk).update(revision=it.revision + 1, **changes)
    return PolicyItem.objects.get(pk=it.pk)


@pytest.fixture
def staff(org):
    org.enterprise.employees = 5000  # the fixture's own enterprise: never eligible here
    org.enterprise.save()
    c = org.chuanhui
    return {"small": enterprise(c, employees=50), "mid": enterprise(c, employees=500),
            "far": enterprise(org.fugou, employees=30)}


# ---------------------------------------------------------------- 1. stale runs
def test_an_older_revision_finishing_last_neither_overwrites_nor_pays(org, staff):
    it = item(org, rule=LOOSE, mode="auto", amount_formula="1000")
    old_job = compute(it)  # revision 1 computed: "mid" (500 employees) qualifies under it
    assert staff["mid"].pk in set(old_job[1].ids("eligible").tolist())
    it = revise(it, rule=TIGHT)
    matching.run_item(it, "change")  # revision 2 stored first
    before = bytes(MatchResult.objects.get(item=it).eligible)
    stats = matching.store_match(old_job[0], "", old_job[1], old_job[2], matching._as_date(None), "change")
    result = MatchResult.objects.get(item=it)
    assert "skipped" in stats and result.revision == 2
    assert bytes(result.eligible) == before
    assert staff["mid"].pk not in ids(it, "eligible")
    assert not PolicyPush.objects.filter(item=it, enterprise=staff["mid"]).exists()
    assert not Redemption.objects.filter(item=it, enterprise=staff["mid"]).exists()


@pytest.mark.parametrize("status", ["suspended", "expired"])
def test_a_run_of_an_item_no_longer_published_stores_and_pushes_nothing(org, staff, status):
    it = item(org, rule=LOOSE, mode="auto", amount_formula="1000")
    job = compute(it)
    PolicyItem.objects.filter(pk=it.pk).update(status=status)
    stats = matching.store_match(job[0], "", job[1], job[2], matching._as_date(None), "publish")
    assert "skipped" in stats
    assert not MatchResult.objects.filter(item=it, revision__gt=0).exists()
    assert not PolicyPush.objects.filter(item=it).exists() and not Redemption.objects.filter(item=it).exists()


def test_incremental_moves_leave_a_result_of_another_revision_alone(org, staff):
    it = item(org, rule=LOOSE)
    matching.run_item(it, "publish")
    revise(it, rule=TIGHT)  # its own match job has not run yet
    mid = staff["mid"]
    mid.employees = 600
    mid.save()
    matching.run_enterprises([mid.pk])
    assert MatchResult.objects.get(item=it).revision == 1
    assert PolicyPush.objects.filter(item=it).count() == 3  # only the publish pushes


# ---------------------------------------------------------------- 2. leaving the eligible set
def test_ids_leaving_the_eligible_set_are_handed_to_the_cancellation(org, staff, monkeypatch):
    calls = []
    monkeypatch.setattr(actions_redemption, "do_cancel_ineligible_redemptions",
                        lambda item, ids, reason: calls.append((item.pk, sorted(ids), reason)) or len(ids),
                        raising=False)
    it = item(org, rule=LOOSE, mode="auto", amount_formula="1000")
    matching.run_item(it, "publish")
    it = revise(it, rule=TIGHT)
    stats = matching.run_shard(it.pk, "", "change")
    assert calls == [(it.pk, [staff["mid"].pk], matching_store.GONE_REASON)] and stats["cancelled"] == 1
    small = staff["small"]
    small.employees = 150
    small.save()
    engine_db.reset_cache()
    matching.run_enterprises([small.pk])
    assert calls[-1][:2] == (it.pk, [small.pk])


def test_an_enterprise_moving_between_shards_keeps_its_redemption(org, staff, monkeypatch, settings):
    calls = []
    monkeypatch.setattr(actions_redemption, "do_cancel_ineligible_redemptions",
                        lambda item, ids, reason: calls.append(sorted(ids)) or 0, raising=False)
    settings.YINGSHANG_MATCH_SHARDS = ["411602", "411621"]
    it = item(org, rule=LOOSE, mode="auto", amount_formula="1000")
    matching.run_item(it, "publish")
    far = staff["far"]
    far.region = org.chuanhui  # now stored in 川汇区's shard too, then gone from 扶沟县's
    far.save()
    engine_db.reset_cache()
    matching.run_shard(it.pk, "411602", "qualify")
    matching.run_shard(it.pk, "411621", "qualify")
    assert far.pk in ids(it, "eligible") and calls == []


@pytest.mark.skipif(not HAS_CANCEL, reason="actions_redemption.do_cancel_ineligible_redemptions (fix-redemption) "
                                           "is not written yet")
def test_a_tightened_rule_cancels_the_pending_redemptions_of_those_no_longer_eligible(org, staff):
    it = item(org, rule=LOOSE, mode="auto", amount_formula="1000")
    matching.run_item(it, "publish")
    assert Redemption.objects.filter(item=it, status=RedemptionStatus.PENDING).count() == 3
    it = revise(it, rule=TIGHT)
    matching.run_item(it, "change")
    status = dict(Redemption.objects.filter(item=it).values_list("enterprise_id", "status"))
    assert status[staff["mid"].pk] == RedemptionStatus.CANCELLED
    assert status[staff["small"].pk] == status[staff["far"].pk] == RedemptionStatus.PENDING


# ---------------------------------------------------------------- 3. the breakdown after incremental moves
def test_incremental_moves_keep_the_breakdown_equal_to_a_full_match(org, staff):
    it = item(org, rule=TIGHT)
    matching.run_item(it, "publish")
    county = MatchResult.objects.get(item=it).breakdown["county"]
    assert county["411621"]["eligible"] == 1 and county["411602"]["eligible"] == 1
    small, far = staff["small"], staff["far"]
    small.employees = 400  # 川汇区: eligible → ineligible
    small.save()
    far.region, far.size = org.chuanhui, "micro"  # eligible, now counted in 川汇区 and as 微型
    far.save()
    engine_db.reset_cache()
    matching.run_enterprises([small.pk, far.pk])
    incremental = MatchResult.objects.get(item=it).breakdown
    assert incremental["county"].get("411621", {}).get("eligible", 0) == 0
    assert incremental["county"]["411602"]["eligible"] == 1 and incremental["size"]["micro"]["eligible"] >= 1
    matching.run_item(it, "change")
    assert MatchResult.objects.get(item=it).breakdown == incremental


# ---------------------------------------------------------------- 4. an item that starts paying out
def test_switching_to_a_paying_auto_item_redeems_those_already_eligible(org, staff):
    it = item(org, rule=TIGHT, mode="apply", amount_formula="1000")
    matching.run_item(it, "publish")
    assert not Redemption.objects.filter(item=it).exists()
    it = revise(it, mode="auto")
    matching.run_item(it, "change")
    expected = {staff["small"].pk, staff["far"].pk}
    assert set(Redemption.objects.filter(item=it).values_list("enterprise_id", flat=True)) == expected
    matching.run_item(it, "change")  # idempotent
    assert Redemption.objects.filter(item=it).count() == 2
    assert PolicyPush.objects.filter(item=it).count() == 2  # no second push for the switch


def test_a_non_paying_auto_item_creates_no_redemptions_on_change(org, staff):
    it = item(org, rule=TIGHT, mode="apply", benefit_type="tax")
    matching.run_item(it, "publish")
    matching.run_item(revise(it, mode="auto"), "change")
    assert not Redemption.objects.filter(item=it).exists()


# ---------------------------------------------------------------- 5. counts on the matches page
def _counts(client, it) -> dict:
    html = client.get(f"/policies/items/{it.pk}/matches/").content.decode()
    return {label: int(n) for label, n in re.findall(r"(符合条件|差一个条件|无法判断)\((\d+)\)", html)}


def test_the_matches_page_counts_only_the_users_region(org, staff, client):
    it = item(org, rule=TIGHT)
    matching.run_item(it, "publish")
    client.force_login(org.users["dispatcher"])
    everywhere = _counts(client, it)
    client.force_login(UserFactory(username="t_fugou_only", role=Role.DISPATCHER, region=org.fugou))
    fugou = _counts(client, it)
    street = UserFactory(username="t_street_only", role=Role.DISPATCHER, region=org.street)
    client.force_login(street)
    on_street = _counts(client, it)
    expected_fugou = {s: matching.item_matches(it, s, "411621", 1, 0)[1] for s in matching.STATUSES}
    assert fugou["符合条件"] == expected_fugou["eligible"] == 1
    assert fugou["无法判断"] == expected_fugou["unknown"]
    assert everywhere["符合条件"] == 2 and on_street["符合条件"] == 0
    assert sum(fugou.values()) < sum(everywhere.values())


# ---------------------------------------------------------------- redemptions after the push
def test_missing_redemptions_of_stored_eligible_enterprises_are_caught_up(org, staff):
    """Redemptions are written after the pushes commit; the hourly sync fills any a crash left out."""
    it = item(org, rule=TIGHT, mode="auto", amount_formula="employees * 10")
    matching.run_item(it, "publish")
    assert set(Redemption.objects.filter(item=it).values_list("enterprise_id", flat=True)) == {
        staff["small"].pk, staff["far"].pk}
    Redemption.objects.filter(item=it, enterprise=staff["far"]).delete()  # as if the process died in between
    assert matching_store.sync_redemptions() == 1
    row = Redemption.objects.get(item=it, enterprise=staff["far"])
    assert row.amount_estimated == 300  # 30 employees × 10 元, estimated from the matcher's register
    assert matching_store.sync_redemptions() == 0


def test_redemptions_follow_only_the_stored_current_result(org, staff):
    it = item(org, rule=TIGHT, mode="auto", amount_formula="1000")
    matching.run_item(it, "publish")
    Redemption.objects.filter(item=it).delete()
    # "mid" is not in the stored eligible set, so it gets nothing even if a caller names it
    created = matching_store.redeem_stored(it, "", np.array([staff["mid"].pk]), matching._as_date(None))
    assert created == 0 and not Redemption.objects.filter(item=it).exists()
