"""Editing the register in the browser: the enterprise edit page (一企一档) and the 「新增企业」 page.

The tests submit the form the page actually draws (parsed from its HTML), changed where a person would
change it, so a field missing from the template or drawn with the wrong name fails here."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.web.conftest import login, uscc
from yingshang.core.models import AuditAction, AuditLog, Role
from yingshang.enterprises.models import (
    Certification,
    Enterprise,
    EnterpriseTag,
    Tag,
    TagKind,
)

pytestmark = pytest.mark.django_db


class FormReader(HTMLParser):
    """The values a browser would submit for ``<form id="edit-form">`` as it was drawn."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.inside = False
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "edit-form":
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind not in ("checkbox", "radio") or "checked" in a:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first_option, self._selected = a.get("name"), None, False
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.fields.append((self._select, a.get("value", "")))
                self._selected = True
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields.append((self._textarea, ""))

    def handle_data(self, data):
        if self._textarea:
            name, _ = self.fields.pop()
            self.fields.append((name, data))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._selected and self._first_option is not None:
                self.fields.append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def read_form(resp) -> dict:
    """The drawn form as POST data (lists for repeated names such as checkboxes)."""
    assert resp.status_code == 200, resp.status_code
    reader = FormReader()
    reader.feed(resp.content.decode())
    data: dict = {}
    for name, value in reader.fields:
        if name in data:
            data[name] = (data[name] if isinstance(data[name], list) else [data[name]]) + [value]
        else:
            data[name] = value
    return data


def field_error(resp, name: str) -> str:
    """The error drawn for the input ``name`` (``err-<name>``, which the input names in aria-describedby)."""
    html = resp.content.decode()
    assert f'id="row-{name}"' in html, f"no row for {name}"
    match = re.search(rf'id="err-{name}"[^>]*>([^<]+)<', html)
    if match:
        assert f'aria-describedby="err-{name}"' in html
    return match.group(1).strip() if match else ""


def edit_url(ent) -> str:
    return reverse("enterprises:edit", args=[ent.uscc])


def audit_count(ent) -> int:
    return AuditLog.objects.for_object(ent).count()


# ---------------------------------------------------------------- staff edits
def test_dispatcher_saves_figures_with_source_and_date_size_recomputed_and_audited(client, org):
    ent = org.enterprise  # manufacturing (3311), 50 people, 1,500 万元: 小型 under the industrial row
    assert ent.size == "small"
    login(client, org.users["dispatcher"])
    form = read_form(client.get(edit_url(ent)))
    form.update(employees="500", operating_revenue="30000", src_employees="统计局年报",
                asof_employees="2024-12-31", src_operating_revenue="税务申报", asof_operating_revenue="2024-12-31")
    resp = client.post(edit_url(ent), form)
    assert resp.status_code == 302 and resp["Location"] == reverse("enterprises:detail", args=[ent.uscc])
    ent.refresh_from_db()
    assert ent.employees == 500 and ent.operating_revenue == 30000
    # GB/T 工业: 300 ≤ 从业人员 < 1000 and 2000 ≤ 营业收入 < 40000 万元 → 中型
    assert ent.size == "medium"
    assert ent.figure_sources["employees"] == {"source": "统计局年报", "as_of": "2024-12-31"}
    assert ent.figure_sources["operating_revenue"] == {"source": "税务申报", "as_of": "2024-12-31"}
    entry = AuditLog.objects.for_object(ent).first()
    assert entry.action == AuditAction.UPDATE and entry.actor == org.users["dispatcher"]
    assert entry.changes["employees"] == [50, 500] and entry.changes["size"] == ["small", "medium"]
    assert "name" not in entry.changes  # unchanged fields are not sent
    page = client.get(resp["Location"]).content.decode()
    assert "已保存" in page  # the success message
    audit_html = page[page.index('id="audit"'):]
    assert "从业人员(人)" in audit_html and "<ins>500</ins>" in audit_html


