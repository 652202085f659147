"""Audit history on the admin change pages of regions, departments, users and holiday notices, and the
audit rows that admin saves write."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from yingshang.core.actions import do_issue_token
from yingshang.core.models import AuditAction, AuditLog, Department, Region, Role, User

pytestmark = pytest.mark.django_db
D = dt.date.fromisoformat


@pytest.fixture
def superuser(org):
    return User.objects.create_superuser("root", password="pass-1234", role=Role.ADMIN)


def history(resp) -> str:
    """The audit-history block of an admin change page."""
    html = resp.content.decode()
    assert resp.status_code == 200, resp.status_code
    start = html.find("变更记录")
    assert start >= 0, "no audit history on the page"
    return html[start:]


def test_department_save_is_audited_and_shown_newest_first(client, org, superuser):
    client.force_login(superuser)
    dept = org.market
    url = reverse("admin:core_department_change", args=[dept.pk])
    form = {"code": dept.code, "name": "周口市市场监管局(更名)", "short_name": "市监局", "kind": dept.kind,
            "region": dept.region_id, "parent": "", "is_active": "on"}
    assert client.post(url, form).status_code == 302
    assert client.post(url, {**form, "is_active": ""}).status_code == 302
    entries = list(AuditLog.objects.for_object(dept))
    assert [e.action for e in entries] == [AuditAction.UPDATE, AuditAction.UPDATE]
    assert entries[1].changes["name"] == ["周口市市场监督管理局", "周口市市场监管局(更名)"]
    block = history(client.get(url))
    # readable: field labels, old → new; the newest entry (deactivation) comes first
    assert "单位名称:周口市市场监督管理局 → 周口市市场监管局(更名)" in block
    assert block.index("启用:True → False") < block.index("单位名称:")
    assert Department.objects.get(pk=dept.pk).is_active is False


def test_region_add_and_change_are_audited_and_shown(client, org, superuser):
    client.force_login(superuser)
    resp = client.post(reverse("admin:core_region_add"), {"code": "411602002", "name": "人和街道",
                                                         "level": "street", "parent": org.chuanhui.code})
    assert resp.status_code == 302
    region = Region.objects.get(code="411602002")
    assert region.prefix == "411602002"
    url = reverse("admin:core_region_change", args=[region.pk])
    assert client.post(url, {"name": "人和街道办事处", "level": "street", "parent": org.chuanhui.code}).status_code == 302
    actions = [e.action for e in AuditLog.objects.for_object(region)]
    assert actions == [AuditAction.UPDATE, AuditAction.CREATE]
    block = history(client.get(url))
    assert "名称:人和街道 → 人和街道办事处" in block and "创建" in block
    # the add page has no history block (nothing to show yet)
    assert "暂无变更记录" not in client.get(reverse("admin:core_region_add")).content.decode()


def test_user_page_shows_profile_changes_and_token_events(client, org, superuser):
    client.force_login(superuser)
    handler = org.users["handler"]
    url = reverse("admin:core_user_change", args=[handler.pk])
    form = {"display_name": "王承办", "role": "handler", "department": org.market.pk, "region": "",
            "enterprise": "", "phone": "13800001111", "email": "", "is_active": "on"}
    assert client.post(url, form).status_code == 302
    do_issue_token(superuser, handler, name="对接脚本")
    block = history(client.get(url))
    assert "姓名:(空) → 王承办" in block
    assert "签发 API 令牌" in block and "令牌" in block
    update = AuditLog.objects.for_object(handler).filter(action=AuditAction.UPDATE).get()
    assert update.actor == superuser


def test_history_is_limited_to_the_last_50(client, org, superuser):
    from yingshang.core import audit

    for i in range(55):
        audit.record(superuser, AuditAction.UPDATE, org.city, changes={"name": [f"旧名{i}", f"新名{i}"]})
    client.force_login(superuser)
    block = history(client.get(reverse("admin:core_region_change", args=[org.city.pk])))
    assert "→ 新名54</li>" in block and "→ 新名5</li>" in block
    assert "→ 新名4</li>" not in block  # the 5 oldest (新名0–4) are left out
    assert block.count("<li>名称:") == 50


def test_holiday_notice_view_page_shows_its_history(client, org, superuser):
    from yingshang.workcal.actions import do_enter_notice

    holidays = [(D("2027-01-01"), D("2027-01-03"), "元旦"), (D("2027-10-01"), D("2027-10-07"), "国庆节")]
    notice = do_enter_notice(org.users["admin"], 2027, "国务院办公厅关于2027年部分节假日安排的通知(测试)", "",
                             None, holidays, [(D("2027-10-09"), "国庆节调休")])
    client.force_login(superuser)
    block = history(client.get(reverse("admin:workcal_holidaynotice_change", args=[notice.pk])))
    assert org.users["admin"].username in block or str(org.users["admin"]) in block
    assert "标题:(空) → 国务院办公厅关于2027年部分节假日安排的通知(测试)" in block
