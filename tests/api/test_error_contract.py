"""The API-wide error contract: whatever a client gets wrong, the answer is a 4xx with
``{"error": {"code", "message", "fields"}}``, a Chinese message, and the field named where there is one.
These cover the request layer (body parsing, URLs, methods, authentication) for every operation."""
import datetime as dt
import json

import pytest
from django.db import DataError, IntegrityError
from django.utils import timezone

from yingshang.core import actions
from yingshang.core.models import ApiToken, User

pytestmark = pytest.mark.django_db
API = "/api/v1"


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def error(resp, status, code=None):
    """The error body of ``resp``, after checking the status, the shape and the Chinese texts."""
    assert resp.status_code == status, resp.content
    assert resp["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    err = body["error"]
    assert chinese(err["message"]), err["message"]
    assert all(chinese(reason) for reason in err["fields"].values()), err["fields"]
    if code:
        assert err["code"] == code
    return err


@pytest.fixture
def auth(org):
    token = actions.do_issue_token(None, org.users["dispatcher"])
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def patch(client, auth, org, raw: bytes | str, content_type="application/json"):
    return client.generic("PATCH", f"{API}/enterprises/{org.enterprise.uscc}", raw, content_type=content_type,
                          **auth)


# ---------------------------------------------------------------- documentation
def test_every_authenticated_operation_documents_its_error_answers(api_client):
    schema = api_client.get(f"{API}/openapi.json").json()
    undocumented = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if path.endswith("/health"):
                continue
            missing = {"400", "401", "403", "404"} - set(op["responses"])
            if missing:
                undocumented.append(f"{method.upper()} {path}: {sorted(missing)}")
    assert not undocumented
    create = schema["paths"][f"{API}/enterprises"]["post"]["responses"]
    assert "409" in create  # a USCC registered twice


# ---------------------------------------------------------------- request bodies
@pytest.mark.parametrize("raw, where", [
    ('{"name": ', "第 1 行第 10 列"),
    ('{"name": "x",}', "第 1 行"),
])
def test_malformed_json_is_a_400_saying_where(api_client, org, auth, raw, where):
    err = error(patch(api_client, auth, org, raw), 400, "invalid_json")
    assert where in err["message"]


def test_body_that_is_not_utf8_json(api_client, org, auth):
    assert "UTF-8" in error(patch(api_client, auth, org, b'{"name": "\xff\xfe"}'), 400, "invalid_json")["message"]


def test_integer_literal_beyond_pythons_digit_limit(api_client, org, auth):
    raw = '{"employees": 1' + "0" * 5000 + "}"
    error(patch(api_client, auth, org, raw), 400, "invalid_json")


def test_deeply_nested_json(api_client, org, auth):
    raw = '{"figure_sources": ' + "[" * 100_000 + "]" * 100_000 + "}"
    error(patch(api_client, auth, org, raw), 400, "invalid_json")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
def test_body_not_sent_as_json_is_415(api_client, org, auth, content_type):
    err = error(patch(api_client, auth, org, '{"name": "周口新名称有限公司"}', content_type), 415,
                "unsupported_media_type")
    assert "application/json" in err["message"] and "Content-Type" in err["fields"]
    org.enterprise.refresh_from_db()
    assert org.enterprise.name != "周口新名称有限公司"


@pytest.mark.parametrize("raw", ["[1, 2]", "null", '"text"', "42"])
def test_body_that_is_not_an_object(api_client, org, auth, raw):
    err = error(patch(api_client, auth, org, raw), 400, "validation_failed")
    assert err["fields"] == {"请求体": "应为对象(JSON object)"}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e309", "-1e400"])
def test_non_finite_numbers_are_refused_naming_the_field(api_client, org, auth, literal):
    err = error(patch(api_client, auth, org, '{"operating_revenue": %s}' % literal), 400, "validation_failed")
    assert set(err["fields"]) == {"operating_revenue"} and literal in err["fields"]["operating_revenue"]


def test_nul_character_in_any_body_string_is_refused_with_its_path(api_client, org, auth):
    raw = json.dumps({"address": "周口\x00", "figure_sources": {"employees": {"source": "社\x00保"}}})
    err = error(patch(api_client, auth, org, raw), 400, "validation_failed")
    assert set(err["fields"]) == {"address", "figure_sources.employees.source"}


def test_nul_in_login_body_is_a_400_not_a_database_error(api_client, org):
    resp = api_client.post(f"{API}/auth/token", json.dumps({"username": "t_admin\x00", "password": "x"}),
                           content_type="application/json")
    assert "username" in error(resp, 400)["fields"]


def test_pydantic_reasons_are_translated(api_client, org, auth):
    err = error(patch(api_client, auth, org, json.dumps({"figure_sources": [], "certifications": "x"})), 400)
    assert err["fields"] == {"figure_sources": "应为对象(JSON object)", "certifications": "应为列表"}


# ---------------------------------------------------------------- URLs and methods
@pytest.mark.parametrize("path", ["/", "/nope", "/enterprises/x/y/z", "/enterpris", "/enterprises/9141%2F1627",
                                  "/workdays/add/extra"])
def test_unknown_urls_under_the_api_are_json_404(api_client, auth, path):
    err = error(api_client.get(API + path, **auth), 404, "not_found")
    assert "接口不存在" in err["message"]


def test_unknown_urls_are_404_without_authentication_too(api_client):
    error(api_client.post(f"{API}/no-such-thing", "{}", content_type="application/json"), 404, "not_found")


@pytest.mark.parametrize("method, path, allowed", [
    ("put", "/enterprises/91411602MA0000000X", {"GET", "PATCH"}),
    ("delete", "/enterprises", {"GET", "POST"}),
    ("post", "/health", {"GET"}),
    ("patch", "/workdays/add", {"GET"}),
])
def test_wrong_method_is_json_405_with_allow_header(api_client, auth, method, path, allowed):
    resp = getattr(api_client, method)(API + path, "{}", content_type="application/json", **auth)
    err = error(resp, 405, "method_not_allowed")
    assert {m.strip() for m in resp["Allow"].split(",")} == allowed
    assert method.upper() in err["message"]


@pytest.mark.parametrize("url, field", [
    ("/enterprises?q=a%00b", "q"),
    ("/enterprises?region=41%00", "region"),
    ("/regions?parent=4116%00", "parent"),
    ("/workdays/day?date=2025-01-01%00", "date"),
    ("/enterprises/9141%00", "路径"),
    ("/regions/41%1F16", "路径"),
])
def test_control_characters_in_the_url_are_refused_naming_the_parameter(api_client, auth, url, field):
    err = error(api_client.get(API + url, **auth), 400, "validation_failed")
    assert field in err["fields"]


# ---------------------------------------------------------------- authentication
def test_no_token_and_unknown_token_are_401(api_client, org):
    error(api_client.get(f"{API}/enterprises"), 401, "unauthorized")
    error(api_client.get(f"{API}/enterprises", HTTP_AUTHORIZATION="Bearer ys_nope"), 401, "unauthorized")
    error(api_client.get(f"{API}/enterprises", HTTP_AUTHORIZATION="Basic YWRtaW46eA=="), 401, "unauthorized")


def test_revoked_expired_and_deactivated_users_tokens_are_401(api_client, org):
    user = org.users["dispatcher"]
    revoked = actions.do_issue_token(None, user)
    actions.do_revoke_tokens(None, user)
    expired = actions.do_issue_token(None, user, expires_at=timezone.now() + dt.timedelta(days=1))
    ApiToken.objects.filter(digest=ApiToken.hash(expired)).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    inactive = actions.do_issue_token(None, org.users["steward"])
    # Deactivated by other means than do_deactivate_user (e.g. the admin site): the token itself stays live.
    User.objects.filter(pk=org.users["steward"].pk).update(is_active=False)
    for token in (revoked, expired, inactive):
        error(api_client.get(f"{API}/me", HTTP_AUTHORIZATION=f"Bearer {token}"), 401, "unauthorized")


# ---------------------------------------------------------------- database errors caused by input
def test_database_errors_that_slip_past_validation_are_4xx_not_500(api_client, org, auth, monkeypatch):
    from yingshang.enterprises import api as enterprise_api

    def data_error(*args, **kwargs):
        raise DataError("value too long for type character varying(200)")

    monkeypatch.setattr(enterprise_api, "do_update_enterprise", data_error)
    error(patch(api_client, auth, org, '{"name": "x"}'), 400, "invalid_value")

    def integrity_error(*args, **kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(enterprise_api, "do_update_enterprise", integrity_error)
    error(patch(api_client, auth, org, '{"name": "x"}'), 409, "conflict")
