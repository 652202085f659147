"""Approving an application and confirming redemptions never go above the item's per-enterprise cap; absurd
or negative amounts are refused with a Chinese message; the budget check still applies."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.policies.test_applications_actions import item_of, media, submit  # noqa: F401  (fixtures)
from tests.policies.test_redemption_support import (fixed_estimate, make_enterprises, make_item,  # noqa: F401
                                                    make_redemptions)
from yingshang.core.errors import Conflict, ValidationFailed
from yingshang.policies import actions_applications as apps, actions_redemption as reds
from yingshang.policies.models import Application, ApplicationStatus as AS, Redemption, RedemptionStatus as RS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fixed_estimate", "media")]


def review(org, app, amount):
    return apps.do_review_application(org.users["policy_officer"], app, True, "", amount_approved=amount)


def test_an_amount_above_the_cap_is_refused_naming_the_cap(org):
    app = submit(org, item_of(org, amount_cap=Decimal("50000")))
    with pytest.raises(ValidationFailed) as exc:
        review(org, app, "50000.01")
    assert "50,000.00 元" in exc.value.message and "上限" in exc.value.message and "amount" in exc.value.fields
    assert Application.objects.get(pk=app.pk).status == AS.SUBMITTED  # nothing written


def test_the_cap_itself_is_allowed(org):
    app = review(org, submit(org, item_of(org, amount_cap=Decimal("50000"))), "50000")
    assert app.status == AS.APPROVED and app.amount_approved == Decimal("50000.00")


def test_without_a_cap_only_absurd_amounts_are_refused(org):
    with pytest.raises(ValidationFailed) as exc:
        review(org, submit(org, item_of(org)), "1000000000000.01")
    assert "1,000,000,000,000.00 元" in exc.value.message


@pytest.mark.parametrize("bad,word", [("-1", "负数"), ("abc", "数字"), ("1.001", "两位小数")])
def test_bad_amounts_are_refused_in_chinese(org, bad, word):
    with pytest.raises(ValidationFailed) as exc:
        review(org, submit(org, item_of(org)), bad)
    assert word in exc.value.message and not exc.value.message.startswith("amount")


def test_the_budget_is_still_checked_under_the_cap(org):
    app = submit(org, item_of(org, amount_cap=Decimal("5000"), budget="3000"))
    with pytest.raises(Conflict):
        review(org, app, "4000")


def test_confirmation_clips_stored_estimates_to_the_cap(org):
    item = make_item(org, amount_cap=Decimal("300"))
    rows = make_redemptions(item, make_enterprises(2), ["1000", "200"])  # the first stored before the cap
    res = reds.do_confirm_redemptions(org.users["policy_officer"], item, [r.pk for r in rows])
    got = dict(Redemption.objects.values_list("pk", "amount_confirmed"))
    assert got == {rows[0].pk: Decimal("300.00"), rows[1].pk: Decimal("200.00")} and res.amount == Decimal("500.00")


def test_confirmation_with_a_budget_allocates_capped_amounts(org):
    item = make_item(org, amount_cap=Decimal("300"), budget="500")
    rows = make_redemptions(item, make_enterprises(2), ["1000", "1000"])
    reds.do_confirm_redemptions(org.users["policy_officer"], item, [r.pk for r in rows])
    first, second = Redemption.objects.order_by("eligible_at", "id")
    assert (first.status, first.amount_confirmed) == (RS.CONFIRMED, Decimal("300.00"))
    assert second.status == RS.SHORT and second.shortfall == Decimal("300.00")
