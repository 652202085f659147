"""The budget is never overspent: a property test of the allocation over random amounts and budgets, and
two confirmations (or a confirmation and an approval) racing on PostgreSQL from separate connections."""
from __future__ import annotations

import threading
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from hypothesis import given, settings, strategies as st

from yingshang.policies import actions_redemption as reds
from yingshang.policies.models import AllocationRule, RedemptionStatus as RS

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)


def rows_of(amounts):
    return [SimpleNamespace(pk=i, amount_estimated=a) for i, a in enumerate(amounts)]


@settings(max_examples=300, deadline=None)
@given(amounts=st.lists(money, min_size=1, max_size=40), remaining=st.one_of(st.none(), money, st.just(Decimal("0"))),
       rule=st.sampled_from([AllocationRule.ORDER, AllocationRule.PRO_RATA]))
def test_allocation_never_exceeds_the_remaining_budget(amounts, remaining, rule):
    rows = rows_of(amounts)
    alloc = reds.allocate(rows, remaining, rule)
    confirmed = [a for a, _, s in alloc.decided.values() if s == RS.CONFIRMED]
    if remaining is not None:
        assert sum(confirmed, Decimal(0)) <= remaining
    for r in rows:
        amount, short, status = alloc.decided[r.pk]
        assert short >= 0 and (amount or 0) >= 0
        assert (amount or 0) + short == r.amount_estimated  # the shortfall is exactly what was not confirmed
        assert amount is None or amount == amount.quantize(Decimal("0.01"))
    if remaining is None or sum(amounts) <= remaining:
        assert all(s == RS.CONFIRMED and short == 0 for _, short, s in alloc.decided.values())


@settings(max_examples=200, deadline=None)
@given(amounts=st.lists(money, min_size=1, max_size=40), remaining=money)
def test_pro_rata_uses_the_budget_to_within_a_fen_per_row(amounts, remaining):
    alloc = reds.allocate(rows_of(amounts), remaining, AllocationRule.PRO_RATA)
    used = alloc.confirmed_total
    if sum(amounts) > remaining:
        assert remaining - Decimal("0.01") * len(amounts) <= used <= remaining


@settings(max_examples=200, deadline=None)
@given(amounts=st.lists(money, min_size=1, max_size=40), remaining=money)
def test_order_allocation_confirms_a_prefix(amounts, remaining):
    alloc = reds.allocate(rows_of(amounts), remaining, AllocationRule.ORDER)
    statuses = [alloc.decided[i][2] for i in range(len(amounts))]
    first_short = statuses.index(RS.SHORT) if RS.SHORT in statuses else len(statuses)
    assert all(s == RS.CONFIRMED for s in statuses[:first_short])
    assert all(s == RS.SHORT for s in statuses[first_short:])
    if first_short < len(amounts):  # the first claim left waiting really did not fit
        assert sum(amounts[:first_short + 1]) > remaining


# ---------------------------------------------------------------- real concurrency (PostgreSQL)
def _racing(monkeypatch):
    """Make both writers meet right after reading the remaining budget: without the item-row lock both
    would read the same remainder and overspend; with it the second waits until the first commits (the
    barrier then times out and the first goes on)."""
    barrier, seen = threading.Barrier(2, timeout=3), threading.local()
    original = reds.remaining_budget

    def remaining(item):
        value = original(item)
        if not getattr(seen, "done", False):
            seen.done = True
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return value

    monkeypatch.setattr(reds, "remaining_budget", remaining)
    from yingshang.policies import actions_applications

    monkeypatch.setattr(actions_applications, "remaining_budget", remaining)


def _run_threads(*calls):
    errors = []

    def run(call):
        try:
            call()
        except Exception as exc:  # noqa: BLE001 — collected and checked below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


pg_only = pytest.mark.skipif("connection.vendor != 'postgresql'",
                             reason="threads with their own connections need a server database (PostgreSQL)")


@pg_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_confirmations_never_overspend(org, monkeypatch):
    from tests.policies.test_redemption_support import make_enterprises, make_item, make_redemptions

    item = make_item(org, budget="100")
    a, b = make_redemptions(item, make_enterprises(2), ["60", "60"])
    user = org.users["policy_officer"]
    _racing(monkeypatch)
    errors = _run_threads(lambda: reds.do_confirm_redemptions(user, item, [a.pk]),
                          lambda: reds.do_confirm_redemptions(user, item, [b.pk]))
    assert reds.committed_amount(item.pk) == Decimal("60")
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == RS.CONFIRMED  # the earlier claim wins whichever clerk is first
    # B first: refused (A, earlier, waits); A first: B goes short.
    assert (b.status, len(errors)) in ((RS.SHORT, 0), (RS.PENDING, 1))
    from yingshang.core.errors import Conflict

    assert all(isinstance(e, Conflict) for e in errors)


@pg_only
@pytest.mark.django_db(transaction=True)
def test_a_confirmation_racing_an_application_approval_never_overspends(org, monkeypatch):
    from tests.policies.test_redemption_support import make_enterprises, make_item, make_redemptions
    from yingshang.core.errors import Conflict
    from yingshang.policies import actions_applications as apps
    from yingshang.policies.models import Application, Mode

    item = make_item(org, budget="100", mode=Mode.APPLY)
    ents = make_enterprises(2)
    (red,) = make_redemptions(item, ents[:1], ["60"])
    app = Application.objects.create(item=item, enterprise=ents[1], applicant=org.users["enterprise"],
                                     amount_estimated=Decimal("60"))
    user = org.users["policy_officer"]
    _racing(monkeypatch)
    errors = _run_threads(lambda: reds.do_confirm_redemptions(user, item, [red.pk]),
                          lambda: apps.do_review_application(user, app, True, ""))
    assert reds.committed_amount(item.pk) == Decimal("60")  # exactly one of the two got the money
    assert all(isinstance(e, Conflict) for e in errors)
