"""QA fixes of the library pages: the 在线申报 / 匹配企业 entry points, all-or-nothing document uploads,
readable audit history, unknown region/industry codes in rules, and all form errors in one pass."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests.policies.test_library_fixtures import RULE, enqueued, item_data, lib, make_item  # noqa: F401
from yingshang.core.errors import ValidationFailed
from yingshang.enterprises.models import Industry
from yingshang.policies import actions_library as actions
from yingshang.policies.models import ItemStatus, PolicyAttachment, PolicyDocument, PolicyItem

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password="pass-1234")


def item_page(client, item) -> str:
    resp = client.get(reverse("policies:item_detail", args=[item.pk]))
    assert resp.status_code == 200
    return resp.content.decode()


# ---------------------------------------------------------------- 1. entry points
def test_enterprise_sees_apply_button_while_the_window_is_open(lib, client):
    today = timezone.localdate()
    item = make_item(lib, ItemStatus.PUBLISHED, mode="instant", window_start=str(today - dt.timedelta(days=1)))
    apply_url = reverse("policies:application_apply", args=[item.pk])
    assert apply_url not in item_page(client, item)  # anonymous: no button
    login(client, lib.users["enterprise"])
    html = item_page(client, item)
    assert apply_url in html and "在线申报" in html
    assert reverse("policies:item_matches", args=[item.pk]) not in html


def test_enterprise_sees_closed_note_instead_of_apply_button(lib, client):
    today = timezone.localdate()
    item = make_item(lib, ItemStatus.PUBLISHED, window_start=str(today + dt.timedelta(days=3)))
    login(client, lib.users["enterprise"])
    html = item_page(client, item)
    assert "申报未开始" in html and reverse("policies:application_apply", args=[item.pk]) not in html
    PolicyItem.objects.filter(pk=item.pk).update(window_start=None, window_end=today - dt.timedelta(days=1))
    assert "申报已截止" in item_page(client, item)


def test_no_apply_button_for_auto_items(lib, client):
    item = make_item(lib, ItemStatus.PUBLISHED, mode="auto")
    login(client, lib.users["enterprise"])
    assert reverse("policies:application_apply", args=[item.pk]) not in item_page(client, item)


def test_staff_see_the_matches_link(lib, client):
    item = make_item(lib, ItemStatus.PUBLISHED)
    login(client, lib.users["dispatcher"])
    html = item_page(client, item)
    assert reverse("policies:item_matches", args=[item.pk]) in html and "匹配企业" in html
    assert "在线申报" not in html


# ---------------------------------------------------------------- 2. all-or-nothing uploads
@pytest.mark.parametrize("upload", [SimpleUploadedFile("setup.exe", b"MZ"),
                                    SimpleUploadedFile("big.pdf", b"0" * (actions.ATTACHMENT_MAX_BYTES + 1))])
def test_bad_attachment_creates_no_document(lib, client, upload):
    login(client, lib.officer)
    before = PolicyDocument.objects.count()
    resp = client.post(reverse("policies:document_new"),
                       {"title": "带坏附件的文件", "issuers": "周口市人民政府", "attachment": upload})
    html = resp.content.decode()
    assert resp.status_code == 200 and PolicyDocument.objects.count() == before
    assert not PolicyDocument.objects.filter(title="带坏附件的文件").exists()
    assert 'id_attachment' in html and ("文件类型不支持" in html or "文件过大" in html)
    assert "带坏附件的文件" in html  # the typed values are kept


def test_bad_attachment_leaves_document_unchanged_on_edit(lib, client):
    login(client, lib.officer)
    resp = client.post(reverse("policies:document_edit", args=[lib.doc.pk]),
                       {"title": "改过的标题", "issuers": "周口市人民政府", "attachment": SimpleUploadedFile("a.exe", b"MZ")})
    assert resp.status_code == 200
    assert PolicyDocument.objects.get(pk=lib.doc.pk).title == lib.doc.title
    assert not PolicyAttachment.objects.filter(document=lib.doc).exists()


def test_good_attachment_saved_with_the_document(lib, client):
    login(client, lib.officer)
    resp = client.post(reverse("policies:document_new"), {"title": "带附件的文件", "issuers": "周口市人民政府",
                                                          "attachment": SimpleUploadedFile("原文.pdf", b"%PDF-1.4")})
    doc = PolicyDocument.objects.get(title="带附件的文件")
    assert resp.status_code == 302 and doc.attachments.count() == 1


# ---------------------------------------------------------------- 3. readable audit
def test_audit_block_shows_chinese_names_and_plain_values(lib, client):
    item = make_item(lib)
    actions.do_update_item(lib.officer, item, {"budget": "2000000", "benefit_type": "tax",
                                               "window_end": "2030-06-30"})
    login(client, lib.officer)
    audit = item_page(client, item).split('id="audit"')[1]
    assert "2,000,000.00" in audit and "2E+6" not in audit and "2030-06-30" in audit
    assert "预算" in audit and "支持方式" in audit and lib.market.name in audit
    for raw in ("budget", "benefit_type", "document_id", "department_id", "→ tax"):
        assert raw not in audit


def test_rule_builder_shows_only_chinese_choice_labels():
    from pathlib import Path

    import yingshang.policies as pkg

    js = (Path(pkg.__file__).parent / "static/policies/rulebuilder.js").read_text(encoding="utf-8")
    assert '"(" + c[0] + ")"' not in js


def test_flash_message_uses_chinese_label():
    from yingshang.policies.views_library import flash_text

    exc = ValidationFailed("amount: 应为数字", fields={"amount_cap": "x", "amount": "应为数字"})
    assert flash_text(exc) == "金额:应为数字"
    exc = ValidationFailed("amount_cap: 过大", fields={"amount_cap": "过大"})
    assert flash_text(exc) == "金额上限(元):过大"


# ---------------------------------------------------------------- 4. formula help
def test_formula_placeholder_uses_yuan(lib, client):
    login(client, lib.officer)
    html = client.get(reverse("policies:item_new", args=[lib.doc.pk])).content.decode()
    assert "* 10000" not in html and "单位为元" in html


# ---------------------------------------------------------------- 5. unknown codes
def test_unknown_region_code_is_refused_with_its_position(lib):
    rule = {"all": [{"field": "employees", "op": ">=", "value": 1}, {"field": "region", "op": "in", "value": ["999999"]}]}
    with pytest.raises(ValidationFailed) as refused:
        actions.do_create_item(lib.officer, lib.doc, item_data(rule=rule))
    assert "999999" in refused.value.fields["rule"] and "条件 2" in refused.value.fields["rule"]
    assert not PolicyItem.objects.exists()
    item = actions.do_create_item(lib.officer, lib.doc, item_data(rule={"field": "region", "op": "in",
                                                                         "value": [lib.city.code[:4]]}))
    with pytest.raises(ValidationFailed) as refused:
        actions.do_update_item(lib.officer, item, {"rule": {"field": "region", "op": "not_in", "value": ["419999"]}})
    assert "419999" in refused.value.fields["rule"]


def test_unknown_industry_code_is_refused_sections_accepted(lib):
    code = "1399"
    assert not Industry.objects.filter(code=code).exists()
    with pytest.raises(ValidationFailed) as refused:
        actions.do_create_item(lib.officer, lib.doc, item_data(
            rule={"any": [{"field": "industry", "op": "in", "value": ["C", code]}]}))
    assert code in refused.value.fields["rule"] and "条件 1" in refused.value.fields["rule"]
    known = Industry.objects.exclude(code__regex=r"^[A-Z]$").values_list("code", flat=True).first()
    item = actions.do_create_item(lib.officer, lib.doc, item_data(
        rule={"field": "industry", "op": "in", "value": ["C", known]}))
    assert item.pk


# ---------------------------------------------------------------- 6. all errors at once
def test_all_item_errors_reported_in_one_pass(lib):
    data = item_data(budget="-1", window_start="2030-05-01", window_end="2030-01-01",
                     amount_formula="rd_expense *", rule={"field": "region", "op": "in", "value": ["999999"]})
    with pytest.raises(ValidationFailed) as refused:
        actions.do_create_item(lib.officer, lib.doc, data)
    fields = refused.value.fields
    assert {"budget", "window_end", "amount_formula", "rule"} <= set(fields)
    assert "金额公式:金额公式" not in refused.value.message and "金额公式: 金额公式" not in refused.value.message
    assert not fields["amount_formula"].startswith("金额公式")


def test_item_form_shows_every_error(lib, client):
    login(client, lib.officer)
    form = {"title": "x", "benefit_type": "subsidy", "mode": "apply", "department": lib.market.code,
            "budget": "abc", "window_start": "2030-05-01", "window_end": "2030-01-01", "amount_formula": "1 +",
            "rule": json.dumps(RULE), "params": "{}"}
    html = client.post(reverse("policies:item_new", args=[lib.doc.pk]), form).content.decode()
    assert html.count('class="field-error"') >= 3 and not PolicyItem.objects.exists()
