"""Regressions found by fuzzing /api/v1/enterprises (schemathesis and hand-made hostile input).
Each answer must be a 4xx naming the field in Chinese, and nothing may be written."""
import json

import pytest
from django.db import models
from django.db.models import QuerySet

from tests.enterprises.conftest import fresh_uscc
from yingshang.core import actions
from yingshang.core.models import AuditLog
from yingshang.enterprises.models import Certification, Enterprise
from yingshang.enterprises.validation import CHECKS

pytestmark = pytest.mark.django_db
API = "/api/v1/enterprises"


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture
def send(org, api_client):
    """``send(method, path, data)`` as the city dispatcher (allowed to write the register)."""
    token = actions.do_issue_token(None, org.users["dispatcher"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def do(method, path="", data=None, **params):
        if method == "get":
            return api_client.get(API + path, params, **headers)
        return getattr(api_client, method)(API + path, json.dumps(data), content_type="application/json", **headers)

    return do


def refused(resp, field, status=400):
    """The Chinese reason given for ``field``; checks status, shape and message."""
    assert resp.status_code == status, resp.content
    err = resp.json()["error"]
    assert set(err) == {"code", "message", "fields"} and chinese(err["message"])
    assert field in err["fields"], err
    assert chinese(err["fields"][field]), err["fields"]
    return err["fields"][field]


@pytest.fixture
def unchanged(org):
    """Asserts, after the test, that the enterprise and the audit log were not touched."""
    ent = org.enterprise
    before = (Enterprise.objects.filter(pk=ent.pk).values().get(), AuditLog.objects.count())
    yield ent
    assert (Enterprise.objects.filter(pk=ent.pk).values().get(), AuditLog.objects.count()) == before


@pytest.mark.parametrize("field, value, reason", [
    ("employees", True, "应为数字"),                         # pydantic used to turn true into 1
    ("registered_capital", False, "应为数字"),
    ("employees", {"n": 1}, "应为数字"),
    ("registered_capital", "9e999999999", "超出合理范围"),    # was a 500 (decimal overflow)
    ("registered_capital", "1e-999999999", "超出合理范围"),   # was stored as 0
    ("total_assets", "0.00001", "小数位数超过4位"),
    ("employees", "1e999999999", "超出合理范围"),
    ("operating_revenue", "NaN", "不是数字"),
    ("name", "周口\x07有限公司", "控制字符"),                 # stored as-is before
    ("name", "周口\n有限公司", "换行"),
    ("address", "\x1b[31m周口", "控制字符"),
    ("business_scope", "销售\x7f", "控制字符"),
    ("name", "企" * 10_000, "最多200字"),
    ("address", "址" * 10_000, "最多200字"),
    ("established_on", "2025-02-30", "不是有效日期"),
    ("established_on", "0000-01-01", "不是有效日期"),
    ("established_on", "9999-12-31", "将来"),
    ("name", "", "不能为空"),                                # a silent no-op (200) before
    ("region_code", "   ", "不能为空"),
    ("foo", 1, "不是可识别的字段"),
])
def test_patch_refuses_hostile_values_and_writes_nothing(send, unchanged, field, value, reason):
    assert reason in refused(send("patch", f"/{unchanged.uscc}", {field: value}), field)


def test_blank_text_clears_an_optional_field(send, org):
    Enterprise.objects.filter(pk=org.enterprise.pk).update(address="周口市川汇区")
    assert send("patch", f"/{org.enterprise.uscc}", {"address": ""}).status_code == 200
    assert Enterprise.objects.get(pk=org.enterprise.pk).address == ""


def test_uscc_cannot_be_changed(send, unchanged):
    assert "不可修改" in refused(send("patch", f"/{unchanged.uscc}", {"uscc": fresh_uscc()}), "uscc")


def test_echoed_values_are_cut_short(send, unchanged):
    resp = send("patch", f"/{unchanged.uscc}", {"legal_form": "x" * 5000, "industry_code": "9" * 5000})
    err = resp.json()["error"]
    assert resp.status_code == 400 and {"legal_form", "industry_code"} <= set(err["fields"])
    assert len(err["message"]) < 400


def _api_char_fields():
    """(API field, model max_length) for every length-limited text column the API writes."""
    out = []
    for f in Enterprise._meta.get_fields():
        if isinstance(f, models.CharField) and f.editable and f.name in CHECKS and not f.choices:
            out.append((f.name, f.max_length))
    return out


@pytest.mark.parametrize("field, max_length", _api_char_fields())
def test_every_text_column_is_length_checked_before_the_database(send, unchanged, field, max_length):
    # SQLite ignores varchar lengths; PostgreSQL raises DataError. The validator must refuse first.
    refused(send("patch", f"/{unchanged.uscc}", {field: "1" * (max_length + 1)}), field)


@pytest.mark.parametrize("field, value", [("name", "企" * 200), ("address", "址" * 200),
                                          ("legal_representative", "张" * 64), ("contact_name", "王" * 64)])
def test_values_at_the_column_limit_are_stored(send, org, field, value):
    resp = send("patch", f"/{org.enterprise.uscc}", {field: value})
    assert resp.status_code == 200, resp.content
    assert getattr(Enterprise.objects.get(pk=org.enterprise.pk), field) == value


def test_create_refuses_bad_fields_all_at_once(send, org):
    resp = send("post", "", {"uscc": fresh_uscc(), "name": "周口\x07公司", "region_code": "411602",
                             "industry_code": "6513", "employees": "1e999999999", "established_on": "0000-01-01"})
    assert resp.status_code == 400
    assert set(resp.json()["error"]["fields"]) == {"name", "employees", "established_on"}
    assert Enterprise.objects.count() == 1


def test_concurrent_create_of_the_same_uscc_is_409_and_writes_nothing(send, org, monkeypatch):
    """The duplicate check runs before the insert; a create that loses the race to a concurrent one
    meets the unique constraint instead, and must still answer 409 with nothing half-written."""
    real_exists = QuerySet.exists
    monkeypatch.setattr(QuerySet, "exists", lambda qs: False if qs.model is Enterprise else real_exists(qs))
    audit_before = AuditLog.objects.count()
    resp = send("post", "", {"uscc": org.enterprise.uscc, "name": "周口抢注有限公司", "region_code": "411602",
                             "industry_code": "6513", "certifications": ["tech_sme"]})
    assert "已登记" in refused(resp, "uscc", status=409)
    assert Enterprise.objects.filter(uscc=org.enterprise.uscc).count() == 1
    assert Enterprise.objects.get(uscc=org.enterprise.uscc).name != "周口抢注有限公司"
    assert not Certification.objects.filter(enterprise__uscc=org.enterprise.uscc, kind="tech_sme").exists()
    assert AuditLog.objects.count() == audit_before


# ---------------------------------------------------------------- list parameters
@pytest.mark.parametrize("params, field", [
    ({"cursor": "²"}, "cursor"),                      # str.isdigit() accepted it, int() then failed: 500
    ({"cursor": "٣"}, "cursor"),
    ({"cursor": "9" * 30}, "cursor"),                 # beyond bigint
    ({"cursor": "-1"}, "cursor"),
    ({"cursor": "abc"}, "cursor"),
    ({"limit": "-5"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"limit": str(10**30)}, "limit"),
    ({"limit": "1.5"}, "limit"),
    ({"with_count": "maybe"}, "with_count"),
    ({"industry": "9" * 5000}, "industry"),
    ({"size": "huge"}, "size"),
])
def test_list_parameters_are_checked(send, org, params, field):
    refused(send("get", "", **params), field)


def test_path_with_unicode_or_long_uscc_is_404(send, org):
    for uscc in ("企业", "9" * 5000):
        resp = send("get", f"/{uscc}")
        assert resp.status_code == 404 and chinese(resp.json()["error"]["message"])
        assert len(resp.json()["error"]["message"]) < 200


def test_misspelt_figure_source_key_is_refused_not_dropped(send, unchanged):
    resp = send("patch", f"/{unchanged.uscc}", {"figure_sources": {"employees": {"source": "社保", "asof": "2024-12-31"}}})
    assert refused(resp, "figure_sources.employees.asof") == "不是可识别的字段"


def test_create_documents_and_enforces_its_required_fields(send, org, api_client):
    schema = api_client.get("/api/v1/openapi.json").json()
    ref = schema["paths"][API]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    required = set(schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["required"])
    assert required == {"uscc", "name", "region_code", "industry_code"}
    resp = send("post", "", {"name": "周口缺代码有限公司", "region_code": "411602", "industry_code": "6513"})
    assert refused(resp, "uscc") == "必填"
    resp = send("post", "", {"uscc": None, "name": "周口缺代码有限公司", "region_code": "411602", "industry_code": "6513"})
    assert refused(resp, "uscc") == "不能为空"
