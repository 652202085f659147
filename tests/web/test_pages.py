"""Login/logout, the role-aware home page, the inbox and the error pages."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from yingshang.core.models import AuditLog, Notification, Role
from tests.web.conftest import login

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese_and_login_logout_flow(client, org):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and "登录营商通" in page.content.decode()
    resp = client.post(reverse("login"), {"username": "t_dispatcher", "password": "pass-1234"})
    assert resp.status_code == 302 and resp["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert AuditLog.objects.filter(action="login", actor=org.users["dispatcher"]).exists()
    resp = client.post(reverse("logout"))
    assert resp.status_code == 302
    assert client.get(reverse("home")).status_code == 302  # back to the login page


def test_wrong_password_shows_chinese_error(client, org):
    resp = client.post(reverse("login"), {"username": "t_dispatcher", "password": "wrong"})
    assert resp.status_code == 200 and "用户名或密码不正确" in resp.content.decode()


def test_demo_hint_only_in_demo_mode(client, org, settings):
    org.users["handler"].is_demo = True
    org.users["handler"].save()
    assert "演示账号" not in client.get(reverse("login")).content.decode()
    settings.MODE = "demo"
    settings.YINGSHANG_DEMO_PASSWORD = "demo-pass"
    body = client.get(reverse("login")).content.decode()
    assert "演示账号" in body and "t_handler" in body and "demo-pass" in body and "演示模式" in body


def test_anonymous_home_redirects_to_login(client, db):
    resp = client.get(reverse("home"))
    assert resp.status_code == 302 and resp["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_home_renders(client, org, role):
    login(client, org.users[role])
    resp = client.get(reverse("home"))
    assert resp.status_code == 200
    body = resp.content.decode()
    assert str(Role(role).label) in body and "退出" in body


def _stat_total(body: str) -> int:
    match = re.search(r'class="stat">([\d,]+)<small>家', body)
    return int(match.group(1).replace(",", ""))


def test_staff_home_counts_scope(client, register):
    from django.core.cache import cache

    cache.clear()
    login(client, register.users["dispatcher"])  # city-wide
    body = client.get(reverse("home")).content.decode()
    assert _stat_total(body) == len(register.chuanhui_ents) + len(register.fugou_ents)
    assert "echarts.min.js" in body and "data-region" in body
    cache.clear()
    client.logout()
    login(client, register.county_dispatcher)  # 扶沟县 only
    body = client.get(reverse("home")).content.decode()
    assert _stat_total(body) == len(register.fugou_ents)
    assert "川汇" not in body


def test_enterprise_home_shows_own_profile(client, org):
    login(client, org.users["enterprise"])
    body = client.get(reverse("home")).content.decode()
    assert org.enterprise.name in body and org.enterprise.uscc in body
    assert reverse("enterprises:detail", args=[org.enterprise.uscc]) in body
    assert "管辖范围内企业" not in body


def test_nav_is_role_aware(client, org):
    login(client, org.users["supervisor"])
    body = client.get(reverse("home")).content.decode()
    assert reverse("enterprises:list") not in body and "后台管理" not in body
    client.logout()
    login(client, org.users["admin"])
    org.users["admin"].is_staff = True
    org.users["admin"].save()
    body = client.get(reverse("home")).content.decode()
    assert reverse("enterprises:list") in body and "后台管理" in body


def _notify(user, n: int) -> list[Notification]:
    return [Notification.objects.create(user=user, key=f"t-{user.pk}-{i}", title=f"测试消息{i}") for i in range(n)]


def test_inbox_lists_own_messages_and_marks_read(client, org):
    user, other = org.users["handler"], org.users["dispatcher"]
    mine = _notify(user, 3)
    _notify(other, 2)
    login(client, user)
    body = client.get(reverse("inbox")).content.decode()
    assert "测试消息2" in body and body.count('class="notif ') == 3
    client.post(reverse("inbox-read"), {"id": [str(mine[0].pk), str(Notification.objects.filter(user=other).first().pk)]})
    assert Notification.objects.filter(user=user, read_at__isnull=True).count() == 2
    assert Notification.objects.filter(user=other, read_at__isnull=True).count() == 2  # others' untouched
    client.post(reverse("inbox-read"), {"all": "1"})
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()


def test_inbox_paginates_and_shows_unread_count(client, org):
    user = org.users["handler"]
    _notify(user, 25)
    login(client, user)
    body = client.get(reverse("home")).content.decode()
    assert "25 条未读" in body
    assert client.get(reverse("inbox")).content.decode().count('class="notif ') == 20
    assert client.get(reverse("inbox") + "?page=2").content.decode().count('class="notif ') == 5


def test_inbox_mark_read_requires_post(client, org):
    login(client, org.users["handler"])
    assert client.get(reverse("inbox-read")).status_code == 405


def test_404_page_is_chinese(client, org):
    login(client, org.users["dispatcher"])
    resp = client.get("/enterprises/911111111111111111/")
    assert resp.status_code == 404 and "页面不存在" in resp.content.decode()
