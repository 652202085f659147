"""/api/v1/enterprises: create, get, patch, list with filters and keyset pagination, scoping, errors, audit."""
import json

import pytest

from tests.enterprises.conftest import fresh_uscc
from tests.factories import EnterpriseFactory
from yingshang.core import actions as core_actions
from yingshang.core.models import AuditLog
from yingshang.enterprises.models import Certification, Enterprise

pytestmark = pytest.mark.django_db
API = "/api/v1/enterprises"


@pytest.fixture
def call(org, api_client):
    """``call(method, path, role_or_user, data=None)`` with a bearer token of that user."""
    tokens = {}

    def do(method, path, who="dispatcher", data=None, **params):
        user = org.users[who] if isinstance(who, str) else who
        if user.pk not in tokens:
            tokens[user.pk] = core_actions.do_issue_token(None, user)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user.pk]}"}
        if method == "get":
            return api_client.get(API + path, params, **headers)
        return getattr(api_client, method)(API + path, json.dumps(data), content_type="application/json", **headers)

    return do


def body(**kw):
    data = {"uscc": fresh_uscc(), "name": "周口接口测试有限公司", "region_code": "411602", "industry_code": "6513",
            "established_on": "2023-03-01", "employees": 30, "operating_revenue": 900.25, "total_assets": "300",
            "rd_expense": "45", "tax_credit_rating": "A", "certifications": ["tech_sme"],
            "figure_sources": {"employees": {"source": "社保", "as_of": "2024-12-31"}},
            "contact_phone": "13912345678", "contact_name": "王五"}
    data.update(kw)
    return data


def error(resp, status):
    assert resp.status_code == status, resp.content
    err = resp.json()["error"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])
    return err


def test_create_get_patch(org, call):
    data = body()
    resp = call("post", "", data=data)
    assert resp.status_code == 201, resp.content
    out = resp.json()
    # 软件业: X=30 reaches 小 (≥10), Y=900.25 reaches 小 (≥50, <1000) → 小型.
    assert out["size"] == "small" and out["operating_revenue"] == "900.25" and out["employees"] == 30
    assert out["certifications"] == ["tech_sme"] and {"rd_intensive", "small_micro", "tax_a"} <= set(out["tags"])
    assert out["age_years"] is not None and "contact_phone" not in out and "contact_name" not in out
    assert out["figure_sources"]["employees"]["source"] == "社保"
    ent = Enterprise.objects.get(uscc=data["uscc"])
    assert AuditLog.objects.filter(action="create", object_id=str(ent.pk)).exists()

    got = call("get", "/" + data["uscc"].lower())
    assert got.status_code == 200 and got.json()["uscc"] == data["uscc"]

    patched = call("patch", "/" + data["uscc"], data={"employees": 120, "operating_revenue": "1500", "rd_expense": None})
    assert patched.status_code == 200, patched.content
    assert patched.json()["size"] == "medium" and patched.json()["rd_expense"] is None
    assert patched.json()["name"] == data["name"]  # PATCH leaves other fields alone
    row = AuditLog.objects.filter(action="update", object_id=str(ent.pk)).get()
    assert row.changes["employees"] == [30, 120] and row.changes["rd_expense"] == ["45", None]


def test_invalid_input_is_400_with_field_reasons(org, call):
    before = Enterprise.objects.count()
    err = error(call("post", "", data=body(uscc="91110000600037341X", region_code="999999", industry_code="Z9",
                                            employees=-1, operating_revenue="1e12", established_on="2999-01-01")),
                400)
    assert set(err["fields"]) == {"uscc", "region_code", "industry_code", "employees", "operating_revenue",
                                  "established_on"}
    assert "第18位" in err["fields"]["uscc"]
    assert Enterprise.objects.count() == before
    err = error(call("post", "", data={"uscc": fresh_uscc(), "colour": "red"}), 400)
    assert "colour" in err["fields"]
    err = error(call("patch", "/" + org.enterprise.uscc, data={"employees": "many"}), 400)
    assert "employees" in err["fields"]


