"""Client mistakes on the web pages get a 4xx, never a 500 — PostgreSQL included; the admin never shows
personal data unaudited."""
import pytest
from django.urls import reverse

from tests.web.conftest import login
from yingshang.core.models import AuditLog


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["q=a%00b", "tag=x%00", "county=4116%0002"])
def test_nul_in_list_filters_is_a_400_with_a_chinese_reason(org, client, query):
    login(client, org.users["dispatcher"])
    resp = client.get(f"{reverse('enterprises:list')}?{query}")
    assert resp.status_code == 400
    assert "空字符" in resp.content.decode()


@pytest.mark.django_db
def test_nul_in_a_posted_form_is_a_400_and_writes_nothing(org, client):
    login(client, org.users["dispatcher"])
    before = org.users["dispatcher"].api_tokens.count()
    resp = client.post(reverse("account-token-create"), {"name": "ci\x00bot", "expires": "30"})
    assert resp.status_code == 400
    assert org.users["dispatcher"].api_tokens.count() == before


@pytest.mark.django_db
def test_a_non_ascii_digit_year_in_the_notice_form_is_a_field_error(org, client):
    admin = org.users["admin"]
    login(client, admin)
    resp = client.post(reverse("workcal:notice"), {"year": "²", "title": "通知"})
    assert resp.status_code == 400
    assert "年份" in resp.content.decode()


@pytest.mark.django_db
def test_admin_enterprise_page_does_not_show_personal_data(org, client):
    ent = org.enterprise
    ent.contact_name, ent.contact_phone, ent.legal_representative = "张三丰", "13812345678", "李四光"
    ent.save()
    admin = org.users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    login(client, admin)
    page = client.get(reverse("admin:enterprises_enterprise_change", args=[ent.pk])).content.decode()
    assert ent.name in page
    for secret in ("张三丰", "13812345678", "李四光"):
        assert secret not in page
    assert not AuditLog.objects.filter(action="read_personal").exists()