def test_unchanged_form_writes_nothing(client, org):
    login(client, org.users["dispatcher"])
    before = audit_count(org.enterprise)
    resp = client.post(edit_url(org.enterprise), read_form(client.get(edit_url(org.enterprise))))
    assert resp.status_code == 302
    assert audit_count(org.enterprise) == before
    assert "没有修改任何内容" in client.get(resp["Location"]).content.decode()


def test_bad_values_are_shown_next_to_their_fields_and_nothing_is_written(client, org):
    ent = org.enterprise
    login(client, org.users["dispatcher"])
    form = read_form(client.get(edit_url(ent)))
    before, audits = Enterprise.objects.filter(pk=ent.pk).values().get(), audit_count(ent)
    form.update(employees="-5", established_on="2099-01-01", county="411699", street="",
                name="改了名字的企业", asof_total_assets="2098-12-31")
    resp = client.post(edit_url(ent), form)
    assert resp.status_code == 400
    assert "从业人员不能为负数" in field_error(resp, "employees")
    assert "晚于今天" in field_error(resp, "established_on")
    assert "411699" in field_error(resp, "region_code") and "不存在" in field_error(resp, "region_code")
    assert "晚于今天" in field_error(resp, "src_total_assets")
    assert field_error(resp, "name") == ""
    html = resp.content.decode()
    assert "未保存" in html and 'value="-5"' in html  # the typed value stays for correcting
    assert Enterprise.objects.filter(pk=ent.pk).values().get() == before  # not even the valid name change
    assert audit_count(ent) == audits


def test_unit_mistake_and_bad_phone_are_field_errors(client, org):
    ent = org.enterprise
    login(client, org.users["dispatcher"])
    form = read_form(client.get(edit_url(ent)))
    form.update(rd_expense="9000", contact_phone="12345")  # revenue is 1,500 万元
    resp = client.post(edit_url(ent), form)
    assert resp.status_code == 400
    assert "大于营业收入" in field_error(resp, "rd_expense")
    assert "联系电话" in field_error(resp, "contact_phone")
    ent.refresh_from_db()
    assert ent.rd_expense is None


def test_emptied_figure_is_cleared_and_required_field_cannot_be(client, org):
    ent = org.enterprise
    login(client, org.users["dispatcher"])
    form = read_form(client.get(edit_url(ent)))
    resp = client.post(edit_url(ent), {**form, "name": ""})
    assert resp.status_code == 400 and "不能为空" in field_error(resp, "name")
    resp = client.post(edit_url(ent), {**form, "total_assets": ""})
    assert resp.status_code == 302
    ent.refresh_from_db()
    assert ent.total_assets is None and ent.name == org.enterprise.name


def test_region_street_certifications_and_manual_tags(client, org):
    ent = org.enterprise
    Tag.objects.create(code="key-project", name="重点项目企业", kind=TagKind.MANUAL)
    login(client, org.users["dispatcher"])
    page = client.get(edit_url(ent))
    assert org.street.name in page.content.decode()  # the streets of the enterprise's county are offered
    form = read_form(page)
    form.update(street=org.street.code, certifications=["high_tech", "tech_sme"], tags=["key-project"])
    assert client.post(edit_url(ent), form).status_code == 302
    ent.refresh_from_db()
    assert ent.region_id == org.street.code
    assert set(Certification.objects.filter(enterprise=ent).values_list("kind", flat=True)) == {"high_tech", "tech_sme"}
    assert EnterpriseTag.objects.filter(enterprise=ent, tag__code="key-project").exists()
    # unticking every box removes them again
    form = read_form(client.get(edit_url(ent)))
    assert form["certifications"] == ["high_tech", "tech_sme"]
    form.pop("certifications"), form.pop("tags")
    assert client.post(edit_url(ent), form).status_code == 302
    assert not Certification.objects.filter(enterprise=ent).exists()
    assert not EnterpriseTag.objects.filter(enterprise=ent, tag__code="key-project").exists()


