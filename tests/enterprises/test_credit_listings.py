"""Credit lists (严重失信主体名单, 经营异常名录): the actions (scope, audit, dates), the API and the page form."""
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tests.enterprises.conftest import api_headers
from yingshang.core.errors import Conflict, ValidationFailed
from yingshang.core.models import AuditLog
from yingshang.enterprises.actions_credit import do_add_credit_listing, do_remove_credit_listing
from yingshang.enterprises.models import CreditListing, Enterprise

API = "/api/v1/enterprises"


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


def add(org, user=None, **kw):
    args = {"kind": "abnormal_operation", "listed_on": days_ago(100), "authority": "川汇区市场监督管理局",
            "reason": "未按照规定期限公示年度报告", **kw}
    return do_add_credit_listing(user or org.users["dispatcher"], org.enterprise, **args)


def test_add_records_listing_audits_on_the_enterprise_and_bumps_updated_at(org):
    before = Enterprise.objects.get(pk=org.enterprise.pk).updated_at
    listing = add(org, kind="严重失信主体名单")
    assert listing.kind == "serious_dishonest" and listing.removed_on is None
    assert CreditListing.objects.filter(enterprise=org.enterprise).in_force().get() == listing
    row = AuditLog.objects.for_object(org.enterprise).get(reason="列入严重失信主体名单")
    assert row.actor == org.users["dispatcher"]
    assert row.changes["credit_listing"][0] is None and "川汇区市场监督管理局" in row.changes["credit_listing"][1]
    assert Enterprise.objects.get(pk=org.enterprise.pk).updated_at > before


def test_remove_sets_the_date_and_ends_the_listing(org):
    listing = add(org)
    removed = do_remove_credit_listing(org.users["handler"], listing, days_ago(10).isoformat())
    assert removed.removed_on == days_ago(10)
    assert not CreditListing.objects.in_force().filter(pk=listing.pk).exists()
    assert CreditListing.objects.in_force(days_ago(50)).filter(pk=listing.pk).exists()
    row = AuditLog.objects.for_object(org.enterprise).get(reason="移出经营异常名录")
    assert "移出" in row.changes["credit_listing"][1] and "移出" not in row.changes["credit_listing"][0]


def test_removal_before_listing_or_in_the_future_is_refused(org):
    listing = add(org)
    with pytest.raises(ValidationFailed) as info:
        do_remove_credit_listing(org.users["dispatcher"], listing, days_ago(101))
    assert "早于列入日期" in info.value.fields["removed_on"]
    with pytest.raises(ValidationFailed) as info:
        do_remove_credit_listing(org.users["dispatcher"], listing, timezone.localdate() + dt.timedelta(days=1))
    assert "将来" in info.value.fields["removed_on"]
    assert CreditListing.objects.get(pk=listing.pk).removed_on is None


def test_removing_twice_conflicts(org):
    listing = do_remove_credit_listing(org.users["dispatcher"], add(org), days_ago(5))
    with pytest.raises(Conflict):
        do_remove_credit_listing(org.users["dispatcher"], listing, days_ago(1))


def test_removal_on_the_listing_day_is_allowed(org):
    listing = add(org)
    assert do_remove_credit_listing(org.users["dispatcher"], listing, listing.listed_on).removed_on == listing.listed_on


@pytest.mark.parametrize("kw,field,words", [
    ({"kind": "黑名单"}, "kind", "不是有效的名单"),
    ({"kind": ""}, "kind", "必填"),
    ({"listed_on": ""}, "listed_on", "必填"),
    ({"listed_on": "2025-02-30"}, "listed_on", "不是有效日期"),
    ({"listed_on": "2999-01-01"}, "listed_on", "将来"),
    ({"reason": "因" * 301}, "reason", "最多300字"),
])
def test_bad_listing_input_names_the_field(org, kw, field, words):
    with pytest.raises(ValidationFailed) as info:
        add(org, **kw)
    assert words in info.value.fields[field]
    assert not CreditListing.objects.exists()


def test_same_list_twice_while_listed_conflicts_but_another_list_is_fine(org):
    add(org)
    with pytest.raises(Conflict):
        add(org, listed_on=days_ago(20))
    add(org, kind="serious_dishonest")
    assert CreditListing.objects.count() == 2


