"""「我的账号」: profile and scope, password change, API tokens shown once, stored hashed, revocable."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.web.conftest import login
from yingshang.core.actions import do_issue_token
from yingshang.core.models import ApiToken, AuditAction, AuditLog

pytestmark = pytest.mark.django_db
ACCOUNT = reverse("account")
TOKEN = re.compile(r'id="new-token-value" value="([^"]+)"')


def api_status(token: str) -> int:
    """An API call with the bearer token alone (a fresh client: no session to fall back on)."""
    return Client().get("/api/v1/regions", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_profile_shows_role_and_scope_and_is_linked_from_the_nav(client, org):
    user = org.users["handler"]
    user.display_name = "李承办"
    user.save()
    login(client, user)
    html = client.get(reverse("home")).content.decode()
    assert f'href="{ACCOUNT}"' in html
    page = client.get(ACCOUNT).content.decode()
    assert "李承办" in page and "承办人员" in page and org.market.name in page  # role and department
    assert "周口市" in page  # the department's region is the scope


def test_enterprise_user_sees_own_enterprise_as_scope(client, org):
    login(client, org.users["enterprise"])
    page = client.get(ACCOUNT).content.decode()
    assert "企业用户" in page and org.enterprise.name in page


def test_anonymous_is_sent_to_login(client, org):
    resp = client.get(ACCOUNT)
    assert resp.status_code == 302 and reverse("login") in resp["Location"]


def test_token_is_shown_once_and_only_its_hash_is_stored(client, org):
    user = org.users["dispatcher"]
    login(client, user)
    resp = client.post(reverse("account-token-create"), {"name": "报表脚本", "expiry": "30"})
    assert resp.status_code == 200
    token = TOKEN.search(resp.content.decode()).group(1)
    assert token.startswith("ys_") and "无法再次查看" in resp.content.decode()
    row = ApiToken.objects.get(user=user)
    assert row.digest == ApiToken.hash(token) and row.prefix == token[:len(row.prefix)] and row.name == "报表脚本"
    assert row.expires_at is not None and 29 <= (row.expires_at - row.created_at).days <= 30
    assert not ApiToken.objects.filter(digest=token).exists()
    page = client.get(ACCOUNT).content.decode()
    assert token not in page and f"{row.prefix}…" in page and "报表脚本" in page  # listed, never shown again
    assert api_status(token) == 200  # the token works for the API
    assert AuditLog.objects.filter(action=AuditAction.TOKEN, object_id=str(user.pk)).exists()


def test_token_created_with_htmx_swaps_the_token_section(client, org):
    login(client, org.users["dispatcher"])
    resp = client.post(reverse("account-token-create"), {"name": "", "expiry": "never"}, HTTP_HX_REQUEST="true")
    html = resp.content.decode()
    assert resp.status_code == 200 and "<html" not in html and TOKEN.search(html)
    assert ApiToken.objects.get(user=org.users["dispatcher"]).expires_at is None


def test_bad_token_form_input_is_refused_with_a_message(client, org):
    login(client, org.users["dispatcher"])
    resp = client.post(reverse("account-token-create"), {"name": "x" * 65, "expiry": "7"})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "最多64字" in html and "有效期无效" in html
    assert not ApiToken.objects.exists()


def test_revoke_own_token_but_not_someone_elses(client, org):
    user, other = org.users["dispatcher"], org.users["handler"]
    mine = do_issue_token(user, user, name="mine")
    theirs = do_issue_token(other, other, name="theirs")
    login(client, user)
    mine_row, theirs_row = ApiToken.objects.get(user=user), ApiToken.objects.get(user=other)
    assert client.post(reverse("account-token-revoke", args=[theirs_row.pk])).status_code == 404
    theirs_row.refresh_from_db()
    assert theirs_row.revoked_at is None
    resp = client.post(reverse("account-token-revoke", args=[mine_row.pk]))
    assert resp.status_code == 302
    mine_row.refresh_from_db()
    assert mine_row.revoked_at is not None
    page = client.get(ACCOUNT).content.decode()
    assert "已吊销" in page
    assert api_status(mine) == 401 and api_status(theirs) == 200
    assert client.get(reverse("account-token-revoke", args=[mine_row.pk])).status_code == 405


def test_password_change(client, org):
    user = org.users["handler"]
    login(client, user)
    url = reverse("account-password")
    resp = client.post(url, {"old_password": "wrong", "new_password1": "Zk7-new-pass!", "new_password2": "Zk7-new-pass!"})
    assert resp.status_code == 400 and 'id="row-old_password"' in resp.content.decode()
    resp = client.post(url, {"old_password": "pass-1234", "new_password1": "Zk7-new-pass!", "new_password2": "other-Zk7!"})
    assert resp.status_code == 400
    user.refresh_from_db()
    assert user.check_password("pass-1234")
    resp = client.post(url, {"old_password": "pass-1234", "new_password1": "Zk7-new-pass!",
                             "new_password2": "Zk7-new-pass!"})
    assert resp.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Zk7-new-pass!")
    assert client.get(ACCOUNT).status_code == 200  # still signed in on this device
    client.logout()
    assert client.login(username=user.username, password="Zk7-new-pass!")
