"""The public board (no login): only disclosed, unmerged cases; every planted item of personal data and the
enterprise's identity absent from the answer; search does not find cases by their hidden data."""
from __future__ import annotations

import json

import pytest

from tests.appeals.support_actions import ensure_grades, payload
from tests.appeals.support_public import EMAIL, NAME, PHONE, leaky_case, planted, routed
from yingshang.appeals import actions

pytestmark = pytest.mark.django_db
API = "/api/v1"


def test_public_board_hides_every_planted_personal_item(api_client, org):
    appeal = leaky_case(org)
    listing = api_client.get(f"{API}/public/appeals")
    detail = api_client.get(f"{API}/public/appeals/{appeal.number}")
    assert listing.status_code == 200 and detail.status_code == 200, detail.content
    for resp in (listing, detail):
        raw = json.dumps(resp.json(), ensure_ascii=False)
        leaked = [value for value in planted(org) if value in raw]
        assert not leaked
        assert "contact_name" not in raw and "contact_phone" not in raw and "enterprise" not in raw
    item = detail.json()
    assert item["result"] == "resolved" and item["region"]["name"] == "川汇区"
    assert item["department"] == org.market.name and item["category"] == "factor_supply"
    assert [e["action"] for e in item["timeline"]] == ["submit", "dispatch", "reply", "rate"]
    assert "138****" not in item["content"] and "139****4321" in item["content"]


def test_undisclosed_and_merged_cases_are_absent(api_client, org):
    ensure_grades()
    ent, d = org.users["enterprise"], org.users["dispatcher"]
    hidden = actions.do_submit_appeal(ent, payload(org, title="不公开的诉求", disclose=False))
    shown = routed(org, actions.do_submit_appeal(ent, payload(org, title="公开的诉求")))
    dup = actions.do_submit_appeal(ent, payload(org, title="重复的诉求"))
    actions.do_merge(d, dup, shown, "重复")
    numbers = [r["number"] for r in api_client.get(f"{API}/public/appeals").json()["items"]]
    assert numbers == [shown.number]
    assert api_client.get(f"{API}/public/appeals/{hidden.number}").status_code == 404
    assert api_client.get(f"{API}/public/appeals/{dup.number}").status_code == 404


def test_search_finds_visible_words_but_not_hidden_data(api_client, org):
    leaky_case(org)
    found = api_client.get(f"{API}/public/appeals", {"q": "用电增容"}).json()
    assert found["total"] == 1
    for secret in (PHONE, NAME, EMAIL, org.enterprise.name):
        assert api_client.get(f"{API}/public/appeals", {"q": secret}).json()["total"] == 0, secret


def test_filters_and_bad_category(api_client, org):
    leaky_case(org)
    assert api_client.get(f"{API}/public/appeals", {"category": "arrears"}).json()["total"] == 0
    assert api_client.get(f"{API}/public/appeals", {"region": "411602"}).json()["total"] == 1
    assert api_client.get(f"{API}/public/appeals", {"region": "411621"}).json()["total"] == 0
    resp = api_client.get(f"{API}/public/appeals", {"category": "weather"})
    assert resp.status_code == 400 and "category" in resp.json()["error"]["fields"]


def test_a_bad_token_on_the_public_board_is_401_not_anonymous(api_client, org):
    resp = api_client.get(f"{API}/public/appeals", HTTP_AUTHORIZATION="Bearer ys_nope")
    assert resp.status_code == 401