def test_relisting_after_removal_is_allowed_but_not_inside_the_old_period(org):
    do_remove_credit_listing(org.users["dispatcher"], add(org, listed_on=days_ago(300)), days_ago(200))
    with pytest.raises(Conflict):
        add(org, listed_on=days_ago(250))
    assert add(org, listed_on=days_ago(100)).listed_on == days_ago(100)


def test_scope_and_roles(org):
    with pytest.raises(PermissionDenied):
        add(org, user=org.county_dispatcher)  # another county
    for role in ("enterprise", "evaluator", "leader", "supervisor"):
        with pytest.raises(PermissionDenied):
            add(org, user=org.users[role])
    listing = add(org)
    with pytest.raises(PermissionDenied):
        do_remove_credit_listing(org.users["enterprise"], listing, days_ago(1))


# ------------------------------------------------------------------ API
def test_api_add_list_and_remove(org, client):
    headers = api_headers(org.users["dispatcher"])
    url = f"{API}/{org.enterprise.uscc}/credit-listings"
    answer = client.post(url, {"kind": "经营异常名录", "listed_on": days_ago(30).isoformat(), "reason": "住所无法联系"},
                         content_type="application/json", **headers)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["kind"] == "abnormal_operation" and body["in_force"] is True and body["removed_on"] is None
    listed = client.get(url, **headers).json()
    assert [item["id"] for item in listed] == [body["id"]]
    detail = client.get(f"{API}/{org.enterprise.uscc}", **headers).json()
    assert detail["credit_lists"] == ["abnormal_operation"]
    removed = client.post(f"{url}/{body['id']}/remove", {"removed_on": days_ago(1).isoformat()},
                          content_type="application/json", **headers)
    assert removed.status_code == 200 and removed.json()["in_force"] is False
    assert client.get(f"{API}/{org.enterprise.uscc}", **headers).json()["credit_lists"] == []


def test_api_errors(org, client):
    headers = api_headers(org.users["dispatcher"])
    url = f"{API}/{org.enterprise.uscc}/credit-listings"
    bad = client.post(url, {"kind": "x", "listed_on": "2999-01-01"}, content_type="application/json", **headers)
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"kind", "listed_on"}
    missing = client.post(f"{url}/999999/remove", {"removed_on": days_ago(1).isoformat()},
                          content_type="application/json", **headers)
    assert missing.status_code == 404
    own = api_headers(org.users["enterprise"])
    assert client.get(url, **own).status_code == 200  # the enterprise reads its own records
    denied = client.post(url, {"kind": "abnormal_operation", "listed_on": days_ago(3).isoformat()},
                         content_type="application/json", **own)
    assert denied.status_code == 403


# ------------------------------------------------------------------ page
def test_page_shows_listings_and_the_forms_record_them(org, client):
    client.force_login(org.users["dispatcher"])
    page = f"/enterprises/{org.enterprise.uscc}/"
    assert "未列入严重失信主体名单" in client.get(page).content.decode()
    answer = client.post(f"{page}credit/", {"kind": "serious_dishonest", "listed_on": days_ago(7).isoformat(),
                                            "authority": "国家税务总局川汇区税务局", "reason": "重大税收违法失信"},
                         HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert answer.status_code == 200 and "国家税务总局川汇区税务局" in html and "在列" in html
    audit = client.get(page).content.decode().split('id="audit"')[1]
    assert "信用名单" in audit and "重大税收违法失信" in audit
    listing = CreditListing.objects.get()
    bad = client.post(f"{page}credit/{listing.pk}/remove/", {"removed_on": days_ago(8).isoformat()},
                      HTTP_HX_REQUEST="true")
    assert "早于列入日期" in bad.content.decode()
    client.post(f"{page}credit/{listing.pk}/remove/", {"removed_on": days_ago(1).isoformat()})
    html = client.get(page).content.decode()
    assert "已移出" in html and CreditListing.objects.get().removed_on == days_ago(1)


def test_page_hides_the_forms_from_enterprise_users(org, client):
    add(org)
    client.force_login(org.users["enterprise"])
    html = client.get(f"/enterprises/{org.enterprise.uscc}/").content.decode()
    assert "经营异常名录" in html and "记录列入" not in html and "服务管家" not in html
    answer = client.post(f"/enterprises/{org.enterprise.uscc}/credit/",
                         {"kind": "serious_dishonest", "listed_on": days_ago(7).isoformat()})
    assert answer.status_code == 302 and CreditListing.objects.count() == 1
