"""The Django admin: audit log and enterprise register read-only, users created through the actions."""
from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from yingshang.core import audit
from yingshang.core.models import ApiToken, AuditAction, AuditLog, Role, User
from yingshang.enterprises.models import Enterprise

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(org):
    return User.objects.create_superuser("root", password="pass-1234", role=Role.ADMIN)


def test_audit_log_has_no_add_change_delete_even_for_superusers(client, org, superuser):
    entry = audit.record(superuser, AuditAction.UPDATE, org.enterprise, changes={"name": ["a", "b"]})
    request = RequestFactory().get("/")
    request.user = superuser
    model_admin = site._registry[AuditLog]
    assert model_admin.has_view_permission(request, entry)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)
    client.force_login(superuser)
    assert client.get(reverse("admin:core_auditlog_changelist")).status_code == 200
    assert client.get(reverse("admin:core_auditlog_add")).status_code == 403
    assert client.post(reverse("admin:core_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    page = client.get(reverse("admin:core_auditlog_change", args=[entry.pk])).content.decode()
    assert 'name="_save"' not in page  # view-only
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_enterprise_admin_is_read_only(client, org, superuser):
    client.force_login(superuser)
    url = reverse("admin:enterprises_enterprise_change", args=[org.enterprise.pk])
    page = client.get(url)
    assert page.status_code == 200 and org.enterprise.name in page.content.decode()
    client.post(url, {"name": "改名企业"})
    assert Enterprise.objects.get(pk=org.enterprise.pk).name == org.enterprise.name
    search = client.get(reverse("admin:enterprises_enterprise_changelist"), {"q": org.enterprise.uscc})
    assert org.enterprise.name in search.content.decode()


def test_admin_add_user_goes_through_the_action(client, org, superuser):
    client.force_login(superuser)
    url = reverse("admin:core_user_add")
    form = {"username": "new_handler", "password1": "pass-1234", "password2": "pass-1234", "role": "handler",
            "display_name": "新承办人", "phone": "", "email": ""}
    resp = client.post(url, form)  # a handler needs a department: the action's rule, shown on the form
    assert resp.status_code == 200 and "必须指定所属单位" in resp.content.decode()
    assert not User.objects.filter(username="new_handler").exists()
    resp = client.post(url, {**form, "department": org.market.pk})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    user = User.objects.get(username="new_handler")
    assert user.department == org.market and user.check_password("pass-1234")
    assert AuditLog.objects.filter(action=AuditAction.CREATE, object_type="core.user", object_id=str(user.pk)).count() == 1


def test_admin_token_revoke_action(client, org, superuser):
    from yingshang.core.actions import do_issue_token

    do_issue_token(superuser, org.users["handler"], name="测试")
    token = ApiToken.objects.get(user=org.users["handler"])
    client.force_login(superuser)
    resp = client.post(reverse("admin:core_apitoken_changelist"),
                       {"action": "revoke", "_selected_action": [token.pk]})
    assert resp.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get(reverse("admin:core_apitoken_add")).status_code == 403