def test_personal_data_is_not_prefilled_for_staff_and_blank_keeps_it(client, org):
    ent = org.enterprise
    Enterprise.objects.filter(pk=ent.pk).update(contact_name="张三丰", contact_phone="13812345678")
    login(client, org.users["dispatcher"])
    page = client.get(edit_url(ent))
    html = page.content.decode()
    assert "13812345678" not in html and "张三丰" not in html
    assert "138****5678" in html  # the masked value as a hint
    form = read_form(page)
    assert form["contact_phone"] == ""
    assert client.post(edit_url(ent), {**form, "employees": "60"}).status_code == 302
    ent.refresh_from_db()
    assert (ent.contact_name, ent.contact_phone, ent.employees) == ("张三丰", "13812345678", 60)
    assert not AuditLog.objects.for_object(ent).filter(action=AuditAction.READ_PERSONAL).exists()
    form = read_form(client.get(edit_url(ent)))
    assert client.post(edit_url(ent), {**form, "contact_phone": "0394-8888888"}).status_code == 302
    ent.refresh_from_db()
    assert ent.contact_phone == "0394-8888888"


def test_htmx_errors_swap_the_form_and_success_redirects(client, org):
    ent = org.enterprise
    login(client, org.users["dispatcher"])
    form = read_form(client.get(edit_url(ent)))
    hx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "edit-form"}
    resp = client.post(edit_url(ent), {**form, "employees": "abc"}, **hx)
    assert resp.status_code == 200  # HTMX swaps only 2xx responses
    html = resp.content.decode()
    assert html.lstrip().startswith('<form id="edit-form"') and "“abc”不是数字" in field_error(resp, "employees")
    resp = client.post(edit_url(ent), {**form, "employees": "77"}, **hx)
    assert resp.status_code == 204 and resp["HX-Redirect"] == reverse("enterprises:detail", args=[ent.uscc])
    ent.refresh_from_db()
    assert ent.employees == 77


# ---------------------------------------------------------------- who may edit
def test_enterprise_user_edits_own_figures_but_not_register_fields(client, org):
    ent, user = org.enterprise, org.users["enterprise"]
    login(client, user)
    detail = client.get(reverse("enterprises:detail", args=[ent.uscc])).content.decode()
    assert 'id="edit-link"' in detail
    page = client.get(edit_url(ent))
    html = page.content.decode()
    assert 'name="name"' not in html and 'name="county"' not in html and 'name="certifications"' not in html
    assert 'name="employees"' in html and 'name="contact_phone"' in html
    form = read_form(page)
    form.update(employees="66", src_employees="企业自报", asof_employees="2025-03-31")
    assert client.post(edit_url(ent), form).status_code == 302
    ent.refresh_from_db()
    assert ent.employees == 66 and ent.figure_sources["employees"]["source"] == "企业自报"
    assert AuditLog.objects.for_object(ent).first().actor == user
    # a restricted field sent anyway is refused by the action, shown at the field, nothing written
    resp = client.post(edit_url(ent), {**read_form(client.get(edit_url(ent))), "name": "自改名称", "employees": "70"})
    assert resp.status_code == 403
    assert "企业用户不能修改此项" in resp.content.decode()
    assert "企业用户只能修改经营数据和联系信息" in resp.content.decode()
    ent.refresh_from_db()
    assert ent.name == org.enterprise.name and ent.employees == 66


def test_enterprise_user_cannot_open_another_enterprise(client, register):
    login(client, register.users["enterprise"])
    other = register.chuanhui_ents[3]
    assert client.get(edit_url(other)).status_code == 403
    assert client.post(edit_url(other), {"employees": "1"}).status_code == 403
    assert client.get(reverse("enterprises:new")).status_code == 403


