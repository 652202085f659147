"""The appeals admin: grades are configured there (audited); cases are read-only and hide contact data."""
from __future__ import annotations

import pytest

from tests.appeals.support_actions import submitted
from yingshang.appeals.models import Grade
from yingshang.core.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, org):
    admin = org.users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    return client


def test_changing_a_grade_in_the_admin_is_audited(admin_client):
    grade = Grade.objects.get(code="normal")
    data = {"name": grade.name, "days": 4, "sign_days": 1, "response_days": 1, "order": grade.order,
            "is_active": "on"}
    answer = admin_client.post(f"/admin/appeals/grade/{grade.pk}/change/", data)
    assert answer.status_code == 302
    grade.refresh_from_db()
    assert grade.days == 4
    entry = AuditLog.objects.filter(object_type__icontains="grade", object_id=str(grade.pk)).latest("id")
    assert entry.changes["days"] == [3, 4]


def test_a_case_in_the_admin_is_read_only_and_hides_contact_data(admin_client, org):
    appeal = submitted(org)
    page = admin_client.get(f"/admin/appeals/appeal/{appeal.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert appeal.number in html and "13812345678" not in html and "张三" not in html
    assert admin_client.post(f"/admin/appeals/appeal/{appeal.pk}/change/", {"title": "x"}).status_code == 403
