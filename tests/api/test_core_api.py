import datetime as dt
import json

import pytest
from django.apps import apps
from django.core import serializers
from django.db import DatabaseError
from django.test import override_settings
from django.utils import timezone

import yingshang
from yingshang.core import actions
from yingshang.core.models import ApiToken, AuditAction, AuditLog, Notification, User

pytestmark = pytest.mark.django_db
API = "/api/v1"


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post_json(client, path, data, **extra):
    return client.post(API + path, json.dumps(data), content_type="application/json", **extra)


def assert_error(resp, status, code=None):
    assert resp.status_code == status, resp.content
    body = resp.json()["error"]
    assert set(body) == {"code", "message", "fields"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body["message"]
    if code:
        assert body["code"] == code
    return body


@pytest.fixture
def token_for(org):
    def issue(role="dispatcher", **kw):
        return actions.do_issue_token(None, org.users[role], **kw)
    return issue


# ---------------------------------------------------------------- health and docs
def test_health_reports_database_version_mode_and_jobs(api_client):
    resp = api_client.get(f"{API}/health")
    assert resp.status_code == 200
    body = resp.json()
    assert (body["status"], body["database"], body["version"], body["mode"]) == ("ok", "ok", yingshang.__version__, "test")
    assert body["jobs"]["backend"] == "inprocess" and body["jobs"]["outbox_pending"] == 0


def test_health_is_503_when_the_database_fails(api_client, monkeypatch):
    class Broken:
        def cursor(self):
            raise DatabaseError("connection refused")

    monkeypatch.setattr("yingshang.core.api.connection", Broken())
    resp = api_client.get(f"{API}/health")
    assert resp.status_code == 503 and resp.json()["database"] == "error"


def test_openapi_schema_and_docs_load_and_document_responses(api_client):
    schema = api_client.get(f"{API}/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/health", "/api/v1/auth/token", "/api/v1/auth/tokens/{token_id}", "/api/v1/me",
                 "/api/v1/regions", "/api/v1/regions/{code}", "/api/v1/departments", "/api/v1/notifications",
                 "/api/v1/notifications/read"):
        assert path in paths, path
    assert {"200", "503"} <= set(paths["/api/v1/health"]["get"]["responses"])
    assert {"200", "400", "401"} <= set(paths["/api/v1/auth/token"]["post"]["responses"])
    assert api_client.get(f"{API}/docs").status_code == 200


# ---------------------------------------------------------------- tokens
def test_login_returns_a_token_that_works_as_bearer_and_is_stored_only_hashed(org, api_client):
    resp = post_json(api_client, "/auth/token", {"username": "t_handler", "password": "pass-1234", "name": "脚本"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["user"] == {"username": "t_handler", "role": "handler"}
    assert dt.datetime.fromisoformat(body["expires_at"]) > timezone.now() + dt.timedelta(days=29)
    me = api_client.get(f"{API}/me", **bearer(body["token"]))
    assert me.status_code == 200 and me.json()["department"] == {"code": "SCJG", "name": org.market.name}
    dump = serializers.serialize("json", [obj for model in apps.get_models() for obj in model.objects.all()])
    assert body["token"] not in dump and ApiToken.hash(body["token"]) in dump


def test_wrong_password_is_401_in_chinese_and_audited(org, api_client):
    resp = post_json(api_client, "/auth/token", {"username": "t_handler", "password": "wrong"})
    assert assert_error(resp, 401, "invalid_credentials")["message"] == "用户名或密码错误"
    assert AuditLog.objects.filter(action=AuditAction.LOGIN_FAILED, object_id="t_handler").exists()
    assert not ApiToken.objects.exists()


def test_demo_accounts_are_refused_outside_demo_mode(org, api_client):
    User.objects.filter(username="t_handler").update(is_demo=True)
    with override_settings(DEMO_MODE=False):
        resp = post_json(api_client, "/auth/token", {"username": "t_handler", "password": "pass-1234"})
    assert "演示" in assert_error(resp, 401)["message"]
    assert post_json(api_client, "/auth/token", {"username": "t_handler", "password": "pass-1234"}).status_code == 200


def test_missing_field_is_400_naming_the_field(api_client):
    body = assert_error(post_json(api_client, "/auth/token", {"username": "x"}), 400, "validation_failed")
    assert body["fields"] == {"password": "必填"} and "password" in body["message"]


@pytest.mark.parametrize("state", ["revoked", "expired", "garbage", "missing"])
def test_unusable_tokens_get_401(org, api_client, token_for, state):
    token = token_for()
    row = ApiToken.objects.get()
    if state == "revoked":
        actions.do_revoke_token(None, row.pk)
    elif state == "expired":
        ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    headers = {} if state == "missing" else bearer(token + "x" if state == "garbage" else token)
    assert_error(api_client.get(f"{API}/me", **headers), 401, "unauthorized")


def test_tokens_of_deactivated_users_stop_working(org, api_client, token_for):
    token = token_for("steward")
    User.objects.filter(username="t_steward").update(is_active=False)
    assert_error(api_client.get(f"{API}/me", **bearer(token)), 401)


def test_list_and_revoke_own_tokens(org, api_client, token_for):
    token = token_for("leader", name="大屏")
    listed = api_client.get(f"{API}/auth/tokens", **bearer(token)).json()
    assert [(t["name"], t["active"]) for t in listed] == [("大屏", True)]
    assert token.startswith(listed[0]["prefix"]) and "digest" not in listed[0]
    resp = api_client.delete(f"{API}/auth/tokens/{listed[0]['id']}", **bearer(token))
    assert resp.status_code == 200 and resp.json()["revoked_at"]
    assert_error(api_client.get(f"{API}/me", **bearer(token)), 401)


def test_others_tokens_are_forbidden_except_for_admin(org, api_client, token_for):
    victim = token_for("leader")
    victim_id = ApiToken.objects.get(user=org.users["leader"]).pk
    assert_error(api_client.delete(f"{API}/auth/tokens/{victim_id}", **bearer(token_for("steward"))), 403, "forbidden")
    assert_error(api_client.delete(f"{API}/auth/tokens/999999", **bearer(token_for("steward"))), 404, "not_found")
    assert api_client.get(f"{API}/me", **bearer(victim)).status_code == 200
    assert api_client.delete(f"{API}/auth/tokens/{victim_id}", **bearer(token_for("admin"))).status_code == 200
    assert api_client.get(f"{API}/me", **bearer(victim)).status_code == 401


# ---------------------------------------------------------------- organisation
def test_regions_flat_list_filters_and_detail(org, api_client, token_for):
    auth = bearer(token_for())
    everything = api_client.get(f"{API}/regions", **auth).json()
    assert [r["code"] for r in everything] == ["410000", "411600", "411602", "411602001", "411621"]
    children = api_client.get(f"{API}/regions", {"parent": "411600"}, **auth).json()
    assert [(r["code"], r["parent"]) for r in children] == [("411602", "411600"), ("411621", "411600")]
    streets = api_client.get(f"{API}/regions", {"level": "street"}, **auth).json()
    assert [r["code"] for r in streets] == ["411602001"]
    detail = api_client.get(f"{API}/regions/411602", **auth).json()
    assert detail["parent"] == "411600" and [c["code"] for c in detail["children"]] == ["411602001"]
    assert_error(api_client.get(f"{API}/regions/419999", **auth), 404, "not_found")
    assert "parent" in assert_error(api_client.get(f"{API}/regions", {"parent": "419999"}, **auth), 400)["fields"]
    assert "level" in assert_error(api_client.get(f"{API}/regions", {"level": "planet"}, **auth), 400)["fields"]


def test_regions_need_login(org, api_client):
    assert_error(api_client.get(f"{API}/regions"), 401)


def test_departments_filter_by_region_including_descendants_and_kind(org, api_client, token_for):
    auth = bearer(token_for("enterprise"))
    codes = lambda params: [d["code"] for d in api_client.get(f"{API}/departments", params, **auth).json()]  # noqa: E731
    assert sorted(codes({"region": "411600"})) == ["FG-SCJG", "SCJG", "YSB"]
    assert codes({"region": "411621"}) == ["FG-SCJG"]
    assert codes({"kind": "office"}) == ["YSB"]
    assert "region" in assert_error(api_client.get(f"{API}/departments", {"region": "1"}, **auth), 400)["fields"]
    assert "kind" in assert_error(api_client.get(f"{API}/departments", {"kind": "bank"}, **auth), 400)["fields"]


# ---------------------------------------------------------------- notifications
def test_notifications_list_and_mark_read(org, api_client, token_for):
    user = org.users["handler"]
    rows = [Notification.objects.create(user=user, key=f"n{i}", title=f"消息{i}") for i in range(3)]
    Notification.objects.create(user=org.users["steward"], key="other", title="别人的")
    auth = bearer(token_for("handler"))
    page = api_client.get(f"{API}/notifications", **auth).json()
    assert (page["total"], page["unread"]) == (3, 3)
    assert [n["title"] for n in page["items"]] == ["消息2", "消息1", "消息0"]
    resp = post_json(api_client, "/notifications/read", {"ids": [rows[0].pk]}, **auth)
    assert resp.json() == {"marked": 1}
    unread = api_client.get(f"{API}/notifications", {"unread": "true"}, **auth).json()
    assert unread["unread"] == 2 and len(unread["items"]) == 2
    assert api_client.get(f"{API}/me", **auth).json()["unread_notifications"] == 2
    assert post_json(api_client, "/notifications/read", {}, **auth).json() == {"marked": 2}
    assert_error(api_client.get(f"{API}/notifications", {"limit": 0}, **auth), 400)
