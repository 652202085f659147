"""The new figures and certification details in the browser (edit and create forms, the enterprise page)
and in the REST API (read and write)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.enterprises.conftest import api_headers, fresh_uscc
from tests.web.test_edit_pages import field_error, read_form
from yingshang.core.models import AuditLog
from yingshang.enterprises.actions import do_update_enterprise
from yingshang.enterprises.models import Certification, Enterprise

API = "/api/v1/enterprises"


def edit_url(ent) -> str:
    return reverse("enterprises:edit", args=[ent.uscc])


def test_edit_form_saves_taxable_income_taxpayer_kind_and_certificate_details(client, org):
    ent = org.enterprise
    client.force_login(org.users["dispatcher"])
    form = read_form(client.get(edit_url(ent)))
    assert form["taxable_income"] == "" and form["taxpayer_kind"] == ""
    form.update(taxable_income="88.5", taxpayer_kind="small_scale", src_taxable_income="企业所得税年度申报",
                asof_taxable_income="2024-12-31", certifications=["high_tech"], certno_high_tech="GR202441000001",
                certfrom_high_tech="2024-11-01", certto_high_tech="2027-10-31")
    answer = client.post(edit_url(ent), form)
    assert answer.status_code == 302, field_error(answer, "certifications")
    ent.refresh_from_db()
    assert ent.taxable_income == Decimal("88.5") and ent.taxpayer_kind == "small_scale"
    assert ent.figure_sources["taxable_income"] == {"source": "企业所得税年度申报", "as_of": "2024-12-31"}
    cert = Certification.objects.get(enterprise=ent, kind="high_tech")
    assert (cert.certificate_no, cert.valid_from, cert.valid_to) == ("GR202441000001", dt.date(2024, 11, 1),
                                                                      dt.date(2027, 10, 31))
    again = read_form(client.get(edit_url(ent)))  # the form shows what is on record
    assert again["certno_high_tech"] == "GR202441000001" and again["certto_high_tech"] == "2027-10-31"
    count = AuditLog.objects.for_object(ent).count()
    client.post(edit_url(ent), again)
    assert AuditLog.objects.for_object(ent).count() == count  # nothing changed, nothing written


def test_edit_form_reports_bad_values_and_writes_nothing(client, org):
    ent = org.enterprise
    client.force_login(org.users["dispatcher"])
    form = read_form(client.get(edit_url(ent)))
    form.update(taxable_income="-3", certifications=["high_tech"], certfrom_high_tech="2027-01-01",
                certto_high_tech="2024-01-01")
    answer = client.post(edit_url(ent), form)
    html = answer.content.decode()
    assert answer.status_code == 400
    assert "负数" in field_error(answer, "taxable_income")
    assert "晚于有效期止" in html
    assert not Certification.objects.filter(enterprise=ent).exists()


def test_enterprise_user_may_supply_the_new_figures_but_not_certificates(client, org):
    ent = org.enterprise
    client.force_login(org.users["enterprise"])
    form = read_form(client.get(edit_url(ent)))
    assert "certno_high_tech" not in form
    form.update(taxable_income="12", taxpayer_kind="general")
    assert client.post(edit_url(ent), form).status_code == 302
    ent.refresh_from_db()
    assert ent.taxable_income == 12 and ent.taxpayer_kind == "general"


def test_create_form_with_new_fields(client, org):
    client.force_login(org.users["dispatcher"])
    url = reverse("enterprises:new")
    form = read_form(client.get(url))
    code = fresh_uscc()
    form.update(uscc=code, name="周口新建纳税示例有限公司", county="411602", industry_code="3311",
                taxable_income="300", taxpayer_kind="general", certifications=["tech_sme"],
                certfrom_tech_sme="2025-03-01", certto_tech_sme="2025-12-31")
    answer = client.post(url, form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    ent = Enterprise.objects.get(uscc=code)
    assert ent.taxable_income == 300 and ent.taxpayer_kind == "general"
    assert Certification.objects.get(enterprise=ent).valid_to == dt.date(2025, 12, 31)


def test_enterprise_page_shows_the_new_figures_and_validity(client, org):
    do_update_enterprise(org.users["dispatcher"], org.enterprise, {
        "taxable_income": "256.75", "taxpayer_kind": "小规模纳税人",
        "certifications": ["高新技术企业:2020-01-01~2022-12-31:GR202041000007"]})
    client.force_login(org.users["dispatcher"])
    html = client.get(reverse("enterprises:detail", args=[org.enterprise.uscc])).content.decode()
    assert "应纳税所得额(万元)" in html and "256.75" in html and "小规模纳税人" in html
    assert "GR202041000007" in html and "已过期" in html
    audit = html[html.index('id="audit"'):]
    assert "高新技术企业:2020-01-01~2022-12-31:GR202041000007" in audit and "纳税人类型" in audit


# ------------------------------------------------------------------ API
def test_api_writes_and_reads_the_new_fields(client, org):
    headers = api_headers(org.users["dispatcher"])
    url = f"{API}/{org.enterprise.uscc}"
    payload = {"taxable_income": 120.5, "taxpayer_kind": "一般纳税人",
               "certifications": [{"kind": "high_tech", "certificate_no": "GR1", "valid_from": "2024-01-01",
                                   "valid_to": "2026-12-31"}, "tech_sme:~2020-12-31"]}
    answer = client.patch(url, payload, content_type="application/json", **headers)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["taxable_income"] == "120.5" and body["taxpayer_kind"] == "general"
    assert body["certifications"] == ["high_tech", "tech_sme"]
    details = {d["kind"]: d for d in body["certification_details"]}
    assert details["high_tech"]["certificate_no"] == "GR1" and details["high_tech"]["valid_to"] == "2026-12-31"
    assert details["tech_sme"]["valid_today"] is False
    cleared = client.patch(url, {"taxable_income": None, "taxpayer_kind": None}, content_type="application/json",
                           **headers).json()
    assert cleared["taxable_income"] is None and cleared["taxpayer_kind"] is None


def test_api_rejects_bad_new_values_with_field_reasons(client, org):
    headers = api_headers(org.users["dispatcher"])
    answer = client.patch(f"{API}/{org.enterprise.uscc}", {"taxable_income": "-1", "taxpayer_kind": "个体"},
                          content_type="application/json", **headers)
    assert answer.status_code == 400
    fields = answer.json()["error"]["fields"]
    assert "负数" in fields["taxable_income"] and "小规模纳税人" in fields["taxpayer_kind"]
    unknown = client.patch(f"{API}/{org.enterprise.uscc}", {"certifications": [{"kind": "high_tech", "x": 1}]},
                           content_type="application/json", **headers)
    assert unknown.status_code == 400 and any("certifications" in k for k in unknown.json()["error"]["fields"])
    assert Enterprise.objects.get(pk=org.enterprise.pk).taxable_income is None


def test_api_partial_certificate_update_that_would_end_before_start_is_refused(client, org):
    headers = api_headers(org.users["dispatcher"])
    url = f"{API}/{org.enterprise.uscc}"
    client.patch(url, {"certifications": ["high_tech:2024-01-01~2026-12-31"]}, content_type="application/json",
                 **headers)
    answer = client.patch(url, {"certifications": [{"kind": "high_tech", "valid_to": "2023-01-01"}]},
                          content_type="application/json", **headers)
    assert answer.status_code == 400 and "有效期止早于有效期起" in answer.json()["error"]["fields"]["certifications"]
    assert Certification.objects.get(kind="high_tech").valid_to == dt.date(2026, 12, 31)


@pytest.mark.parametrize("who", ["dispatcher", "enterprise"])
def test_api_list_includes_the_new_fields(client, org, who):
    items = client.get(API, **api_headers(org.users[who])).json()["items"]
    assert items and {"taxable_income", "taxpayer_kind", "certification_details", "credit_lists",
                      "steward"} <= set(items[0])
