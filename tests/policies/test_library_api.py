"""/api/v1/policy-documents, /policy-items, the life-cycle endpoints, preview and catalogue: status codes and messages."""
from __future__ import annotations

import json

import pytest

from tests.policies.test_library_fixtures import RULE, enqueued, item_data, lib, make_item  # noqa: F401
from yingshang.core import actions as core_actions
from yingshang.enterprises.models import Tag
from yingshang.policies.models import ItemStatus

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def call(lib, api_client):
    """``call(method, path, who=None, data=None, **query)``; ``who`` a role name, a user or None (anonymous)."""
    tokens = {}

    def do(method, path, who=None, data=None, **params):
        headers = {}
        if who is not None:
            user = lib.users[who] if isinstance(who, str) else who
            tokens.setdefault(user.pk, core_actions.do_issue_token(None, user))
            headers["HTTP_AUTHORIZATION"] = f"Bearer {tokens[user.pk]}"
        if method == "get":
            return api_client.get(API + path, params, **headers)
        body = json.dumps(data if data is not None else {})
        return getattr(api_client, method)(API + path, body, content_type="application/json", **headers)

    return do


def error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.content.decode()
    err = resp.json()["error"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"]), err
    return err


def test_public_list_shows_published_items_only(lib, call):
    published = make_item(lib, ItemStatus.PUBLISHED, title="稳岗返还")
    make_item(lib, title="草稿事项")
    resp = call("get", "/policy-items")
    assert resp.status_code == 200
    assert [i["title"] for i in resp.json()["items"]] == [published.title]
    staff = call("get", "/policy-items", "dispatcher").json()
    assert staff["total"] == 2
    assert call("get", "/policy-items", "dispatcher", status="draft").json()["items"][0]["title"] == "草稿事项"
    err = error(call("get", "/policy-items", None, status="draft"), 400)
    assert "status" in err["fields"]
    assert error(call("get", "/policy-items", None, mode="free"), 400)["fields"] == {"mode": "应为 auto、instant、apply 之一"}


def test_search_through_the_api(lib, call):
    make_item(lib, ItemStatus.PUBLISHED, title="专精特新中小企业奖励")
    make_item(lib, ItemStatus.PUBLISHED, title="研发费用加计扣除补贴")
    out = call("get", "/policy-items", q="专精特新").json()
    assert [i["title"] for i in out["items"]] == ["专精特新中小企业奖励"]


def test_item_detail_has_rule_sentences_and_document(lib, call):
    item = make_item(lib, ItemStatus.PUBLISHED)
    out = call("get", f"/policy-items/{item.pk}").json()
    assert out["rule"] == RULE and out["budget"] == "500000.00" and out["document"]["id"] == lib.doc.pk
    assert len(out["rule_sentences"]) == 2 and "从业人员" in out["rule_sentences"][0]
    assert out["region"] == {"code": lib.city.code, "name": lib.city.name}
    draft = make_item(lib)
    assert error(call("get", f"/policy-items/{draft.pk}"), 403)
    assert error(call("get", f"/policy-items/{draft.pk}", "enterprise"), 403)
    assert call("get", f"/policy-items/{draft.pk}", "handler").status_code == 200
    assert error(call("get", "/policy-items/999999"), 404)
    assert error(call("get", f"/policy-items/{2**63}"), 400)  # beyond a database id: refused, not a 500


def test_bad_token_is_401_even_on_public_endpoints(lib, api_client):
    resp = api_client.get(API + "/policy-items", HTTP_AUTHORIZATION="Bearer nope")
    assert resp.status_code == 401


def test_create_item_status_codes(lib, call):
    body = {**item_data(), "document": lib.doc.pk}
    resp = call("post", "/policy-items", "policy_officer", body)
    assert resp.status_code == 201, resp.content
    out = resp.json()
    assert out["status"] == "draft" and out["department"]["code"] == lib.market.code
    assert error(call("post", "/policy-items", "enterprise", body), 403)
    assert error(call("post", "/policy-items", None, body), 401)
    err = error(call("post", "/policy-items", "policy_officer", {**body, "budget": "-5", "title": ""}), 400)
    assert set(err["fields"]) == {"budget", "title"}
    err = error(call("post", "/policy-items", "policy_officer", {**body, "rule": {"all": []}}), 400)
    assert "rule" in err["fields"] and "不能为空" in err["message"]
    err = error(call("post", "/policy-items", "policy_officer", {**body, "code": out["code"]}), 409)
    assert "code" in err["fields"]
    assert error(call("post", "/policy-items", "policy_officer", {**body, "document": 987654}), 404)
    assert error(call("post", "/policy-items", "policy_officer", {**body, "extra": 1}), 400)


def test_life_cycle_endpoints(lib, call):
    item = make_item(lib)
    path = f"/policy-items/{item.pk}"
    assert call("post", path + "/submit", "policy_officer").json()["status"] == "review"
    assert error(call("post", path + "/submit", "policy_officer"), 409)
    err = error(call("patch", path, "policy_officer", {"title": "改"}), 409)
    assert "审核" in err["message"]
    assert error(call("post", path + "/review", "policy_officer", {"approve": True}), 403)  # four-eyes
    assert error(call("post", path + "/review", "dept_leader", {"approve": False}), 400)  # reason required
    assert call("post", path + "/review", "dept_leader", {"approve": False, "reason": "补充条款"}).json()["status"] == "draft"
    call("post", path + "/submit", "policy_officer")
    out = call("post", path + "/publish", "dept_leader").json()
    assert out["status"] == "published" and out["published_at"]
    assert error(call("post", path + "/suspend", "policy_officer", {"reason": ""}), 400)
    assert call("post", path + "/suspend", "policy_officer", {"reason": "预算用完"}).json()["status"] == "suspended"
    assert error(call("post", path + "/suspend", "policy_officer", {"reason": "再停"}), 409)
    assert error(call("post", path + "/resume", "enterprise"), 403)
    assert call("post", path + "/resume", "policy_officer").json()["status"] == "published"


def test_patch_item_bumps_revision(lib, call):
    item = make_item(lib, ItemStatus.PUBLISHED)
    out = call("patch", f"/policy-items/{item.pk}", "policy_officer",
               {"rule": {"field": "employees", "op": ">=", "value": 50}}).json()
    assert out["revision"] == 2 and out["rule_sentences"]
    assert error(call("patch", f"/policy-items/{item.pk}", "policy_officer", {"window_end": "2025-13-01"}), 400)
    assert error(call("patch", f"/policy-items/{item.pk}", lib.other_officer, {"title": "x"}), 403)


def test_documents(lib, call):
    resp = call("post", "/policy-documents", "policy_officer",
                {"title": "关于进一步支持小微企业发展的通知", "issuers": "财政部 税务总局", "doc_number": "财税〔2025〕1号"})
    assert resp.status_code == 201, resp.content
    doc_id = resp.json()["id"]
    assert error(call("post", "/policy-documents", "policy_officer", {"issuers": "x"}), 400)["fields"] == {"title": "必填"}
    assert error(call("post", "/policy-documents", "enterprise", {"title": "x", "issuers": "y"}), 403)
    assert error(call("get", f"/policy-documents/{doc_id}"), 403)  # nothing published in it yet
    assert call("get", f"/policy-documents/{doc_id}", "dispatcher").status_code == 200
    out = call("patch", f"/policy-documents/{doc_id}", "policy_officer", {"expires_on": "2027-12-31"}).json()
    assert out["expires_on"] == "2027-12-31"
    make_item(lib, ItemStatus.PUBLISHED)
    public = call("get", f"/policy-documents/{lib.doc.pk}").json()
    assert [i["status"] for i in public["items"]] == ["published"]
    assert call("get", "/policy-documents").json()["total"] == 1
    assert error(call("get", "/policy-documents/424242"), 404)


def test_catalog_lists_fields_and_tags(lib, call):
    Tag.objects.get_or_create(code="demo_tag", defaults={"name": "演示标签"})
    out = call("get", "/policy-rules/catalog").json()
    by_name = {f["name"]: f for f in out}
    assert by_name["employees"]["label"] == "从业人员"
    assert ["demo_tag", "演示标签"] in by_name["tag"]["choices"]


def test_preview_reports_rule_errors_with_position(lib, call):
    bad = {"rule": {"all": [{"field": "employees", "op": ">=", "value": 1}, {"field": "size", "op": "<", "value": 1}]}}
    err = error(call("post", "/policy-items/preview", "policy_officer", bad), 400)
    assert err["code"] == "invalid_rule" and "条件 2" in err["message"]
    assert call("post", "/policy-items/preview", "policy_officer", bad).json()["error"]["path"] == "条件 2"
    assert error(call("post", "/policy-items/preview", "enterprise", {"rule": RULE}), 403)


def test_preview_counts(lib, call):
    pytest.importorskip("yingshang.policies.engine_db", reason="engine_db (engine-columnar helper) not there yet")
    resp = call("post", "/policy-items/preview", "policy_officer",
                {"rule": {"field": "employees", "op": ">=", "value": 10}, "document": lib.doc.pk})
    assert resp.status_code == 200, resp.content
    out = resp.json()
    assert out["region_prefix"] == lib.city.prefix
    assert out["counts"]["eligible"] == 1  # the one enterprise of the fixture has 50 employees
    item = make_item(lib, ItemStatus.PUBLISHED, rule={"field": "employees", "op": ">=", "value": 100})
    out = call("post", f"/policy-items/{item.pk}/preview", "dept_leader").json()
    assert out["counts"]["eligible"] == 0 and out["counts"]["near_miss"] == 1
