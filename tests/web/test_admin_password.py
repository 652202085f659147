"""Admins reset a user's password from the user's admin page; the reset is audited without the value."""
import pytest
from django.urls import reverse

from yingshang.core.models import AuditLog


@pytest.fixture
def admin_client(org, client):
    """The test client logged in as the platform administrator (staff + superuser, as seeded)."""
    admin = org.users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_admin_resets_password_and_the_audit_row_hides_it(org, admin_client):
    target = org.users["handler"]
    url = reverse("admin:core_user_password", args=[target.pk])
    assert admin_client.get(url).status_code == 200
    resp = admin_client.post(url, {"password1": "Neu-Passwort-2026", "password2": "Neu-Passwort-2026"})
    assert resp.status_code == 302
    target.refresh_from_db()
    assert target.check_password("Neu-Passwort-2026")
    entry = AuditLog.objects.for_object(target).first()
    assert "Neu-Passwort-2026" not in str(entry.changes) and "password" in entry.changes


@pytest.mark.django_db
def test_user_change_page_shows_the_password_as_set(org, admin_client):
    page = admin_client.get(reverse("admin:core_user_change", args=[org.users["handler"].pk])).content.decode()
    assert "未设置密码" not in page and "密码未设置" not in page


@pytest.mark.django_db
def test_mismatched_passwords_change_nothing(org, admin_client):
    target = org.users["handler"]
    resp = admin_client.post(reverse("admin:core_user_password", args=[target.pk]),
                       {"password1": "Neu-Passwort-2026", "password2": "anders"})
    assert resp.status_code == 200
    target.refresh_from_db()
    assert target.check_password("pass-1234")
