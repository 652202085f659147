"""Regressions found by fuzzing the core and working-day endpoints: numbers beyond the database's
64-bit integers and non-ASCII digits were 500s; now each is a 400 naming the parameter in Chinese."""
import json

import pytest

from yingshang.core import actions
from yingshang.core.models import Notification

pytestmark = pytest.mark.django_db
API = "/api/v1"
HUGE = "29741015935845208359167852544"  # the offset schemathesis found; > 2**63


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture
def auth(org):
    return {"HTTP_AUTHORIZATION": f"Bearer {actions.do_issue_token(None, org.users['handler'])}"}


def refused(resp, field):
    assert resp.status_code == 400, resp.content
    err = resp.json()["error"]
    assert chinese(err["message"]) and field in err["fields"] and chinese(err["fields"][field]), err
    return err["fields"][field]


@pytest.mark.parametrize("params, field", [
    ({"offset": HUGE}, "offset"),
    ({"offset": "-1"}, "offset"),
    ({"limit": "0"}, "limit"),
    ({"limit": HUGE}, "limit"),
    ({"unread": "perhaps"}, "unread"),
])
def test_notification_paging_is_bounded(api_client, auth, params, field):
    refused(api_client.get(f"{API}/notifications", params, **auth), field)


def test_mark_read_refuses_ids_beyond_the_database_range(api_client, org, auth):
    note = Notification.objects.create(user=org.users["handler"], category="test", title="测试", key="fuzz-1")
    for ids, field in (([10**30], "ids.0"), ([0], "ids.0"), (["a"], "ids.0"), (list(range(1, 1002)), "ids")):
        resp = api_client.post(f"{API}/notifications/read", json.dumps({"ids": ids}),
                               content_type="application/json", **auth)
        refused(resp, field)
    note.refresh_from_db()
    assert note.read_at is None


@pytest.mark.parametrize("token_id", [HUGE, "-1", "0"])
def test_revoke_token_id_out_of_range(api_client, auth, token_id):
    refused(api_client.delete(f"{API}/auth/tokens/{token_id}", **auth), "token_id")


@pytest.mark.parametrize("days", ["٣", "³", "1.5", "1e3", "9" * 10_000, ""])
def test_workdays_days_must_be_an_ascii_integer_in_range(api_client, auth, days):
    resp = api_client.get(f"{API}/workdays/add", {"start": "2025-09-30", "days": days}, **auth)
    refused(resp, "days")


@pytest.mark.parametrize("date", ["2025-02-30", "0000-01-01", "9999-12-31", "٢٠٢٥-01-01", "x" * 10_000])
def test_workdays_dates_are_checked(api_client, auth, date):
    reason_message = api_client.get(f"{API}/workdays/day", {"date": date}, **auth)
    refused(reason_message, "date")
    assert len(reason_message.json()["error"]["message"]) < 200


def test_workday_parameters_are_documented_with_their_format(api_client):
    params = api_client.get(f"{API}/openapi.json").json()["paths"][f"{API}/workdays/add"]["get"]["parameters"]
    by_name = {p["name"]: p["schema"] for p in params}
    assert by_name["start"]["format"] == "date" and "pattern" in by_name["days"]


@pytest.mark.parametrize("raw", ["[null, null]", "[]", "0", "null"])
def test_mark_read_with_a_body_that_is_not_an_object_marks_nothing(api_client, org, auth, raw):
    # Schemathesis found ``[null, null]`` answered 200: ninja read the list's missing "ids" as the
    # default, which means "mark every message read".
    note = Notification.objects.create(user=org.users["handler"], category="test", title="测试", key="fuzz-2")
    resp = api_client.post(f"{API}/notifications/read", raw, content_type="application/json", **auth)
    assert refused(resp, "请求体") == "应为对象(JSON object)"
    note.refresh_from_db()
    assert note.read_at is None


def test_missing_workday_parameters_are_named(api_client, auth):
    assert refused(api_client.get(f"{API}/workdays/add", {"start": "2025-09-30"}, **auth), "days") == "必填"
    assert refused(api_client.get(f"{API}/workdays/between", {"end": "2025-09-30"}, **auth), "start") == "必填"


def test_mark_read_with_a_misspelt_key_marks_nothing(api_client, org, auth):
    note = Notification.objects.create(user=org.users["handler"], category="test", title="测试", key="fuzz-3")
    resp = api_client.post(f"{API}/notifications/read", json.dumps({"idz": [note.pk]}),
                           content_type="application/json", **auth)
    assert refused(resp, "idz") == "不是可识别的字段"
    note.refresh_from_db()
    assert note.read_at is None


def test_failed_login_with_a_long_username_is_401(api_client, org):
    resp = api_client.post(f"{API}/auth/token", json.dumps({"username": "u" * 100, "password": "wrong-password"}),
                           content_type="application/json")
    assert resp.status_code == 401, resp.content
    assert resp.json()["error"]["code"] == "invalid_credentials"
