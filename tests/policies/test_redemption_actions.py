"""免申即享 兑现 actions: creation by the matcher, confirmation within the budget (order / pro rata),
payout, receipt, cancellation, release after a budget raise, illegal transitions and roles."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from tests.factories import UserFactory
from tests.policies.test_redemption_support import (fixed_estimate, make_enterprises, make_item,  # noqa: F401
                                                    make_redemptions)
from yingshang.core.errors import Conflict, NotFound, ValidationFailed
from yingshang.core.models import AuditLog, Notification, Role
from yingshang.policies import actions_redemption as reds
from yingshang.policies.models import (AllocationRule, Application, ApplicationStatus, Mode, Redemption,
                                       RedemptionStatus as RS)

pytestmark = pytest.mark.django_db


def officer(org):
    return org.users["policy_officer"]


def reload(rows):
    return [Redemption.objects.get(pk=r.pk) for r in rows]


# ---------------------------------------------------------------- creation
def test_creation_makes_one_pending_record_per_enterprise_with_the_estimate(org, fixed_estimate):
    item = make_item(org, amount_formula="rd_expense * 0.1")
    ents = make_enterprises(3)
    fixed_estimate[ents[0].pk] = Decimal("1234.50")
    created = reds.do_create_redemptions(item, [e.pk for e in ents])
    rows = {r.enterprise_id: r for r in Redemption.objects.filter(item=item)}
    assert created == 3 and set(rows) == {e.pk for e in ents}
    assert rows[ents[0].pk].amount_estimated == Decimal("1234.50")
    assert all(r.status == RS.PENDING for r in rows.values())
    assert AuditLog.objects.filter(object_type="policies.redemption", action="create").count() == 3
    assert Notification.objects.filter(user=officer(org), key__startswith="redemption-new:").exists()


def test_creation_is_idempotent(org, fixed_estimate):
    item = make_item(org)
    ents = make_enterprises(3)
    reds.do_create_redemptions(item, [ents[0].pk, ents[1].pk])
    again = reds.do_create_redemptions(item, [e.pk for e in ents] + [ents[0].pk])
    assert again == 1
    assert Redemption.objects.filter(item=item).count() == 3
    assert reds.do_create_redemptions(item, [e.pk for e in ents]) == 0
    assert AuditLog.objects.filter(object_type="policies.redemption", action="create").count() == 3


def test_creation_ignores_items_that_need_an_application(org, fixed_estimate):
    item = make_item(org, mode=Mode.APPLY)
    ents = make_enterprises(2)
    assert reds.do_create_redemptions(item, [e.pk for e in ents]) == 0
    assert not Redemption.objects.exists()


def test_creation_handles_more_ids_than_one_chunk(org, fixed_estimate, monkeypatch):
    monkeypatch.setattr(reds, "CHUNK", 2)
    item = make_item(org, amount_formula="rd_expense * 0.1")
    ents = make_enterprises(5)
    fixed_estimate[ents[4].pk] = Decimal("5.00")
    assert reds.do_create_redemptions(item, [e.pk for e in ents] + [987654321]) == 5  # unknown ids are ignored
    assert Redemption.objects.filter(item=item).count() == 5
    assert Redemption.objects.get(enterprise=ents[4]).amount_estimated == Decimal("5.00")


def test_creation_takes_the_matchers_amounts_and_skips_the_estimate(org, monkeypatch):
    def boom(*args):
        raise AssertionError("estimate must not be called for known amounts")

    monkeypatch.setattr(reds, "estimate_amount", boom)
    monkeypatch.setattr(reds, "estimate_amounts", boom)
    item = make_item(org, amount_formula="rd_expense * 0.1")
    ents = make_enterprises(2)
    reds.do_create_redemptions(item, [e.pk for e in ents], amounts={ents[0].pk: Decimal("7.50"), ents[1].pk: None})
    got = dict(Redemption.objects.values_list("enterprise_id", "amount_estimated"))
    assert got == {ents[0].pk: Decimal("7.50"), ents[1].pk: None}


def test_creation_without_a_formula_leaves_the_amount_open(org, monkeypatch):
    monkeypatch.setattr(reds, "estimate_amount", lambda *a: Decimal("1"))
    monkeypatch.setattr(reds, "estimate_amounts", lambda item, ids, as_of=None: {i: Decimal("1") for i in ids})
    item = make_item(org)
    reds.do_create_redemptions(item, [make_enterprises(1)[0].pk])
    assert Redemption.objects.get(item=item).amount_estimated is None


def test_creation_with_the_real_amount_formula(org):
    pytest.importorskip("yingshang.policies.engine_db", reason="engine_db (engine-columnar helper) not ready")
    item = make_item(org, amount_formula="min(rd_expense * 0.1, 500000)")
    ent = make_enterprises(1)[0]
    ent.rd_expense = Decimal("45")  # 万元 → 450,000 元; 10 % = 45,000 元
    ent.save()
    reds.do_create_redemptions(item, [ent.pk])
    assert Redemption.objects.get(item=item).amount_estimated == Decimal("45000.00")


# ---------------------------------------------------------------- confirmation and allocation
def test_confirmation_within_the_budget_uses_the_estimates(org):
    item = make_item(org, budget="1000")
    rows = make_redemptions(item, make_enterprises(3), ["100", "200.50", "300"])
    res = reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    rows = reload(rows)
    assert [r.amount_confirmed for r in rows] == [Decimal("100"), Decimal("200.50"), Decimal("300")]
    assert all(r.status == RS.CONFIRMED and r.shortfall == 0 and r.confirmed_by == officer(org) for r in rows)
    assert (res.confirmed, res.short, res.amount, res.remaining) == (3, 0, Decimal("600.50"), Decimal("399.50"))


def test_order_allocation_confirms_in_eligibility_order_and_flags_the_rest(org):
    item = make_item(org, budget="250", allocation=AllocationRule.ORDER)
    rows = make_redemptions(item, make_enterprises(3), ["100", "100", "100"])
    res = reds.do_confirm_redemptions(officer(org), item, [r.pk for r in reversed(rows)])
    rows = reload(rows)
    assert [r.status for r in rows] == [RS.CONFIRMED, RS.CONFIRMED, RS.SHORT]
    assert rows[2].shortfall == Decimal("100") and rows[2].amount_confirmed is None
    assert reds.committed_amount(item.pk) == Decimal("200")
    assert (res.confirmed, res.short) == (2, 1)


def test_order_allocation_never_lets_a_later_claim_overtake(org):
    item = make_item(org, budget="250", allocation=AllocationRule.ORDER)
    rows = make_redemptions(item, make_enterprises(3), ["100", "200", "50"])
    reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    assert [r.status for r in reload(rows)] == [RS.CONFIRMED, RS.SHORT, RS.SHORT]


def test_pro_rata_allocation_scales_every_row_exactly(org):
    item = make_item(org, budget="100", allocation=AllocationRule.PRO_RATA)
    rows = make_redemptions(item, make_enterprises(2), ["100", "300"])
    res = reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    rows = reload(rows)
    assert [r.amount_confirmed for r in rows] == [Decimal("25.00"), Decimal("75.00")]
    assert [r.shortfall for r in rows] == [Decimal("75.00"), Decimal("225.00")]
    assert all(r.status == RS.CONFIRMED and "按比例" in r.note for r in rows)
    assert res.reduced == 2 and res.remaining == Decimal("0.00")


def test_pro_rata_rounds_down_to_the_fen_so_the_sum_never_exceeds(org):
    item = make_item(org, budget="100", allocation=AllocationRule.PRO_RATA)
    amounts = [Decimal("33.33"), Decimal("33.33"), Decimal("50.00")]
    rows = make_redemptions(item, make_enterprises(3), amounts)
    reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    rows = reload(rows)
    total = sum(amounts)
    for r, a in zip(rows, amounts):
        assert r.amount_confirmed <= a * 100 / total
        assert a * 100 / total - r.amount_confirmed < Decimal("0.01")
        assert r.amount_confirmed + r.shortfall == a
    assert Decimal("100") - Decimal("0.03") <= sum(r.amount_confirmed for r in rows) <= Decimal("100")


def test_applications_already_approved_count_against_the_budget(org):
    item = make_item(org, budget="500")
    ent = make_enterprises(1)[0]
    Application.objects.create(item=item, enterprise=ent, applicant=org.users["enterprise"],
                               status=ApplicationStatus.APPROVED, amount_approved=Decimal("450"))
    rows = make_redemptions(item, make_enterprises(2), ["40", "40"])
    reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    assert [r.status for r in reload(rows)] == [RS.CONFIRMED, RS.SHORT]


def test_an_exhausted_budget_confirms_nothing_even_pro_rata(org):
    item = make_item(org, budget="100", allocation=AllocationRule.PRO_RATA)
    first = make_redemptions(item, make_enterprises(1), ["100"])
    reds.do_confirm_redemptions(officer(org), item, [first[0].pk])
    more = make_redemptions(item, make_enterprises(2), ["10", "20"])
    res = reds.do_confirm_redemptions(officer(org), item, [r.pk for r in more])
    assert res.confirmed == 0 and res.short == 2
    assert reds.committed_amount(item.pk) == Decimal("100")


def test_no_budget_means_no_limit(org):
    item = make_item(org)
    rows = make_redemptions(item, make_enterprises(2), ["1000000", "2000000"])
    res = reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    assert res.confirmed == 2 and res.remaining is None


def test_confirming_again_skips_done_rows_and_refuses_when_nothing_is_left(org):
    item = make_item(org, budget="1000")
    rows = make_redemptions(item, make_enterprises(2), ["100", "100"])
    reds.do_confirm_redemptions(officer(org), item, [rows[0].pk])
    res = reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    assert (res.confirmed, res.skipped) == (1, 1)
    with pytest.raises(Conflict):
        reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    assert reds.committed_amount(item.pk) == Decimal("200")


def test_confirmation_refuses_foreign_ids_cancelled_and_unpriced_rows(org):
    item, other = make_item(org), make_item(org)
    mine = make_redemptions(item, make_enterprises(1), ["10"])[0]
    theirs = make_redemptions(other, make_enterprises(1), ["10"])[0]
    with pytest.raises(NotFound):
        reds.do_confirm_redemptions(officer(org), item, [mine.pk, theirs.pk])
    unpriced = Redemption.objects.create(item=item, enterprise=make_enterprises(1)[0], amount_estimated=None)
    with pytest.raises(Conflict, match="缺少测算金额"):
        reds.do_confirm_redemptions(officer(org), item, [unpriced.pk])
    with pytest.raises(ValidationFailed):
        reds.do_confirm_redemptions(officer(org), item, [])
    assert Redemption.objects.get(pk=mine.pk).status == RS.PENDING


@pytest.mark.parametrize("who", ["enterprise", "dispatcher", "steward"])
def test_confirmation_needs_the_items_department(org, who):
    item = make_item(org, budget="100")
    rows = make_redemptions(item, make_enterprises(1), ["10"])
    with pytest.raises(PermissionDenied):
        reds.do_confirm_redemptions(org.users[who], item, [rows[0].pk])


def test_an_officer_of_another_department_may_not_confirm(org):
    item = make_item(org, budget="100")
    rows = make_redemptions(item, make_enterprises(1), ["10"])
    stranger = UserFactory(username="fg_officer", role=Role.POLICY_OFFICER, department=org.fugou_dept)
    with pytest.raises(PermissionDenied):
        reds.do_confirm_redemptions(stranger, item, [rows[0].pk])


def test_confirmation_notifies_each_enterprise_and_the_department(org):
    item = make_item(org, budget="150")
    ents = make_enterprises(2, user=True)
    rows = make_redemptions(item, ents, ["100", "100"])
    reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    first = Notification.objects.get(user__enterprise=ents[0], key__startswith=f"redemption:{rows[0].pk}:confirmed")
    assert "100" in first.body
    assert Notification.objects.filter(user__enterprise=ents[1], key__startswith=f"redemption:{rows[1].pk}:short").exists()
    assert Notification.objects.filter(user=officer(org), key__startswith="redemption-confirm:").exists()


def test_many_notifications_go_set_based_with_one_key_per_item_and_user(org, monkeypatch):
    monkeypatch.setattr(reds, "EACH_LIMIT", 1)
    item = make_item(org)
    ents = make_enterprises(3, user=True)
    rows = make_redemptions(item, ents, ["10", "10", "10"])
    reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    keys = set(Notification.objects.filter(user__enterprise__in=ents).values_list("key", flat=True))
    assert len(keys) == 3 and all(k.startswith(f"redemption-item:{item.pk}:confirmed:") for k in keys)


# ---------------------------------------------------------------- payout, receipt, cancel, release
def _confirmed(org, n=2, budget="1000"):
    item = make_item(org, budget=budget)
    ents = make_enterprises(n, user=True)
    rows = make_redemptions(item, ents, ["100"] * n)
    reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    return item, ents, rows


def test_payout_and_receipt(org):
    item, ents, rows = _confirmed(org)
    assert reds.do_record_payout(officer(org), [r.pk for r in rows], " PZ-2025-001 ") == 2
    paid = reload(rows)
    assert all(r.status == RS.PAID and r.payout_ref == "PZ-2025-001" and r.paid_at for r in paid)
    assert Notification.objects.filter(user__enterprise=ents[0], key__startswith=f"redemption:{rows[0].pk}:paid").exists()
    user = ents[0].users.get()
    done = reds.do_confirm_receipt(user, paid[0])
    assert done.status == RS.RECEIVED and done.received_at
    assert AuditLog.objects.filter(object_type="policies.redemption", object_id=str(rows[0].pk),
                                   changes__status=["paid", "received"]).exists()


def test_payout_needs_confirmed_rows_and_a_voucher(org):
    item, ents, rows = _confirmed(org)
    pending = make_redemptions(item, make_enterprises(1), ["5"])[0]
    with pytest.raises(Conflict, match="已确认"):
        reds.do_record_payout(officer(org), [rows[0].pk, pending.pk], "PZ-1")
    assert Redemption.objects.get(pk=rows[0].pk).status == RS.CONFIRMED  # nothing half-written
    with pytest.raises(ValidationFailed, match="凭证号"):
        reds.do_record_payout(officer(org), [rows[0].pk], "  ")
    reds.do_record_payout(officer(org), [rows[0].pk], "PZ-1")
    with pytest.raises(Conflict):
        reds.do_record_payout(officer(org), [rows[0].pk], "PZ-2")
    with pytest.raises(PermissionDenied):
        reds.do_record_payout(org.users["enterprise"], [rows[1].pk], "PZ-3")


def test_receipt_only_by_the_enterprise_and_only_after_payout(org):
    item, ents, rows = _confirmed(org)
    with pytest.raises(Conflict):
        reds.do_confirm_receipt(ents[0].users.get(), rows[0])
    reds.do_record_payout(officer(org), [rows[0].pk], "PZ-1")
    with pytest.raises(PermissionDenied):
        reds.do_confirm_receipt(ents[1].users.get(), rows[0])
    with pytest.raises(PermissionDenied):
        reds.do_confirm_receipt(officer(org), rows[0])
    reds.do_confirm_receipt(ents[0].users.get(), rows[0])
    with pytest.raises(Conflict):
        reds.do_confirm_receipt(ents[0].users.get(), rows[0])


def test_cancelling_a_confirmed_row_releases_its_budget(org):
    item, ents, rows = _confirmed(org, budget="200")
    assert reds.remaining_budget(item) == Decimal("0")
    reds.do_cancel_redemption(officer(org), rows[0], "企业已注销,不再符合条件")
    assert reds.remaining_budget(item) == Decimal("100")
    row = Redemption.objects.get(pk=rows[0].pk)
    assert row.status == RS.CANCELLED and "注销" in row.note
    with pytest.raises(Conflict):
        reds.do_cancel_redemption(officer(org), rows[0], "再次取消")
    with pytest.raises(Conflict, match="已取消"):
        reds.do_confirm_redemptions(officer(org), item, [rows[0].pk])


def test_cancelling_needs_a_reason_and_is_refused_after_payout(org):
    item, ents, rows = _confirmed(org)
    with pytest.raises(ValidationFailed):
        reds.do_cancel_redemption(officer(org), rows[0], " ")
    reds.do_record_payout(officer(org), [rows[0].pk], "PZ-1")
    with pytest.raises(Conflict):
        reds.do_cancel_redemption(officer(org), rows[0], "不再符合条件")


def test_release_short_after_the_budget_is_raised(org):
    item = make_item(org, budget="100")
    rows = make_redemptions(item, make_enterprises(3), ["100", "100", "100"])
    reds.do_confirm_redemptions(officer(org), item, [r.pk for r in rows])
    assert [r.status for r in reload(rows)] == [RS.CONFIRMED, RS.SHORT, RS.SHORT]
    item.budget = Decimal("250")
    item.save()
    res = reds.do_release_short(officer(org), item)
    assert [r.status for r in reload(rows)] == [RS.CONFIRMED, RS.CONFIRMED, RS.SHORT]
    assert res.confirmed == 1 and res.short == 1
    assert reds.committed_amount(item.pk) == Decimal("200")
    item.budget = Decimal("300")
    item.save()
    reds.do_release_short(officer(org), item)
    with pytest.raises(Conflict):
        reds.do_release_short(officer(org), item)
    assert reload(rows)[2].shortfall == Decimal("0")


def test_budget_summary_for_the_budget_bar(org):
    item = make_item(org, budget="400")
    rows = make_redemptions(item, make_enterprises(3), ["100", "100", "50"])
    reds.do_confirm_redemptions(officer(org), item, [rows[0].pk])
    s = reds.budget_summary(item)
    assert (s["budget"], s["committed"], s["remaining"], s["waiting"]) == (
        Decimal("400"), Decimal("100"), Decimal("300"), Decimal("150"))
    assert s["committed_pct"] == 25.0
