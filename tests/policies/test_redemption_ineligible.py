"""Enterprises that no longer qualify: their open redemptions are cancelled (audited, freeing their claim on
the budget), confirmed ones are flagged for the department, paid ones left alone; and confirmation refuses
rows whose enterprise is not in the item's stored eligible set."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.policies.test_redemption_actions import officer
from tests.policies.test_redemption_support import make_enterprises, make_item, make_redemptions
from yingshang.core.errors import Conflict
from yingshang.core.models import AuditLog, Notification
from yingshang.policies import actions_redemption as reds
from yingshang.policies.engine.store import pack_ids
from yingshang.policies.models import MatchResult, Redemption, RedemptionStatus as RS

pytestmark = pytest.mark.django_db


def stored(item, enterprises):
    MatchResult.objects.create(item=item, shard="", as_of="2025-01-01", revision=1,
                               eligible=pack_ids([e.pk for e in enterprises]), near_miss=b"", unknown=b"",
                               eligible_count=len(enterprises))


def statuses(item):
    return list(Redemption.objects.filter(item=item).order_by("eligible_at").values_list("status", flat=True))


def test_open_redemptions_are_cancelled_confirmed_flagged_paid_left_alone(org):
    item = make_item(org, budget="10000")
    ents = make_enterprises(5, user=True)
    rows = make_redemptions(item, ents, ["100", "200", "300", "400", "500"])
    Redemption.objects.filter(pk=rows[1].pk).update(status=RS.SHORT)
    Redemption.objects.filter(pk=rows[2].pk).update(status=RS.CONFIRMED, amount_confirmed=Decimal("300"))
    Redemption.objects.filter(pk=rows[3].pk).update(status=RS.PAID, amount_confirmed=Decimal("400"))
    n = reds.do_cancel_ineligible_redemptions(item, [e.pk for e in ents[:4]], reason="企业已迁出")
    assert n == 2
    assert statuses(item) == [RS.CANCELLED, RS.CANCELLED, RS.CONFIRMED, RS.PAID, RS.PENDING]
    flagged = Redemption.objects.get(pk=rows[2].pk)
    assert flagged.note.startswith("企业已迁出") and reds.INELIGIBLE_FLAG in flagged.note
    assert Redemption.objects.get(pk=rows[3].pk).note == ""
    logged = AuditLog.objects.filter(object_type="policies.redemption", reason="企业已迁出")
    assert sorted(int(i) for i in logged.values_list("object_id", flat=True)) == [rows[0].pk, rows[1].pk, rows[2].pk]
    dept = Notification.objects.filter(user__department=item.department, key__startswith="redemption-ineligible")
    assert dept.exists() and "2 条待确认兑现已自动取消" in dept.first().title and "1 条已确认" in dept.first().title
    assert Notification.objects.filter(user__enterprise=ents[0], title__contains="兑现已取消").count() == 1
    assert reds.committed_amount(item.pk) == Decimal("700")  # confirmed + paid untouched


def test_cancelling_again_changes_and_logs_nothing(org):
    item = make_item(org)
    ents = make_enterprises(2)
    rows = make_redemptions(item, ents, ["100", "200"])
    Redemption.objects.filter(pk=rows[1].pk).update(status=RS.CONFIRMED, amount_confirmed=Decimal("200"))
    reds.do_cancel_ineligible_redemptions(item, [e.pk for e in ents])
    before = AuditLog.objects.count()
    assert reds.do_cancel_ineligible_redemptions(item, [e.pk for e in ents]) == 0
    assert AuditLog.objects.count() == before


def test_a_cancelled_earlier_claim_no_longer_holds_back_the_order(org):
    item = make_item(org, budget="700")
    a_ent, b_ent = make_enterprises(2)
    a, b = make_redemptions(item, [a_ent, b_ent], ["600", "300"])
    officer = org.users["policy_officer"]
    with pytest.raises(Conflict):
        reds.do_confirm_redemptions(officer, item, [b.pk])
    reds.do_cancel_ineligible_redemptions(item, [a_ent.pk])
    assert reds.do_confirm_redemptions(officer, item, [b.pk]).amount == Decimal("300.00")


def test_confirmation_refuses_an_enterprise_missing_from_the_stored_eligible_set(org):
    item = make_item(org)
    ents = make_enterprises(2)
    a, b = make_redemptions(item, ents, ["100", "200"])
    stored(item, ents[:1])
    with pytest.raises(Conflict) as refused:
        reds.do_confirm_redemptions(org.users["policy_officer"], item, [a.pk, b.pk])
    assert f"兑现记录 {b.pk} 的企业按最新匹配结果已不再符合条件" in refused.value.message
    assert statuses(item) == [RS.PENDING, RS.PENDING]
    assert reds.do_confirm_redemptions(org.users["policy_officer"], item, [a.pk]).confirmed == 1


def test_without_stored_results_confirmation_is_not_blocked(org):
    item = make_item(org)
    (a,) = make_redemptions(item, make_enterprises(1), ["100"])
    assert reds.do_confirm_redemptions(org.users["policy_officer"], item, [a.pk]).confirmed == 1


def test_ineligible_open_claims_do_not_reserve_budget_in_the_order(org):
    item = make_item(org, budget="700")
    ents = make_enterprises(2)
    a, b = make_redemptions(item, ents, ["600", "300"])
    stored(item, ents[1:])  # A's enterprise dropped out; the matcher has not cancelled its row yet
    assert reds.do_confirm_redemptions(org.users["policy_officer"], item, [b.pk]).amount == Decimal("300.00")


def test_a_record_cancelled_by_the_matcher_reopens_when_the_enterprise_qualifies_again(org):
    item = make_item(org, budget="1000")
    ent, = make_enterprises(1)
    reds.do_create_redemptions(item, [ent.pk])
    assert reds.do_cancel_ineligible_redemptions(item, [ent.pk], "企业已迁出") == 1
    assert reds.do_create_redemptions(item, [ent.pk]) == 1
    row = Redemption.objects.get(item=item, enterprise=ent)
    assert row.status == RS.PENDING and row.note == ""


def test_a_clerks_cancellation_is_not_undone_by_the_matcher(org):
    item = make_item(org, budget="1000")
    ent, = make_enterprises(1)
    reds.do_create_redemptions(item, [ent.pk])
    row = Redemption.objects.get(item=item, enterprise=ent)
    reds.do_cancel_redemption(officer(org), row, "企业放弃")
    assert reds.do_create_redemptions(item, [ent.pk]) == 0
    assert Redemption.objects.get(pk=row.pk).status == RS.CANCELLED
