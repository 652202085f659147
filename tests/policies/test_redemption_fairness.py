"""Allocation is decided over ALL open claims of an item, not only the ticked rows: by order of eligibility
a later claim never overtakes an earlier one, pro rata shares are computed over every open claim, and
confirmations one after another end with exact Decimal sums within the budget."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st

from tests.policies.test_redemption_support import make_enterprises, make_item, make_redemptions
from yingshang.core.errors import Conflict
from yingshang.policies import actions_redemption as reds
from yingshang.policies.models import AllocationRule, Redemption, RedemptionStatus as RS

D = Decimal


def state(*rows):
    out = []
    for r in rows:
        r.refresh_from_db()
        out.append((r.status, r.amount_confirmed, r.shortfall))
    return out


@pytest.mark.django_db
def test_a_later_claim_cannot_overtake_an_earlier_one_by_being_ticked_alone(org):
    item = make_item(org, budget="700")
    a, b = make_redemptions(item, make_enterprises(2), ["600", "300"])
    officer = org.users["policy_officer"]
    with pytest.raises(Conflict) as refused:
        reds.do_confirm_redemptions(officer, item, [b.pk])
    assert "尚有 1 条更早符合条件的兑现记录(合计 600.00 元)未勾选" in refused.value.message
    assert state(a, b) == [(RS.PENDING, None, D("0")), (RS.PENDING, None, D("0"))]  # nothing half-written
    res = reds.do_confirm_redemptions(officer, item, [a.pk])
    assert (res.confirmed, res.amount, res.remaining) == (1, D("600.00"), D("100.00"))
    res = reds.do_confirm_redemptions(officer, item, [b.pk])
    assert (res.confirmed, res.short) == (0, 1)
    assert state(a, b) == [(RS.CONFIRMED, D("600.00"), D("0")), (RS.SHORT, None, D("300.00"))]
    assert reds.committed_amount(item.pk) == D("600.00")


@pytest.mark.django_db
def test_a_later_claim_within_what_the_budget_serves_in_order_is_confirmed_alone(org):
    item = make_item(org, budget="250")
    a, b, c = make_redemptions(item, make_enterprises(3), ["100", "100", "100"])
    officer = org.users["policy_officer"]
    assert reds.do_confirm_redemptions(officer, item, [b.pk]).amount == D("100.00")  # A still fits after B
    reds.do_confirm_redemptions(officer, item, [a.pk, c.pk])
    assert state(a, b, c) == [(RS.CONFIRMED, D("100.00"), D("0")), (RS.CONFIRMED, D("100.00"), D("0")),
                              (RS.SHORT, None, D("100.00"))]
    assert reds.committed_amount(item.pk) == D("200.00")


@pytest.mark.django_db
def test_rows_behind_an_unfundable_earlier_claim_go_short_without_refusal(org):
    item = make_item(org, budget="700")
    a, b, c = make_redemptions(item, make_enterprises(3), ["600", "300", "50"])
    res = reds.do_confirm_redemptions(org.users["policy_officer"], item, [a.pk, c.pk])
    assert (res.confirmed, res.short, res.amount) == (1, 1, D("600.00"))
    assert state(a, b, c) == [(RS.CONFIRMED, D("600.00"), D("0")), (RS.PENDING, None, D("0")),
                              (RS.SHORT, None, D("50.00"))]  # C may not overtake B, which does not fit


@pytest.mark.django_db
def test_pro_rata_shares_are_computed_over_every_open_claim_one_confirmation_after_another(org):
    item = make_item(org, budget="100", allocation=AllocationRule.PRO_RATA)
    a, b, c = make_redemptions(item, make_enterprises(3), ["300", "300", "300"])
    officer = org.users["policy_officer"]
    assert reds.do_confirm_redemptions(officer, item, [b.pk]).amount == D("33.33")  # 100 × 300 ÷ 900
    assert reds.do_confirm_redemptions(officer, item, [c.pk]).amount == D("33.33")  # 66.67 × 300 ÷ 600
    assert reds.do_confirm_redemptions(officer, item, [a.pk]).amount == D("33.34")  # the rest
    assert state(a, b, c) == [(RS.CONFIRMED, D("33.34"), D("266.66")), (RS.CONFIRMED, D("33.33"), D("266.67")),
                              (RS.CONFIRMED, D("33.33"), D("266.67"))]
    assert reds.committed_amount(item.pk) == D("100.00")


@pytest.mark.django_db
def test_pro_rata_gives_the_selection_its_share_not_the_whole_remainder(org):
    item = make_item(org, budget="500", allocation=AllocationRule.PRO_RATA)
    a, b, c = make_redemptions(item, make_enterprises(3), ["600", "300", "100"])
    officer = org.users["policy_officer"]
    res = reds.do_confirm_redemptions(officer, item, [b.pk])
    assert (res.amount, res.reduced, res.remaining) == (D("150.00"), 1, D("350.00"))  # 500 × 300 ÷ 1000
    assert reds.do_confirm_redemptions(officer, item, [a.pk, c.pk]).amount == D("350.00")  # 300 + 50
    assert state(a, c) == [(RS.CONFIRMED, D("300.00"), D("300.00")), (RS.CONFIRMED, D("50.00"), D("50.00"))]
    assert reds.committed_amount(item.pk) == D("500.00")


@pytest.mark.django_db
def test_a_budget_covering_every_open_claim_confirms_any_selection_in_full(org):
    item = make_item(org, budget="1000")
    a, b = make_redemptions(item, make_enterprises(2), ["600", "300"])
    assert reds.do_confirm_redemptions(org.users["policy_officer"], item, [b.pk]).amount == D("300.00")
    assert state(b) == [(RS.CONFIRMED, D("300.00"), D("0"))]


@pytest.mark.django_db
def test_unpriced_and_cancelled_rows_do_not_hold_back_the_order(org):
    item = make_item(org, budget="300")
    a, b = make_redemptions(item, make_enterprises(2), ["600", "300"])
    Redemption.objects.filter(pk=a.pk).update(status=RS.CANCELLED)
    assert reds.do_confirm_redemptions(org.users["policy_officer"], item, [b.pk]).amount == D("300.00")


# ---------------------------------------------------------------- properties of successive confirmations
money = st.decimals(min_value=D("0.01"), max_value=D("9999.99"), places=2)


def _run(amounts, remaining, batches, rule):
    """Confirm ``batches`` (lists of indexes) one after another like the action does; refused ones are skipped."""
    rows = [SimpleNamespace(pk=i, amount_estimated=a) for i, a in enumerate(amounts)]
    open_, confirmed = list(rows), {}
    for batch in batches:
        chosen = [r for r in open_ if r.pk in batch]
        if not chosen:
            continue
        alloc = reds.allocate(chosen, remaining, rule, open_)
        if alloc.passed_over:
            continue
        for pk, (amount, _, status) in alloc.decided.items():
            if status == RS.CONFIRMED:
                confirmed[pk] = amount
                remaining -= amount
        open_ = [r for r in open_ if r.pk not in confirmed]
    return confirmed, remaining, open_


@settings(max_examples=200, deadline=None)
@given(amounts=st.lists(money, min_size=1, max_size=12), budget=money, data=st.data())
def test_successive_order_confirmations_fund_a_prefix(amounts, budget, data):
    batches = data.draw(st.lists(st.sets(st.integers(0, len(amounts) - 1), min_size=1), max_size=6))
    confirmed, left, open_ = _run(amounts, budget, batches + [set(range(len(amounts)))], AllocationRule.ORDER)
    assert left >= 0 and sum(confirmed.values(), D(0)) + left == budget
    assert sorted(confirmed) == list(range(len(confirmed)))  # nobody later got money before someone earlier
    assert all(confirmed[i] == amounts[i] for i in confirmed)


@settings(max_examples=200, deadline=None)
@given(amounts=st.lists(money, min_size=1, max_size=12), budget=money, data=st.data())
def test_successive_pro_rata_confirmations_give_at_least_the_first_share(amounts, budget, data):
    batches = data.draw(st.lists(st.sets(st.integers(0, len(amounts) - 1), min_size=1), max_size=6))
    confirmed, left, _ = _run(amounts, budget, batches + [set(range(len(amounts)))], AllocationRule.PRO_RATA)
    total = sum(amounts, D(0))
    assert left >= 0 and sum(confirmed.values(), D(0)) <= budget
    for i, got in confirmed.items():
        first = amounts[i] if total <= budget else (amounts[i] * budget / total).quantize(D("0.01"), "ROUND_DOWN")
        assert first <= got <= amounts[i]
