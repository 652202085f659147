"""Pages of 申报与兑现: the 兑现 workbench, 我的申报与兑现, the review queue and detail (materials download),
the application form and the statistics page — rendering, actions through the forms, access."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from tests.factories import UserFactory
from tests.policies.test_redemption_support import (PDF, make_enterprises, make_item,  # noqa: F401
                                                    make_redemptions)
from yingshang.core.models import Role
from yingshang.policies import actions_applications as apps, actions_redemption as reds
from yingshang.policies.models import Application, Mode, Redemption, RedemptionStatus as RS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def media(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def auto(org):
    item = make_item(org, budget="150")
    rows = make_redemptions(item, [org.enterprise] + make_enterprises(1), ["100", "100"])
    return item, rows


def text(resp) -> str:
    return resp.content.decode()


def test_workbench_confirm_and_payout(org, auto):
    item, rows = auto
    c = client_for(org.users["policy_officer"])
    page = c.get("/policies/redemption/", {"item": item.pk})
    assert page.status_code == 200 and item.title in text(page) and "剩余" in text(page)
    resp = c.post(f"/policies/redemption/items/{item.pk}/confirm/", {"ids": [r.pk for r in rows]}, follow=True)
    assert "已确认 1 条" in text(resp) and "暂缓" in text(resp)
    assert [r.status for r in Redemption.objects.order_by("eligible_at")] == [RS.CONFIRMED, RS.SHORT]
    page = c.get("/policies/redemption/", {"item": item.pk})
    assert "预算不足" in text(page) and "重新确认" in text(page)
    resp = c.post(f"/policies/redemption/items/{item.pk}/payout/", {"ids": [rows[0].pk], "payout_ref": "PZ-P1"},
                  follow=True)
    assert "已登记 1 条拨付" in text(resp)
    assert Redemption.objects.get(pk=rows[0].pk).status == RS.PAID


def test_workbench_shows_errors_as_messages(org, auto):
    item, rows = auto
    c = client_for(org.users["policy_officer"])
    resp = c.post(f"/policies/redemption/items/{item.pk}/payout/", {"ids": [rows[0].pk], "payout_ref": "X"}, follow=True)
    assert resp.status_code == 200 and "只有已确认" in text(resp)
    resp = c.post(f"/policies/redemption/{rows[1].pk}/cancel/", {"reason": "已注销"}, follow=True)
    assert "已取消" in text(resp) and Redemption.objects.get(pk=rows[1].pk).status == RS.CANCELLED


@pytest.mark.parametrize("who", ["enterprise", "supervisor", "dispatcher"])
def test_workbench_is_for_the_department(org, auto, who):
    item, rows = auto
    c = client_for(org.users[who])
    assert c.get("/policies/redemption/").status_code == 403
    assert c.post(f"/policies/redemption/items/{item.pk}/confirm/", {"ids": [rows[0].pk]}).status_code == 403
    assert Redemption.objects.get(pk=rows[0].pk).status == RS.PENDING


def test_my_page_and_receipt(org, auto):
    item, rows = auto
    officer = org.users["policy_officer"]
    reds.do_confirm_redemptions(officer, item, [rows[0].pk])
    reds.do_record_payout(officer, [rows[0].pk], "PZ-M1")
    c = client_for(org.users["enterprise"])
    page = c.get("/policies/redemption/mine/")
    assert page.status_code == 200 and item.title in text(page) and "确认到账" in text(page)
    assert "PZ-M1" in text(page)
    resp = c.post(f"/policies/redemption/{rows[0].pk}/receipt/", follow=True)
    assert resp.status_code == 200 and Redemption.objects.get(pk=rows[0].pk).status == RS.RECEIVED
    assert client_for(officer).get("/policies/redemption/mine/").status_code == 403
    other = UserFactory(username="other_ent_p", role=Role.ENTERPRISE, enterprise=make_enterprises(1)[0])
    assert client_for(other).post(f"/policies/redemption/{rows[0].pk}/receipt/").status_code == 403


def test_apply_form_queue_detail_and_review(org):
    item = make_item(org, mode=Mode.APPLY, materials=[{"name": "审计报告", "required": True}])
    ent = client_for(org.users["enterprise"])
    form = ent.get(f"/policies/items/{item.pk}/apply/")
    assert form.status_code == 200 and "审计报告" in text(form) and 'name="material_0"' in text(form)
    bad = ent.post(f"/policies/items/{item.pk}/apply/", {"note": "x"})
    assert bad.status_code == 400 and "缺少必需的申报材料:审计报告" in text(bad)
    resp = ent.post(f"/policies/items/{item.pk}/apply/", {"note": "请审核", "material_0": SimpleUploadedFile("a.pdf", PDF)})
    app = Application.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/policies/applications/{app.pk}/"
    officer = client_for(org.users["policy_officer"])
    queue = officer.get("/policies/applications/")
    assert queue.status_code == 200 and org.enterprise.name in text(queue)
    detail = officer.get(f"/policies/applications/{app.pk}/")
    assert "审核通过" in text(detail) and "下载" in text(detail)
    f = app.files.get()
    download = officer.get(f"/policies/applications/{app.pk}/files/{f.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    from yingshang.core.models import AuditLog

    assert AuditLog.objects.filter(action="read_personal", object_type="policies.application",
                                   object_id=str(app.pk), actor=org.users["policy_officer"]).count() == 1
    assert officer.get(f"/policies/applications/{app.pk}/files/999999/").status_code == 404
    resp = officer.post(f"/policies/applications/{app.pk}/review/", {"decision": "reject", "reason": ""}, follow=True)
    assert "不予通过时必须填写审核意见" in text(resp) and "reason:" not in text(resp)
    officer.post(f"/policies/applications/{app.pk}/review/", {"decision": "approve", "amount": "800"})
    app.refresh_from_db()
    assert app.status == "approved" and str(app.amount_approved) == "800.00"


def test_materials_are_not_downloadable_by_others(org):
    item = make_item(org, mode=Mode.APPLY, materials=[{"name": "审计报告", "required": True}])
    app = apps.do_submit_application(org.users["enterprise"], item, "", {"审计报告": SimpleUploadedFile("a.pdf", PDF)})
    f = app.files.get()
    other = UserFactory(username="other_ent_d", role=Role.ENTERPRISE, enterprise=make_enterprises(1)[0])
    assert client_for(other).get(f"/policies/applications/{app.pk}/files/{f.pk}/").status_code == 403
    assert client_for(other).get(f"/policies/applications/{app.pk}/").status_code == 403
    assert Client().get(f"/policies/applications/{app.pk}/files/{f.pk}/").status_code == 302  # login first


def test_stats_page(org, auto):
    c = client_for(org.users["dispatcher"])
    page = c.get("/policies/stats/")
    assert page.status_code == 200
    for heading in ("按政策事项", "按责任单位", "按县区", "兑现率", "直达天数"):
        assert heading in text(page)
    assert client_for(org.users["enterprise"]).get("/policies/stats/").status_code == 403


def test_stats_page_draws_the_rate_chart_when_there_is_a_rate(org, auto):
    from yingshang.policies.models import MatchResult

    item, rows = auto
    from yingshang.policies.engine.store import pack_ids

    ids = [r.enterprise_id for r in rows]  # the stored set must hold them: confirmation refuses the ineligible
    MatchResult.objects.create(item=item, as_of="2025-01-01", revision=1, eligible=pack_ids(ids), near_miss=b"",
                               unknown=b"", eligible_count=4, breakdown={"county": {"411602": {"eligible": 4}}})
    officer = org.users["policy_officer"]
    reds.do_confirm_redemptions(officer, item, [rows[0].pk])
    reds.do_record_payout(officer, [rows[0].pk], "PZ-S1")
    page = text(client_for(org.users["dispatcher"]).get("/policies/stats/"))
    assert "vendor/echarts/echarts.min.js" in page and 'id="data-rates"' in page
    assert "25.0%" in page  # 1 paid of 4 eligible


def test_apply_form_says_when_the_window_is_closed(org):
    import datetime as dt

    from django.utils import timezone

    item = make_item(org, mode=Mode.APPLY, window_end=timezone.localdate() - dt.timedelta(days=1))
    ent = client_for(org.users["enterprise"])
    page = ent.get(f"/policies/items/{item.pk}/apply/")
    assert page.status_code == 200 and "申报已截止" in text(page) and "<form method=\"post\" enctype" not in text(page)
    assert ent.post(f"/policies/items/{item.pk}/apply/", {"note": "x"}).status_code == 409
    assert not Application.objects.exists()
    assert client_for(org.users["policy_officer"]).get(f"/policies/items/{item.pk}/apply/").status_code == 403
