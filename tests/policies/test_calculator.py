"""The 政策计算器: lists and ranking, reasons, the supply-a-figure flow, API shapes and access, pages."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from tests.policies.test_matching_fixtures import (  # noqa: F401  (autouse fixture)
    _fresh_engine_caches,
    document,
    enterprise,
    enterprise_user,
    item,
    zhengzhou,
)
from yingshang.core import actions as core_actions
from yingshang.core.models import AuditLog
from yingshang.policies import matching
from yingshang.policies.models import PolicySubscription

pytestmark = pytest.mark.django_db

RD_RATIO = {"all": [{"field": "rd_ratio", "op": ">=", "value": 0.03}, {"field": "employees", "op": "<=", "value": 300}]}


@pytest.fixture
def setup(org):
    """An enterprise (revenue 1000 万元, R&D 21 万元 = 2.1 %) and items of each outcome."""
    ent = enterprise(org.chuanhui, employees=80, operating_revenue=1000, rd_expense=21, total_assets=900)
    big = item(org, rule={"field": "employees", "op": "<=", "value": 100}, title="稳岗补贴",
               amount_formula="employees * 1000", amount_cap=Decimal("500000"), window_end=dt.date(2031, 12, 31))
    small_soon = item(org, rule={"field": "employees", "op": ">=", "value": 10}, title="小额早截止",
                      amount_formula="1000", window_end=dt.date(2030, 1, 1))
    small_late = item(org, rule={"field": "employees", "op": ">=", "value": 10}, title="小额晚截止",
                      amount_formula="1000", window_end=dt.date(2030, 6, 1))
    no_amount = item(org, rule={}, title="服务事项", benefit_type="service")
    near = item(org, rule=RD_RATIO, title="研发投入奖补")
    unknown = item(org, rule={"field": "registered_capital", "op": ">=", "value": 100}, title="注册资本门槛事项")
    other_city = item(org, doc=document(org, region=zhengzhou(org)), rule={}, title="郑州事项")
    return {"ent": ent, "big": big, "small_soon": small_soon, "small_late": small_late, "no_amount": no_amount,
            "near": near, "unknown": unknown, "other_city": other_city}


def titles(entries):
    return [e.item.title for e in entries]


def test_calculator_ranks_by_amount_then_deadline(setup):
    calc = matching.calculator(setup["ent"])
    assert titles(calc.eligible) == ["稳岗补贴", "小额早截止", "小额晚截止", "服务事项"]
    assert [e.amount for e in calc.eligible] == [Decimal("80000.00"), Decimal("1000.00"), Decimal("1000.00"), None]
    assert calc.total == Decimal("82000.00")
    assert "郑州事项" not in titles(calc.eligible + calc.near_miss + calc.unknown)


def test_near_miss_names_the_gap(setup):
    calc = matching.calculator(setup["ent"])
    assert titles(calc.near_miss) == ["研发投入奖补"]
    gap = calc.near_miss[0].gaps
    assert len(gap) == 1 and "2.1%" in gap[0] and "3%" in gap[0]
    truths = {r["field"]: r["truth"] for r in calc.near_miss[0].reasons}
    assert truths == {"rd_ratio": "false", "employees": "true"}


def test_unknown_names_the_figures_to_supply(setup):
    calc = matching.calculator(setup["ent"])
    assert titles(calc.unknown) == ["注册资本门槛事项"]
    assert calc.unknown[0].missing == [{"field": "registered_capital", "label": "注册资本(万元)"}]


def test_the_document_region_guard_is_not_shown_as_a_reason(setup):
    calc = matching.calculator(setup["ent"])
    assert all(r["field"] != "region" for e in calc.eligible for r in e.reasons)


def test_as_of_moves_parameters(org, setup):
    params = {"人数上限": [{"from": None, "value": 50}, {"from": "2030-01-01", "value": 100}]}
    it = item(org, rule={"field": "employees", "op": "<=", "param": "人数上限"}, params=params, title="参数事项")
    assert "参数事项" not in titles(matching.calculator(setup["ent"], dt.date(2029, 12, 31)).eligible)
    assert "参数事项" in titles(matching.calculator(setup["ent"], dt.date(2030, 1, 1)).eligible)
    assert it.pk


# ---------------------------------------------------------------- supplying a missing figure
def test_supplying_the_missing_figure_answers_at_once(org, setup, client):
    ent = setup["ent"]
    user = enterprise_user(ent)
    client.force_login(user)
    url = f"/policies/calculator/{ent.uscc}/supply/"
    resp = client.post(url, {"item": setup["unknown"].pk, "registered_capital": "120"}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "已保存补充的数据" in html and "注册资本门槛事项" in html.split('id="near-miss"')[0]
    ent.refresh_from_db()
    assert ent.registered_capital == Decimal("120")
    assert "注册资本门槛事项" in titles(matching.calculator(ent).eligible)
    entry = AuditLog.objects.for_object(ent).first()
    assert entry.actor_id == user.pk and "registered_capital" in entry.changes
    assert ent.figure_sources["registered_capital"]["source"] == "企业自报"


def test_figures_only_staff_may_change_are_not_offered_to_the_enterprise(org, setup, client):
    item(org, rule={"field": "taxable_income", "op": "<=", "value": 300}, title="小微企业所得税优惠")
    client.force_login(enterprise_user(setup["ent"]))
    html = client.get("/policies/calculator/").content.decode()
    assert "应纳税所得额(万元):请联系主管部门更新" in html and 'name="taxable_income"' not in html
    client.force_login(org.users["dispatcher"])
    html = client.get(f"/policies/calculator/{setup['ent'].uscc}/").content.decode()
    assert 'name="taxable_income"' in html


def test_a_bad_figure_comes_back_next_to_the_input_and_nothing_is_written(org, setup, client):
    ent = setup["ent"]
    client.force_login(enterprise_user(ent))
    before = AuditLog.objects.count()
    resp = client.post(f"/policies/calculator/{ent.uscc}/supply/",
                       {"item": setup["unknown"].pk, "registered_capital": "十二万"}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    assert 'role="alert"' in resp.content.decode() and AuditLog.objects.count() == before
    ent.refresh_from_db()
    assert ent.registered_capital is None


def test_other_enterprises_cannot_supply_figures(org, setup, client):
    other = enterprise(org.chuanhui)
    client.force_login(enterprise_user(other))
    resp = client.post(f"/policies/calculator/{setup['ent'].uscc}/supply/", {"item": 1, "registered_capital": "1"})
    assert resp.status_code == 403


# ---------------------------------------------------------------- API
@pytest.fixture
def call(api_client):
    tokens = {}

    def do(method, path, user, data=None, **params):
        if user.pk not in tokens:
            tokens[user.pk] = core_actions.do_issue_token(None, user)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user.pk]}"}
        if method == "get":
            return api_client.get("/api/v1" + path, params, **headers)
        return getattr(api_client, method)("/api/v1" + path, json.dumps(data), content_type="application/json",
                                           **headers)

    return do


def chinese_error(resp, status):
    assert resp.status_code == status, resp.content
    message = resp.json()["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)
    return resp.json()["error"]


def test_api_policies_shape(org, setup, call):
    ent = setup["ent"]
    resp = call("get", f"/enterprises/{ent.uscc}/policies", enterprise_user(ent), as_of="2030-03-01")
    assert resp.status_code == 200, resp.content
    out = resp.json()
    # On 2030-03-01 the window of 小额早截止 (ends 2030-01-01) has closed: listed last, left out of the total.
    assert out["as_of"] == "2030-03-01" and out["total_amount"] == "81000.00"
    assert [e["window"] for e in out["eligible"]][-1] == "closed"
    assert out["eligible"][-1]["id"] == setup["small_soon"].pk and out["eligible"][-1]["window_label"] == "申报已截止"
    first = out["eligible"][0]
    assert first["id"] == setup["big"].pk and first["amount"] == "80000.00" and first["window_end"] == "2031-12-31"
    assert first["mode"] == "apply" and first["benefit_type"] == "subsidy"
    assert set(first["reasons"][0]) == {"path", "field", "label", "truth", "sentence"}
    assert out["near_miss"][0]["gaps"] and out["unknown"][0]["missing"][0]["field"] == "registered_capital"


def test_api_policies_access(org, setup, call):
    ent = setup["ent"]
    chinese_error(call("get", f"/enterprises/{ent.uscc}/policies", enterprise_user(enterprise(org.chuanhui))), 403)
    assert call("get", f"/enterprises/{ent.uscc}/policies", org.users["dispatcher"]).status_code == 200
    chinese_error(call("get", f"/enterprises/{ent.uscc}/policies", org.county_dispatcher), 403)  # 扶沟县 only
    chinese_error(call("get", "/enterprises/91411602MA0000000X/policies", org.users["dispatcher"]), 404)


@pytest.mark.parametrize("bad", ["2025-13-01", "yesterday", "2025-1-1", "2025-02-30"])
def test_api_bad_as_of_is_a_400_in_chinese(org, setup, call, bad):
    err = chinese_error(call("get", f"/enterprises/{setup['ent'].uscc}/policies", org.users["dispatcher"],
                             as_of=bad), 400)
    assert "as_of" in err["fields"]


def test_api_item_matches(org, setup, call):
    matching.run_item(setup["big"], "publish")
    resp = call("get", f"/policy-items/{setup['big'].pk}/matches", org.users["dispatcher"], status="eligible")
    assert resp.status_code == 200, resp.content
    out = resp.json()
    uscc_list = [r["uscc"] for r in out["items"]]
    assert setup["ent"].uscc in uscc_list and out["total"] == len(uscc_list) and out["pages"] == 1
    assert out["items"][0]["reasons"]
    fugou = call("get", f"/policy-items/{setup['big'].pk}/matches", org.county_dispatcher)
    assert fugou.status_code == 200 and setup["ent"].uscc not in [r["uscc"] for r in fugou.json()["items"]]
    chinese_error(call("get", f"/policy-items/{setup['big'].pk}/matches", org.county_dispatcher, region="411602"), 403)
    chinese_error(call("get", f"/policy-items/{setup['big'].pk}/matches", org.users["dispatcher"], status="x"), 400)
    chinese_error(call("get", f"/policy-items/{setup['big'].pk}/matches", enterprise_user(setup["ent"])), 403)
    chinese_error(call("get", "/policy-items/999999/matches", org.users["dispatcher"]), 404)


def test_api_subscription_get_and_put(org, setup, call):
    ent, user = setup["ent"], None
    user = enterprise_user(ent)
    path = f"/enterprises/{ent.uscc}/policy-subscription"
    assert call("get", path, user).json() == {"uscc": ent.uscc, "opted_out": False, "sms": True, "email": True,
                                              "benefit_types": []}
    resp = call("put", path, user, {"sms": False, "benefit_types": ["tax", "subsidy"]})
    assert resp.status_code == 200, resp.content
    assert resp.json()["sms"] is False and resp.json()["benefit_types"] == ["subsidy", "tax"]
    sub = PolicySubscription.objects.get(enterprise=ent)
    assert AuditLog.objects.for_object(sub).count() == 1
    err = chinese_error(call("put", path, user, {"benefit_types": ["cash"]}), 400)
    assert "benefit_types" in err["fields"]
    chinese_error(call("put", path, enterprise_user(enterprise(org.chuanhui)), {"opted_out": True}), 403)


# ---------------------------------------------------------------- pages
def test_calculator_page_for_the_enterprise_and_staff(org, setup, client):
    ent = setup["ent"]
    client.force_login(enterprise_user(ent))
    html = client.get("/policies/calculator/").content.decode()
    assert "可享受(4 项)" in html and "82,000" in html and "差一个条件(1 项)" in html and "注册资本(万元)" in html
    client.force_login(org.users["dispatcher"])
    assert client.get(f"/policies/calculator/{ent.uscc}/").status_code == 200
    assert client.get("/policies/calculator/").status_code == 200  # the USCC lookup form
    client.force_login(org.county_dispatcher)
    assert client.get(f"/policies/calculator/{ent.uscc}/").status_code == 403


def test_subscription_form(org, setup, client):
    ent = setup["ent"]
    client.force_login(enterprise_user(ent))
    resp = client.post(f"/policies/calculator/{ent.uscc}/subscription/", {"opted_out": "1", "sms": "1"})
    assert resp.status_code == 302
    sub = PolicySubscription.objects.get(enterprise=ent)
    assert (sub.opted_out, sub.sms, sub.email) == (True, True, False)


def test_item_matches_page(org, setup, client):
    matching.run_item(setup["near"], "publish")
    client.force_login(org.users["dispatcher"])
    html = client.get(f"/policies/items/{setup['near'].pk}/matches/", {"status": "near_miss"}).content.decode()
    assert setup["ent"].name in html and "2.1%" in html
    client.force_login(enterprise_user(setup["ent"]))
    assert client.get(f"/policies/items/{setup['near'].pk}/matches/").status_code == 403


def test_enterprise_page_shows_the_policy_section(org, setup, client):
    client.force_login(org.users["dispatcher"])
    html = client.get(f"/enterprises/{setup['ent'].uscc}/").content.decode()
    assert "惠企政策" in html and f"/policies/calculator/{setup['ent'].uscc}/" in html


def test_near_misses_on_industry_or_region_are_left_out_for_the_enterprise(setup, org):
    """Only a gap the enterprise can close is advice; a wrong industry or county is not."""
    ent = setup["ent"]
    item(org, rule={"all": [{"field": "industry", "op": "in", "value": ["T"]},
                            {"field": "employees", "op": "<=", "value": 300}]}, title="其他行业事项")
    item(org, rule={"all": [{"field": "region", "op": "in", "value": ["411621"]},
                            {"field": "employees", "op": "<=", "value": 300}]}, title="扶沟专项")
    calc = matching.calculator(ent)
    assert titles(calc.near_miss) == ["研发投入奖补"]
    assert not {"其他行业事项", "扶沟专项"} & set(titles(calc.eligible + calc.unknown))
