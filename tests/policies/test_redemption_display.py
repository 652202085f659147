"""What the 申报与兑现 pages say: flash messages without form field names, one money format
("2,000,000.00 元"), and no second application form when one is already open."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.test import Client, override_settings

from tests.policies.test_redemption_support import PDF, make_enterprises, make_item, make_redemptions
from yingshang.policies import actions_applications as apps
from yingshang.policies.models import Application, Mode

pytestmark = pytest.mark.django_db
FIELD_PREFIXES = ("ids:", "payout_ref:", "reason:", "amount:")


@pytest.fixture(autouse=True)
def media(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def shown(resp) -> str:
    return resp.content.decode()


@pytest.mark.parametrize("value,out", [(Decimal("2000000"), "2,000,000.00 元"), ("1234.5", "1,234.50 元"),
                                       (0, "0.00 元"), (None, "—")])
def test_the_yuan_filter(value, out):
    assert Template("{% load policy_format %}{{ v|yuan }}").render(Context({"v": value})) == out


def test_workbench_messages_name_no_form_fields(org):
    item = make_item(org)
    rows = make_redemptions(item, make_enterprises(1), ["2000000"])
    c = client_for(org.users["policy_officer"])
    texts = [shown(c.post(f"/policies/redemption/items/{item.pk}/confirm/", {}, follow=True)),
             shown(c.post(f"/policies/redemption/items/{item.pk}/payout/", {"ids": [rows[0].pk]}, follow=True)),
             shown(c.post(f"/policies/redemption/{rows[0].pk}/cancel/", {"reason": ""}, follow=True))]
    assert "请至少选择一条兑现记录" in texts[0] and "请填写拨付凭证号" in texts[1] and "取消兑现必须说明理由" in texts[2]
    assert not [p for t in texts for p in FIELD_PREFIXES if p in t]


def test_workbench_amounts_use_one_format(org):
    item = make_item(org, budget="5000000")
    make_redemptions(item, make_enterprises(1), ["2000000"])
    page = shown(client_for(org.users["policy_officer"]).get("/policies/redemption/", {"item": item.pk}))
    assert "2,000,000.00 元" in page and "5,000,000.00 元" in page


def test_an_unknown_estimate_reads_as_such(org):
    item = make_item(org, mode=Mode.APPLY)
    app = Application.objects.create(item=item, enterprise=org.enterprise, applicant=org.users["enterprise"])
    page = shown(client_for(org.users["enterprise"]).get("/policies/redemption/mine/"))
    assert "测算金额:暂无法测算(缺少数据)" in page and "— 元" not in page and app.pk


def test_the_apply_form_gives_way_to_the_open_application(org):
    item = make_item(org, mode=Mode.APPLY, materials=[{"name": "审计报告", "required": True}])
    app = apps.do_submit_application(org.users["enterprise"], item, "", {"审计报告": SimpleUploadedFile("a.pdf", PDF)})
    ent = client_for(org.users["enterprise"])
    page = ent.get(f"/policies/items/{item.pk}/apply/")
    assert page.status_code == 200 and 'name="material_0"' not in shown(page)
    assert f"/policies/applications/{app.pk}/" in shown(page) and "已提交" in shown(page)
    again = ent.post(f"/policies/items/{item.pk}/apply/", {"material_0": SimpleUploadedFile("b.pdf", PDF)})
    assert again.status_code == 409 and Application.objects.count() == 1


def test_after_withdrawing_the_form_is_back(org):
    item = make_item(org, mode=Mode.APPLY, materials=[{"name": "审计报告", "required": True}])
    app = apps.do_submit_application(org.users["enterprise"], item, "", {"审计报告": SimpleUploadedFile("a.pdf", PDF)})
    apps.do_withdraw_application(org.users["enterprise"], app)
    page = client_for(org.users["enterprise"]).get(f"/policies/items/{item.pk}/apply/")
    assert 'name="material_0"' in shown(page)
