"""Policy-library pages per role (200/403/302), the rule editor, forms with errors, actions and the preview."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tests.policies.test_library_fixtures import RULE, enqueued, lib, make_item  # noqa: F401
from yingshang.policies.models import ItemStatus, PolicyDocument, PolicyItem

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password="pass-1234")


def page(client, url, status=200) -> str:
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code)
    return resp.content.decode()


def test_library_list_public_and_staff(lib, client):
    make_item(lib, ItemStatus.PUBLISHED, title="稳岗返还补贴")
    make_item(lib, title="尚在起草的事项")
    html = page(client, reverse("policies:library"))
    assert "稳岗返还补贴" in html and "尚在起草的事项" not in html and 'name="q"' in html
    login(client, lib.users["enterprise"])
    assert "尚在起草的事项" not in page(client, reverse("policies:library"))
    login(client, lib.users["dispatcher"])
    html = page(client, reverse("policies:library"))
    assert "尚在起草的事项" in html and 'name="status"' in html
    html = page(client, reverse("policies:library") + "?q=稳岗")
    assert "稳岗返还补贴" in html and "尚在起草的事项" not in html


def test_list_search_partial_for_htmx(lib, client):
    make_item(lib, ItemStatus.PUBLISHED, title="专精特新奖励")
    resp = client.get(reverse("policies:library"), {"q": "专精特新"}, HTTP_HX_REQUEST="true",
                      HTTP_HX_TARGET="policy-list")
    html = resp.content.decode()
    assert resp.status_code == 200 and "专精特新奖励" in html and "<html" not in html


def test_item_page_per_role(lib, client):
    published = make_item(lib, ItemStatus.PUBLISHED)
    html = page(client, reverse("policies:item_detail", args=[published.pk]))
    assert "从业人员" in html and lib.doc.title in html and "研发费用专项审计报告" in html
    assert "操作记录" not in html  # audit history is for staff
    draft = make_item(lib, title="草稿")
    resp = client.get(reverse("policies:item_detail", args=[draft.pk]))
    assert resp.status_code == 302 and reverse("login") in resp["Location"]
    login(client, lib.users["enterprise"])
    page(client, reverse("policies:item_detail", args=[draft.pk]), 403)
    login(client, lib.officer)
    html = page(client, reverse("policies:item_detail", args=[draft.pk]))
    assert "操作记录" in html and 'value="submit"' in html and "编辑" in html
    login(client, lib.leader)
    html = page(client, reverse("policies:item_detail", args=[published.pk]))
    assert "状态记录" in html and 'value="suspend"' in html and 'value="submit"' not in html


def test_review_buttons_follow_four_eyes(lib, client):
    item = make_item(lib, ItemStatus.REVIEW)
    url = reverse("policies:item_detail", args=[item.pk])
    login(client, lib.officer)
    assert 'value="approve"' not in page(client, url)
    login(client, lib.leader)
    assert 'value="approve"' in page(client, url)
    resp = client.post(reverse("policies:item_action", args=[item.pk]), {"action": "reject", "reason": ""})
    assert resp.status_code == 302
    assert PolicyItem.objects.get(pk=item.pk).status == ItemStatus.REVIEW
    client.post(reverse("policies:item_action", args=[item.pk]), {"action": "approve"})
    assert PolicyItem.objects.get(pk=item.pk).status == ItemStatus.PUBLISHED


def test_rule_editor_page_contains_the_builder(lib, client):
    url = reverse("policies:item_new", args=[lib.doc.pk])
    assert client.get(url).status_code == 302
    login(client, lib.users["enterprise"])
    page(client, url, 403)
    login(client, lib.officer)
    html = page(client, url)
    assert 'id="rule-builder"' in html and "policies/rulebuilder.js" in html and 'id="rule-catalog"' in html
    assert "JSON(专家模式)" in html and reverse("policies:rule_preview") in html
    catalog = json.loads(html.split('id="rule-catalog" type="application/json">')[1].split("</script>")[0])
    assert any(f["name"] == "rd_ratio" for f in catalog)


def test_item_form_shows_rule_errors_and_saves(lib, client):
    login(client, lib.officer)
    url = reverse("policies:item_new", args=[lib.doc.pk])
    form = {"title": "小微企业稳岗补贴", "benefit_type": "subsidy", "mode": "auto", "department": lib.market.code,
            "rule": json.dumps({"all": [{"field": "size", "op": "in", "value": ["tiny"]}]}), "params": "{}",
            "materials": "营业执照\n授权书(可选)", "budget": "100000"}
    html = page_post(client, url, form, 200)
    assert 'id="err-rule"' in html and "条件 1" in html and not PolicyItem.objects.exists()
    resp = client.post(url, {**form, "rule": json.dumps(RULE)})
    item = PolicyItem.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("policies:item_detail", args=[item.pk])
    assert item.rule == RULE and item.materials == [{"name": "营业执照", "required": True},
                                                     {"name": "授权书", "required": False}]
    html = page(client, reverse("policies:item_edit", args=[item.pk]))
    assert "授权书(可选)" in html
    resp = client.post(reverse("policies:item_edit", args=[item.pk]), {**form, "rule": json.dumps(RULE),
                                                                      "title": "小微企业稳岗补贴(修订)"})
    assert resp.status_code == 302 and PolicyItem.objects.get().title == "小微企业稳岗补贴(修订)"


def page_post(client, url, data, status) -> str:
    resp = client.post(url, data)
    assert resp.status_code == status, resp.status_code
    return resp.content.decode()


def test_document_form(lib, client):
    url = reverse("policies:document_new")
    login(client, lib.users["dispatcher"])
    page(client, url, 403)
    login(client, lib.officer)
    html = page_post(client, url, {"title": "", "issuers": "周口市人民政府"}, 200)
    assert "必填" in html
    resp = client.post(url, {"title": "新政策文件", "issuers": "周口市人民政府", "region": lib.city.code})
    doc = PolicyDocument.objects.get(title="新政策文件")
    assert resp.status_code == 302 and resp["Location"] == reverse("policies:document_detail", args=[doc.pk])
    html = page(client, reverse("policies:document_detail", args=[doc.pk]))
    assert "添加政策事项" in html and "编辑文件" in html
    client.logout()
    assert client.get(reverse("policies:document_detail", args=[doc.pk])).status_code == 302


def test_preview_view_shows_rule_errors(lib, client):
    url = reverse("policies:rule_preview")
    login(client, lib.users["enterprise"])
    assert client.post(url, {"rule": "{}"}).status_code == 403
    login(client, lib.officer)
    html = page_post(client, url, {"rule": '{"all": [{"field": "nope", "op": "==", "value": 1}]}'}, 200)
    assert "preview-error" in html and "未知字段" in html
    html = page_post(client, url, {"rule": "{oops"}, 200)
    assert "JSON" in html


def test_preview_view_counts(lib, client):
    pytest.importorskip("yingshang.policies.engine_db", reason="engine_db (engine-columnar helper) not there yet")
    login(client, lib.officer)
    html = page_post(client, reverse("policies:rule_preview"),
                     {"rule": json.dumps({"field": "employees", "op": ">=", "value": 10}), "params": "{}",
                      "document": str(lib.doc.pk)}, 200)
    assert "符合条件" in html and "按县区" in html and lib.chuanhui.name in html
