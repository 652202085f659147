"""``/api/v1/workdays`` and the calendar pages."""
from __future__ import annotations

import pytest

from yingshang.workcal.models import CalendarDay, HolidayNotice

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_as(client, org):
    def login(role):
        client.force_login(org.users[role])
        return client
    return login


def test_api_add_between_day(client_as):
    c = client_as("enterprise")
    r = c.get("/api/v1/workdays/add", {"start": "2025-09-26", "days": "15"})
    assert r.status_code == 200 and r.json() == {"date": "2025-10-23", "provisional": False}
    r = c.get("/api/v1/workdays/add", {"start": "2026-12-30", "days": "5"})
    assert r.json() == {"date": "2027-01-06", "provisional": True}
    r = c.get("/api/v1/workdays/between", {"start": "2025-10-23", "end": "2025-09-26"})
    assert r.json() == {"workdays": -15, "provisional": False}
    r = c.get("/api/v1/workdays/day", {"date": "2025-10-11"})
    assert r.json()["kind"] == "adjusted_workday" and r.json()["is_workday"] is True


def test_api_with_bearer_token(client, org):
    from yingshang.core.models import ApiToken

    token = "t-" + "x" * 40
    ApiToken.objects.create(user=org.users["handler"], prefix=token[:8], digest=ApiToken.hash(token))
    r = client.get("/api/v1/workdays/add", {"start": "2026-02-13", "days": "1"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200 and r.json()["date"] == "2026-02-14"


@pytest.mark.parametrize("path,params,field", [
    ("add", {"start": "2025-02-30", "days": "3"}, "start"),
    ("add", {"start": "2025-09-26", "days": "x"}, "days"),
    ("add", {"start": "2025-09-26", "days": "3651"}, "days"),
    ("add", {"days": "3"}, "start"),
    ("add", {"start": "2025-09-26"}, "days"),
    ("add", {"start": "9999-12-31", "days": "3"}, "start"),
    ("between", {"start": "2025-09-26", "end": "tomorrow"}, "end"),
    ("day", {"date": ""}, "date"),
])
def test_api_bad_input_is_400_in_chinese(client_as, path, params, field):
    r = client_as("handler").get(f"/api/v1/workdays/{path}", params)
    assert r.status_code == 400
    err = r.json()["error"]
    assert field in err["fields"] and any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])


def test_api_extreme_but_valid_span(client_as):
    r = client_as("handler").get("/api/v1/workdays/add", {"start": "2200-12-31", "days": "3650"})
    assert r.status_code == 200 and r.json()["provisional"] is True
    r = client_as("handler").get("/api/v1/workdays/add", {"start": "1900-01-01", "days": "-3650"})
    assert r.status_code == 200


def test_api_needs_login(client):
    r = client.get("/api/v1/workdays/add", {"start": "2025-09-26", "days": "15"})
    assert r.status_code == 401


def test_calendar_page_for_staff_with_provisional_flag(client_as):
    c = client_as("handler")
    r = c.get("/calendar/", {"year": "2027"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "暂按周一至周五推算" in html and "录入节假日安排通知" not in html
    r = c.get("/calendar/", {"year": "2025"})
    assert "暂按周一至周五推算" not in r.content.decode() and "wc-day-adjusted_workday" in r.content.decode()


def test_calculator_for_any_logged_in_user(client_as):
    r = client_as("enterprise").get("/calendar/calculator/", {"start": "2025-09-26", "days": "15"},
                                    HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "2025-10-23" in r.content.decode()
    r = client_as("enterprise").get("/calendar/calculator/", {"start": "2025-09-26", "days": "abc"})
    assert r.status_code == 200 and "应为整数" in r.content.decode()


def test_pages_need_login(client):
    assert client.get("/calendar/").status_code == 302
    assert client.get("/calendar/notice/").status_code == 302


@pytest.mark.parametrize("role", ["handler", "dispatcher", "enterprise", "leader"])
def test_notice_form_is_admin_only(client_as, role):
    c = client_as(role)
    assert c.get("/calendar/notice/").status_code == 403
    assert c.post("/calendar/notice/", {"year": "2027"}).status_code == 403
    assert not HolidayNotice.objects.filter(year=2027).exists()


def _form(**extra):
    data = {"year": "2027", "title": "【示例】2027年部分节假日安排", "document_number": "示例-非官方",
            "published_on": "2026-11-01",
            "holiday_name": ["元旦", "春节", ""], "holiday_start": ["2027-01-01", "2027-02-05", ""],
            "holiday_end": ["2027-01-03", "2027-02-13", ""],
            "workday_date": ["2027-01-31", "2027-02-20", ""], "workday_name": ["春节调休", "春节调休", ""]}
    data.update(extra)
    return data


def test_admin_enters_a_notice_by_form(client_as):
    c = client_as("admin")
    assert c.get("/calendar/notice/?year=2027").status_code == 200
    r = c.post("/calendar/notice/", _form())
    assert r.status_code == 302 and r["Location"].endswith("?year=2027")
    assert CalendarDay.objects.get(date="2027-02-10").kind == "holiday"
    r = c.get("/calendar/", {"year": "2027"})
    assert "暂按周一至周五推算" not in r.content.decode()


def test_admin_form_errors_keep_the_input(client_as):
    c = client_as("admin")
    r = c.post("/calendar/notice/", _form(workday_date=["2027-02-15", "", ""], workday_name=["春节调休", "", ""]))  # a Monday
    assert r.status_code == 400
    html = r.content.decode()
    assert "调休上班第 1 行" in html and "必须是周六或周日" in html and 'value="2027-02-15"' in html
    assert not HolidayNotice.objects.filter(year=2027).exists()
    r = c.post("/calendar/notice/", _form(holiday_start=["2027-01-01", "2027-02-31", ""]))
    assert r.status_code == 400 and "放假安排第 2 行开始日期" in r.content.decode()


def test_admin_uploads_a_notice_file(client_as):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.workcal.test_files_cli import EXAMPLES

    c = client_as("admin")
    f = SimpleUploadedFile("notice-2027-EXAMPLE.json", (EXAMPLES / "notice-2027-EXAMPLE.json").read_bytes())
    r = c.post("/calendar/notice/", {"file": f})
    assert r.status_code == 302
    assert HolidayNotice.objects.get(year=2027).source_file == "notice-2027-EXAMPLE.json"
    bad = SimpleUploadedFile("n.csv", "date,type,name\n2027-01-01,X,元旦\n".encode())
    r = c.post("/calendar/notice/", {"file": bad})
    assert r.status_code == 400 and "第 2 行 type 列" in r.content.decode()