def test_not_found_and_conflict(org, call):
    error(call("get", "/91110000600037341L"), 404)
    error(call("patch", "/91110000600037341L", data={"employees": 1}), 404)
    err = error(call("post", "", data=body(uscc=org.enterprise.uscc)), 409)
    assert "uscc" in err["fields"]


def test_scoping(org, call):
    other = EnterpriseFactory(uscc=fresh_uscc("411621"), region=org.fugou, name="扶沟企业")
    # enterprise user: itself only
    mine = call("get", "", "enterprise").json()["items"]
    assert [e["uscc"] for e in mine] == [org.enterprise.uscc]
    error(call("get", "/" + other.uscc, "enterprise"), 403)
    error(call("post", "", "enterprise", data=body()), 403)
    # county dispatcher: its county only, cannot create elsewhere
    listed = {e["uscc"] for e in call("get", "", org.county_dispatcher).json()["items"]}
    assert listed == {other.uscc}
    error(call("get", "/" + org.enterprise.uscc, org.county_dispatcher), 403)
    err = error(call("post", "", org.county_dispatcher, data=body()), 400)
    assert "管辖范围" in err["fields"]["region_code"]
    assert call("post", "", org.county_dispatcher, data=body(region_code="411621")).status_code == 201
    # supervisor: no access to the register
    error(call("get", "", "supervisor"), 403)
    error(call("get", "/" + org.enterprise.uscc, "supervisor"), 403)
    # city dispatcher sees both
    assert len(call("get", "").json()["items"]) == 3


def test_unauthenticated(api_client, org):
    assert api_client.get(API).status_code == 401


def test_filters(org, call):
    soft = EnterpriseFactory(uscc=fresh_uscc(), industry_code="6513", employees=5, operating_revenue=20,
                             region=org.street, name="陈州软件工作室")
    Certification.objects.create(enterprise=soft, kind="high_tech")
    from yingshang.enterprises.tags import refresh_for

    refresh_for([soft.pk, org.enterprise.pk])

    def uscc_set(**params):
        resp = call("get", "", **params)
        assert resp.status_code == 200, resp.content
        return {e["uscc"] for e in resp.json()["items"]}

    assert uscc_set(industry="I") == {soft.uscc}
    assert uscc_set(industry="33") == {org.enterprise.uscc}
    assert uscc_set(region="411602001") == {soft.uscc}
    assert uscc_set(region="411602") == {soft.uscc, org.enterprise.uscc}
    assert uscc_set(size="micro") == {soft.uscc}
    assert uscc_set(certification="high_tech") == {soft.uscc}
    assert uscc_set(tag="high_tech") == {soft.uscc}
    assert uscc_set(q="陈州") == {soft.uscc}
    assert uscc_set(q=soft.uscc[:14]) == {soft.uscc}
    for bad in ({"region": "999999"}, {"industry": "99"}, {"size": "huge"}, {"certification": "x"},
                {"tag": "nope"}, {"limit": 500}, {"limit": 0}, {"cursor": "abc"}):
        assert set(error(call("get", "", **bad), 400)["fields"]) == set(bad), bad


def test_keyset_pagination(org, call):
    for i in range(7):
        EnterpriseFactory(uscc=fresh_uscc(), name=f"分页企业{i}")
    seen, cursor, pages = [], "", 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = call("get", "", with_count="true", **params).json()
        assert page["count"] == 8
        seen += [e["uscc"] for e in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 8
    ids = list(Enterprise.objects.filter(uscc__in=seen).order_by("-id").values_list("uscc", flat=True))
    assert seen == ids


def test_enterprise_user_patch_limits(org, call):
    resp = call("patch", "/" + org.enterprise.uscc, "enterprise", data={"employees": 80})
    assert resp.status_code == 200 and resp.json()["employees"] == 80
    err = error(call("patch", "/" + org.enterprise.uscc, "enterprise", data={"region_code": "411621"}), 403)
    assert "region_code" in err["fields"]


def test_openapi_documents_the_routes(api_client, org):
    schema = api_client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/enterprises", "/api/v1/enterprises/{uscc}"} <= set(schema["paths"])
