"""/api/v1 redemption, application and statistics endpoints: answer shapes, scoping, errors (400/403/404/409)."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tests.factories import UserFactory
from tests.policies.test_redemption_support import (PDF, PNG, make_enterprises, make_item,  # noqa: F401
                                                    make_redemptions)
from yingshang.core import actions as core_actions
from yingshang.core.models import Role
from yingshang.policies.models import Application, Mode, Redemption

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
API = "/api/v1"
MATERIALS = [{"name": "审计报告", "required": True}, {"name": "营业执照", "required": False}]


@pytest.fixture
def media(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


@pytest.fixture
def call(org, api_client):
    """``call(method, path, who, data=None, **query)`` with a bearer token of that user."""
    tokens = {}

    def do(method, path, who="policy_officer", data=None, multipart=None, **params):
        user = org.users[who] if isinstance(who, str) else who
        if user.pk not in tokens:
            tokens[user.pk] = core_actions.do_issue_token(None, user)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user.pk]}"}
        if method == "get":
            return api_client.get(API + path, params, **headers)
        if multipart is not None:
            return api_client.post(API + path, multipart, **headers)
        return api_client.post(API + path, json.dumps(data or {}), content_type="application/json", **headers)

    return do


def error(resp, status):
    assert resp.status_code == status, resp.content
    err = resp.json()["error"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])
    return err


@pytest.fixture
def auto(org):
    item = make_item(org, budget="150")
    ents = [org.enterprise] + make_enterprises(2, region=org.fugou)
    rows = make_redemptions(item, ents, ["100", "100", "100"])
    return item, rows


# ---------------------------------------------------------------- redemptions
def test_list_shapes_and_scoping(org, call, auto):
    item, rows = auto
    staff = call("get", "/redemptions", item=item.pk).json()
    assert staff["total"] == 3 and staff["page"] == 1 and staff["pages"] == 1
    first = staff["items"][0]
    assert set(first) >= {"id", "item", "enterprise", "status", "status_label", "amount_estimated",
                          "amount_confirmed", "shortfall", "eligible_at", "paid_at", "payout_ref"}
    assert first["amount_estimated"] == "100.00" and first["status_label"] == "待确认"
    own = call("get", "/redemptions", "enterprise").json()
    assert [r["enterprise"]["uscc"] for r in own["items"]] == [org.enterprise.uscc]
    county = call("get", "/redemptions", org.county_dispatcher).json()  # 扶沟县 dispatcher: its county only
    assert county["total"] == 2
    assert call("get", "/redemptions", "supervisor").json()["total"] == 0
    error(call("get", "/redemptions", status="nonsense"), 400)


def test_confirm_payout_receipt_over_the_api(org, call, auto):
    item, rows = auto
    resp = call("post", "/redemptions/confirm", data={"item": item.pk, "ids": [r.pk for r in rows]})
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"confirmed": 1, "short": 2, "reduced": 0, "skipped": 0, "amount": "100.00",
                           "remaining": "50.00"}
    assert call("get", "/redemptions", status="short").json()["total"] == 2
    resp = call("post", "/redemptions/payout", data={"ids": [rows[0].pk], "payout_ref": "PZ-API-1"})
    assert resp.json() == {"paid": 1}
    resp = call("post", f"/redemptions/{rows[0].pk}/receipt", "enterprise")
    assert resp.status_code == 200 and resp.json()["status"] == "received"


def test_redemption_errors(org, call, auto):
    item, rows = auto
    error(call("post", "/redemptions/confirm", "enterprise", data={"item": item.pk, "ids": [rows[0].pk]}), 403)
    error(call("post", "/redemptions/confirm", data={"item": 999999, "ids": [rows[0].pk]}), 404)
    error(call("post", "/redemptions/confirm", data={"item": item.pk, "ids": []}), 400)
    error(call("post", "/redemptions/confirm", data={"item": item.pk, "ids": [1], "extra": 1}), 400)
    error(call("post", "/redemptions/payout", data={"ids": [rows[0].pk], "payout_ref": "PZ"}), 409)
    error(call("post", f"/redemptions/{rows[0].pk}/receipt", "enterprise"), 409)
    error(call("post", f"/redemptions/{rows[1].pk}/receipt", "enterprise"), 403)  # not its own
    error(call("post", "/redemptions/999999/receipt", "enterprise"), 404)
    error(call("post", f"/redemptions/{rows[0].pk}/cancel", data={"reason": ""}), 400)
    resp = call("post", f"/redemptions/{rows[0].pk}/cancel", data={"reason": "已迁出本市"})
    assert resp.json()["status"] == "cancelled"
    error(call("post", f"/redemptions/{rows[0].pk}/cancel", data={"reason": "再次"}), 409)


def test_release_after_raising_the_budget(org, call, auto):
    item, rows = auto
    call("post", "/redemptions/confirm", data={"item": item.pk, "ids": [r.pk for r in rows]})
    item.budget = Decimal("300")
    item.save()
    assert call("post", "/redemptions/release", data={"item": item.pk}).json()["confirmed"] == 2
    error(call("post", "/redemptions/release", data={"item": item.pk}), 409)


# ---------------------------------------------------------------- applications
def _submit(call, item, who="enterprise", **files):
    data = {"note": "请审核"}
    data.update(files)
    return call("post", f"/policy-items/{item.pk}/applications", who, multipart=data)


def test_application_flow_over_the_api(org, call):
    item = make_item(org, mode=Mode.APPLY, budget="5000", materials=MATERIALS)
    resp = _submit(call, item, material_0=SimpleUploadedFile("审计.pdf", PDF),
                   **{"营业执照": SimpleUploadedFile("执照.png", PNG)})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "submitted" and body["note"] == "请审核"
    assert sorted(f["material"] for f in body["files"]) == ["审计报告", "营业执照"]
    aid = body["id"]
    assert call("get", "/applications").json()["items"][0]["id"] == aid  # the department's queue
    assert call("get", f"/applications/{aid}", "enterprise").json()["id"] == aid
    download = call("get", f"/applications/{aid}/files/{body['files'][0]['id']}", "policy_officer")
    assert download.status_code == 200 and b"".join(download.streaming_content) in (PDF, PNG)
    error(call("post", f"/applications/{aid}/review", data={"approve": True, "amount": "6000"}), 409)
    resp = call("post", f"/applications/{aid}/review", data={"approve": True, "amount": 4000})
    assert resp.json()["amount_approved"] == "4000.00" and resp.json()["status"] == "approved"
    assert call("post", f"/applications/{aid}/payout", data={"payout_ref": "PZ-7"}).json()["status"] == "paid"
    assert call("post", f"/applications/{aid}/receipt", "enterprise").json()["status"] == "received"


def test_application_errors(org, call):
    item = make_item(org, mode=Mode.APPLY, materials=MATERIALS)
    err = error(_submit(call, item), 400)
    assert "审计报告" in err["message"] and "材料:审计报告" in err["fields"]
    error(_submit(call, item, "policy_officer", material_0=SimpleUploadedFile("a.pdf", PDF)), 403)
    error(call("post", "/policy-items/999999/applications", "enterprise", multipart={"note": ""}), 404)
    aid = _submit(call, item, material_0=SimpleUploadedFile("a.pdf", PDF)).json()["id"]
    error(_submit(call, item, material_0=SimpleUploadedFile("a.pdf", PDF)), 409)
    error(call("post", f"/applications/{aid}/review", data={"approve": False, "reason": ""}), 400)
    error(call("post", f"/applications/{aid}/review", "enterprise", data={"approve": True}), 403)
    error(call("post", f"/applications/{aid}/receipt", "enterprise"), 409)
    other = UserFactory(username="other_ent", role=Role.ENTERPRISE, enterprise=make_enterprises(1)[0])
    error(call("get", f"/applications/{aid}", other), 403)
    error(call("get", f"/applications/{aid}/files/1", other), 403)
    assert call("get", "/applications", other).json()["total"] == 0
    assert call("post", f"/applications/{aid}/withdraw", "enterprise").json()["status"] == "withdrawn"
    error(call("post", f"/applications/{aid}/withdraw", "enterprise"), 409)


# ---------------------------------------------------------------- statistics
def test_stats_endpoint(org, call, auto):
    item, rows = auto
    call("post", "/redemptions/confirm", data={"item": item.pk, "ids": [rows[0].pk]})
    call("post", "/redemptions/payout", data={"ids": [rows[0].pk], "payout_ref": "PZ"})
    body = call("get", "/policy-stats", by="department").json()
    assert body["by"] == "department"
    (row,) = body["rows"]
    assert row["key"] == str(org.market.pk) and row["paid"] == 1 and row["amount_paid"] == "100.00"
    assert row["applied"] == 3 and row["rate"] is None  # no match results stored: eligible 0
    assert body["total"]["paid"] == 1
    by_county = call("get", "/policy-stats", org.county_dispatcher, by="county").json()
    assert [r["key"] for r in by_county["rows"]] == ["411621"]
    error(call("get", "/policy-stats", "enterprise"), 403)
    error(call("get", "/policy-stats", by="nonsense"), 400)
