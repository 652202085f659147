"""Record ids from clients are bounded 64-bit integers: an overflowing or non-numeric id is a clear Chinese
validation message naming the field, never a 500."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.policies.test_redemption_api import call  # noqa: F401 — the token-carrying client
from tests.policies.test_redemption_support import make_enterprises, make_item, make_redemptions
from yingshang.core.errors import ValidationFailed
from yingshang.policies import actions_redemption as reds
from yingshang.policies.models import RedemptionStatus as RS

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("bad", [HUGE, str(2**63), "0", "-3", "1.5", "abc", "", "١٢", True, 2**64, None, 2.0])
def test_out_of_range_and_non_numeric_ids_are_refused(bad):
    with pytest.raises(ValidationFailed) as refused:
        reds._clean_ids([bad])
    assert refused.value.fields == {"ids": "应为正整数编号"} and "兑现记录" in refused.value.message
    assert "ids" not in refused.value.message  # the user sees the label, not the form field name


def test_the_largest_64_bit_id_and_padded_strings_pass():
    assert reds._clean_ids([str(2**63 - 1), " 7 ", 7]) == [7, 2**63 - 1]


@pytest.mark.parametrize("bad", [None, "12", 5])
def test_ids_must_be_a_list(bad):
    with pytest.raises(ValidationFailed):
        reds._clean_ids(bad)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["confirm", "payout"])
def test_a_huge_id_posted_to_the_workbench_is_a_message_not_a_500(org, action):
    item = make_item(org, budget="500")
    (row,) = make_redemptions(item, make_enterprises(1), ["100"])
    client = Client()
    client.force_login(org.users["policy_officer"])
    resp = client.post(f"/policies/redemption/items/{item.pk}/{action}/", {"ids": [HUGE], "payout_ref": "PZ-1"},
                       follow=True)
    assert resp.status_code == 200 and "兑现记录编号应为 1 至" in resp.content.decode()
    row.refresh_from_db()
    assert row.status == RS.PENDING


@pytest.mark.django_db
def test_a_huge_item_number_in_the_queue_and_workbench_filters_is_ignored(org):
    client = Client()
    client.force_login(org.users["policy_officer"])
    assert client.get(f"/policies/applications/?item={HUGE}").status_code == 200
    assert client.get(f"/policies/redemption/?item={HUGE}&page={HUGE}").status_code == 200


@pytest.mark.django_db
def test_a_huge_item_in_the_url_is_a_404(org):
    client = Client()
    client.force_login(org.users["policy_officer"])
    assert client.post(f"/policies/redemption/items/{HUGE}/confirm/", {"ids": ["1"]}).status_code == 404


@pytest.mark.django_db
def test_the_api_refuses_huge_ids_and_pages_with_a_client_error(org, call):
    from tests.policies.test_redemption_api import error

    item = make_item(org, budget="500")
    for path, data in (("/redemptions/confirm", {"item": item.pk, "ids": [int(HUGE)]}),
                       ("/redemptions/payout", {"ids": [int(HUGE)], "payout_ref": "PZ"})):
        assert call("post", path, data=data).status_code in (400, 422)
    assert call("get", "/redemptions", page=HUGE).status_code in (400, 422)
    assert call("get", "/redemptions", item=HUGE).status_code in (400, 422)
    error(call("post", "/redemptions/confirm", data={"item": item.pk, "ids": [1]}), 404)