@pytest.mark.parametrize("role", ["leader", "evaluator"])
def test_read_only_roles_get_no_edit_button_and_403(client, org, role):
    login(client, org.users[role])
    detail = client.get(reverse("enterprises:detail", args=[org.enterprise.uscc]))
    assert detail.status_code == 200 and 'id="edit-link"' not in detail.content.decode()
    assert client.get(edit_url(org.enterprise)).status_code == 403
    assert client.get(reverse("enterprises:new")).status_code == 403


def test_county_dispatcher_cannot_edit_outside_or_move_out_of_scope(client, register):
    login(client, register.county_dispatcher)  # 扶沟县 only
    assert client.get(edit_url(register.chuanhui_ents[1])).status_code == 403
    ent = register.fugou_ents[0]
    form = read_form(client.get(edit_url(ent)))
    resp = client.post(edit_url(ent), {**form, "county": register.chuanhui.code, "street": ""})
    assert resp.status_code == 400 and "不在您的管辖范围内" in field_error(resp, "region_code")
    ent.refresh_from_db()
    assert ent.region_id == register.fugou.code


# ---------------------------------------------------------------- new enterprise
def test_new_enterprise_is_created_and_a_duplicate_code_is_a_field_error(client, org):
    login(client, org.users["dispatcher"])
    url = reverse("enterprises:new")
    form = read_form(client.get(url))
    code = uscc()
    form.update(uscc=code.lower(), name="周口新建科技有限公司", county=org.chuanhui.code, street=org.street.code,
                industry_code="6513", established_on="2023-06-01", employees="12", operating_revenue="80",
                src_employees="企业申报", asof_employees="2025-01-31", certifications=["tech_sme"])
    resp = client.post(url, form)
    assert resp.status_code == 302 and resp["Location"] == reverse("enterprises:detail", args=[code])
    ent = Enterprise.objects.get(uscc=code)
    assert (ent.name, ent.region_id, ent.employees) == ("周口新建科技有限公司", org.street.code, 12)
    assert ent.figure_sources["employees"] == {"source": "企业申报", "as_of": "2025-01-31"}
    assert list(ent.certifications.values_list("kind", flat=True)) == ["tech_sme"]
    assert AuditLog.objects.for_object(ent).get().action == AuditAction.CREATE
    resp = client.post(url, {**form, "name": "另一家"})
    assert resp.status_code == 409 and "已登记" in field_error(resp, "uscc")
    assert Enterprise.objects.filter(uscc=code).count() == 1


def test_new_enterprise_reports_missing_and_bad_fields(client, org):
    login(client, org.users["dispatcher"])
    url = reverse("enterprises:new")
    form = read_form(client.get(url))
    bad = uscc()[:17] + ("0" if uscc()[17] != "0" else "1")
    resp = client.post(url, {**form, "uscc": bad, "name": "", "county": ""})
    assert resp.status_code == 400
    assert field_error(resp, "uscc") and "必填" in field_error(resp, "name")
    assert "必填" in field_error(resp, "region_code") and "必填" in field_error(resp, "industry_code")
    assert not Enterprise.objects.filter(name="").exists()


def test_helpers_for_streets_and_industry_label(client, org):
    login(client, org.users["dispatcher"])
    streets = client.get(reverse("enterprises:edit_streets"), {"county": org.chuanhui.code}).content.decode()
    assert org.street.code in streets
    label = client.get(reverse("enterprises:edit_industry"), {"industry_code": "3311"}).content.decode()
    assert label.startswith("3311")
    bad = client.get(reverse("enterprises:edit_industry"), {"industry_code": "9X"}).content.decode()
    assert 'class="error"' in bad


def test_superuser_admin_role_can_edit(client, org):
    admin = org.users["admin"]
    assert admin.role == Role.ADMIN
    login(client, admin)
    form = read_form(client.get(edit_url(org.enterprise)))
    assert client.post(edit_url(org.enterprise), {**form, "tax_credit_rating": "A"}).status_code == 302
    org.enterprise.refresh_from_db()
    assert org.enterprise.tax_credit_rating == "A"
