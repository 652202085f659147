"""服务管家 assignment: who may assign, who may be assigned (role, region scope), audit, API field, page select."""
import pytest
from django.core.exceptions import PermissionDenied

from tests.enterprises.conftest import api_headers, fresh_uscc
from tests.factories import UserFactory
from yingshang.core.errors import Forbidden, ValidationFailed
from yingshang.core.models import AuditLog, Role
from yingshang.enterprises.actions import do_create_enterprise, do_update_enterprise
from yingshang.enterprises.actions_steward import do_assign_steward, steward_choices
from yingshang.enterprises.models import Enterprise

API = "/api/v1/enterprises"


@pytest.fixture
def stewards(org):
    """A steward of 川汇区 (the enterprise's county), one of 扶沟县 and an inactive one of 川汇区."""
    here = UserFactory(username="gj_chuanhui", role=Role.STEWARD, region=org.chuanhui, display_name="郭管家")
    there = UserFactory(username="gj_fugou", role=Role.STEWARD, region=org.fugou)
    gone = UserFactory(username="gj_gone", role=Role.STEWARD, region=org.chuanhui, is_active=False)
    return here, there, gone


def steward_of(ent):
    return Enterprise.objects.get(pk=ent.pk).steward


def test_dispatcher_assigns_and_clears_with_audit(org, stewards):
    here = stewards[0]
    do_assign_steward(org.users["dispatcher"], org.enterprise, here)
    assert steward_of(org.enterprise) == here
    do_assign_steward(org.users["dispatcher"], org.enterprise, None)
    assert steward_of(org.enterprise) is None
    rows = AuditLog.objects.for_object(org.enterprise).filter(changes__has_key="steward_id")
    assert [r.changes["steward_id"] for r in rows.order_by("id")] == [[None, here.pk], [here.pk, None]]
    assert {r.reason for r in rows} == {"指定服务管家", "取消服务管家"}


def test_same_steward_again_writes_nothing(org, stewards):
    do_assign_steward(org.users["admin"], org.enterprise, stewards[0])
    count = AuditLog.objects.count()
    do_assign_steward(org.users["admin"], org.enterprise, stewards[0])
    assert AuditLog.objects.count() == count


def test_steward_must_cover_the_enterprise_region_and_be_active(org, stewards):
    here, there, gone = stewards
    with pytest.raises(ValidationFailed) as info:
        do_assign_steward(org.users["dispatcher"], org.enterprise, there)
    assert "服务区域" in info.value.fields["steward"]
    with pytest.raises(ValidationFailed):
        do_assign_steward(org.users["dispatcher"], org.enterprise, gone)
    with pytest.raises(ValidationFailed):
        do_assign_steward(org.users["dispatcher"], org.enterprise, org.users["handler"])  # not a steward
    assert steward_of(org.enterprise) is None


def test_only_dispatchers_and_admins_in_scope_assign(org, stewards):
    for role in ("handler", "policy_officer", "steward", "enterprise"):
        with pytest.raises((Forbidden, PermissionDenied)):
            do_assign_steward(org.users[role], org.enterprise, stewards[0])
    with pytest.raises(PermissionDenied):
        do_assign_steward(org.county_dispatcher, org.enterprise, stewards[0])  # 扶沟 dispatcher, 川汇 firm
    assert steward_of(org.enterprise) is None


def test_choices_are_the_active_stewards_of_the_region(org, stewards):
    choices = steward_choices(org.enterprise)
    assert stewards[0] in choices and stewards[1] not in choices and stewards[2] not in choices
    assert all(u.role == Role.STEWARD for u in choices)


def test_update_sets_steward_and_a_handler_may_not(org, stewards):
    ent = do_update_enterprise(org.users["dispatcher"], org.enterprise, {"steward": "gj_chuanhui"})
    assert ent.steward == stewards[0]
    with pytest.raises(Forbidden):
        do_update_enterprise(org.users["handler"], org.enterprise, {"steward": None}, null_clears=True)
    with pytest.raises(Forbidden):
        do_update_enterprise(org.users["enterprise"], org.enterprise, {"steward": "gj_chuanhui"})
    assert steward_of(org.enterprise) == stewards[0]


def test_moving_the_enterprise_out_of_the_stewards_area_drops_the_steward(org, stewards):
    do_assign_steward(org.users["dispatcher"], org.enterprise, stewards[0])
    ent = do_update_enterprise(org.users["dispatcher"], org.enterprise, {"region_code": "411621"})
    assert ent.steward_id is None
    change = AuditLog.objects.for_object(ent).filter(action="update").first().changes
    assert change["steward_id"] == [stewards[0].pk, None]


def test_create_with_steward(org, stewards):
    data = {"uscc": fresh_uscc(), "name": "周口管家测试有限公司", "region_code": "411602", "industry_code": "3311",
            "steward": stewards[0].pk}
    assert do_create_enterprise(org.users["dispatcher"], data).steward == stewards[0]
    with pytest.raises(ValidationFailed):
        do_create_enterprise(org.users["dispatcher"], {**data, "uscc": fresh_uscc(), "steward": "gj_fugou"})


def test_api_steward_field_for_staff_only(org, stewards, client):
    staff = api_headers(org.users["dispatcher"])
    url = f"{API}/{org.enterprise.uscc}"
    answer = client.patch(url, {"steward": "gj_chuanhui"}, content_type="application/json", **staff)
    assert answer.status_code == 200, answer.content
    assert answer.json()["steward"] == {"id": stewards[0].pk, "username": "gj_chuanhui", "name": "郭管家"}
    assert client.get(url, **api_headers(org.users["enterprise"])).json()["steward"] is None
    bad = client.patch(url, {"steward": "gj_fugou"}, content_type="application/json", **staff)
    assert bad.status_code == 400 and "服务区域" in bad.json()["error"]["fields"]["steward"]
    refused = client.patch(url, {"steward": None}, content_type="application/json",
                           **api_headers(org.users["handler"]))
    assert refused.status_code == 403 and steward_of(org.enterprise) == stewards[0]
    cleared = client.patch(url, {"steward": None}, content_type="application/json", **staff)
    assert cleared.json()["steward"] is None


def test_page_select_assigns_the_steward(org, stewards, client):
    client.force_login(org.users["dispatcher"])
    page = f"/enterprises/{org.enterprise.uscc}/"
    html = client.get(page).content.decode()
    assert "gj_chuanhui" in html and "gj_fugou" not in html and "gj_gone" not in html
    answer = client.post(f"{page}steward/", {"steward": "gj_chuanhui"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and "郭管家" in answer.content.decode()
    assert steward_of(org.enterprise) == stewards[0]
    bad = client.post(f"{page}steward/", {"steward": "gj_fugou"}, HTTP_HX_REQUEST="true")
    assert "服务区域" in bad.content.decode() and steward_of(org.enterprise) == stewards[0]
    history = client.get(page).content.decode()
    assert "郭管家(gj_chuanhui)" in history  # the audit history names the steward, not its id


def test_page_has_no_select_for_a_handler(org, stewards, client):
    client.force_login(org.users["handler"])
    html = client.get(f"/enterprises/{org.enterprise.uscc}/").content.decode()
    assert "服务管家" in html and 'name="steward"' not in html
    answer = client.post(f"/enterprises/{org.enterprise.uscc}/steward/", {"steward": "gj_chuanhui"})
    assert answer.status_code == 302 and steward_of(org.enterprise) is None
