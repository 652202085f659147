"""An item's budget cannot be lowered below the money already committed on it (confirmed redemptions plus
approved applications), checked under the item lock the confirmations take."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.policies.test_redemption_support import make_enterprises, make_item, make_redemptions
from yingshang.core.errors import ValidationFailed
from yingshang.policies import actions_library as lib, actions_redemption as reds
from yingshang.policies.models import Application, ApplicationStatus, Mode, PolicyItem, RedemptionStatus as RS

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(org):
    """An item with a budget of 1000: 500 confirmed, 200 paid, 100 approved, 400 still pending = 800 committed."""
    item = make_item(org, budget="1000", mode=Mode.AUTO)
    ents = make_enterprises(4)
    rows = make_redemptions(item, ents[:3], ["500", "200", "400"])
    type(rows[0]).objects.filter(pk=rows[0].pk).update(status=RS.CONFIRMED, amount_confirmed=Decimal("500"))
    type(rows[1]).objects.filter(pk=rows[1].pk).update(status=RS.PAID, amount_confirmed=Decimal("200"))
    Application.objects.create(item=item, enterprise=ents[3], applicant=org.users["enterprise"],
                               status=ApplicationStatus.APPROVED, amount_approved=Decimal("100"))
    assert reds.committed_amount(item.pk) == Decimal("800")
    return item


def test_a_budget_below_the_committed_amount_is_refused(org, committed):
    with pytest.raises(ValidationFailed) as refused:
        lib.do_update_item(org.users["policy_officer"], committed, {"budget": "100"})
    assert "预算不能低于已确认/已批准的金额 800.00 元" in refused.value.message
    assert "budget" in refused.value.fields
    assert PolicyItem.objects.get(pk=committed.pk).budget == Decimal("1000")


def test_a_budget_equal_to_the_committed_amount_or_no_limit_is_accepted(org, committed):
    officer = org.users["policy_officer"]
    assert lib.do_update_item(officer, committed, {"budget": "800"}).budget == Decimal("800")
    assert lib.do_update_item(officer, committed, {"budget": None}).budget is None


def test_pending_claims_do_not_count_as_committed(org):
    item = make_item(org, budget="1000")
    make_redemptions(item, make_enterprises(1), ["900"])
    assert lib.do_update_item(org.users["policy_officer"], item, {"budget": "10"}).budget == Decimal("10")
