"""The 诉求 pages: submission (anonymous too, idempotent, with attachments), the case page (countdown,
masking and the audited reveal, attachments) and the action panel — the whole life cycle through the
forms under the right roles, wrong roles refused, illegal steps answered with the 409 message."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone

from tests.appeals.support_actions import dispatched, ensure_grades, payload, replied, submitted
from tests.factories import UserFactory
from yingshang.appeals import actions
from yingshang.appeals.models import (Appeal, AppealAttachment, AppealEvent, AppealExtension, AppealTask,
                                      ExtensionStatus, Status)
from yingshang.appeals.queries import countdown
from yingshang.appeals.views_case_actions import available_actions
from yingshang.core.models import AuditAction, AuditLog, Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 4


@pytest.fixture
def media(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


@pytest.fixture
def co_handler(org):
    return UserFactory(username="t_fg_handler", role=Role.HANDLER, department=org.fugou_dept)


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def text(resp) -> str:
    return resp.content.decode()


def form(org, **over) -> dict:
    """The submission form's fields as a browser posts them."""
    data = payload(org, **over)
    data["disclose"] = "on" if data.pop("disclose") else ""
    data.setdefault("idempotency_key", "form-key-1")
    return {k: v for k, v in data.items() if v != ""}


def act(client, appeal, step: str, data=None, follow=True):
    return client.post(f"/appeals/{appeal.pk}/act/{step}/", data or {}, follow=follow)


def fresh(appeal) -> Appeal:
    return Appeal.objects.get(pk=appeal.pk)


# ---------------------------------------------------------------- the whole life cycle through the forms
def _submit_grade_dispatch(org, ent, d) -> Appeal:
    page = ent.get("/appeals/new/")
    assert page.status_code == 200 and org.enterprise.uscc in text(page) and "readonly" in text(page)
    pdf = SimpleUploadedFile("材料.pdf", PDF, content_type="application/pdf")
    resp = ent.post("/appeals/new/", {**form(org), "files": [pdf]})
    assert resp.status_code == 302 and resp["Location"] == "/appeals/new/done/"
    appeal = Appeal.objects.get()
    assert AppealAttachment.objects.filter(appeal=appeal).count() == 1
    assert appeal.number in text(ent.get("/appeals/new/done/"))
    assert 'id="step-grade"' in text(d.get(f"/appeals/{appeal.pk}/"))
    assert "已定级" in text(act(d, appeal, "grade", {"grade": "normal"}))
    act(d, appeal, "dispatch", {"department": org.market.code, "co_departments": [org.fugou_dept.code]})
    assert fresh(appeal).status == Status.DISPATCHED
    assert set(AppealTask.objects.filter(appeal=appeal).values_list("role", flat=True)) == {"lead", "co"}
    return appeal


def _handle_with_co_pause_and_extension(appeal, h, co, d) -> None:
    act(h, appeal, "sign")
    assert 'id="step-sign-task"' in text(co.get(f"/appeals/{appeal.pk}/"))
    act(co, appeal, "sign_task")
    act(co, appeal, "reply_task", {"content": "扶沟县已配合核实现场"})
    assert AppealTask.objects.get(appeal=appeal, role="co").replied_at is not None
    act(h, appeal, "contact", {"note": "已电话联系企业"})
    act(h, appeal, "pause", {"reason": "等待企业补充材料"})
    assert fresh(appeal).status == Status.PAUSED and "倒计时冻结" in text(h.get(f"/appeals/{appeal.pk}/"))
    act(h, appeal, "resume")
    assert fresh(appeal).status == Status.IN_PROGRESS
    act(h, appeal, "request_extension", {"days": "2", "reason": "需协调供电公司"})
    ext = AppealExtension.objects.get(appeal=appeal)
    before = fresh(appeal).due_date
    assert f'id="step-extension-{ext.pk}"' in text(d.get(f"/appeals/{appeal.pk}/"))
    act(d, appeal, "approve_extension", {"extension_id": str(ext.pk)})
    assert AppealExtension.objects.get(pk=ext.pk).status == ExtensionStatus.APPROVED
    assert fresh(appeal).due_date > before


def _reply_rate_reopen(appeal, h, ent) -> None:
    act(h, appeal, "reply", {"result": "resolved", "content": "已协调完成增容"})
    assert fresh(appeal).status == Status.REPLIED
    assert "感谢评价" in text(act(ent, appeal, "rate", {"resolved": "yes", "satisfaction": "satisfied"}))
    assert fresh(appeal).status == Status.CLOSED
    page = text(ent.get(f"/appeals/{appeal.pk}/"))
    assert 'id="step-reopen"' in page and "前申请重办" in page
    act(ent, appeal, "reopen", {"reason": "问题又出现了"})
    assert (fresh(appeal).status, fresh(appeal).round) == (Status.DISPATCHED, 2)


def test_life_cycle_through_the_forms_under_each_role(org, co_handler):
    ensure_grades()
    ent, d, h = (client_for(org.users[r]) for r in ("enterprise", "dispatcher", "handler"))
    appeal = _submit_grade_dispatch(org, ent, d)
    _handle_with_co_pause_and_extension(appeal, h, client_for(co_handler), d)
    _reply_rate_reopen(appeal, h, ent)
    act(h, appeal, "sign")
    act(h, appeal, "contact", {"note": "再次联系"})
    act(h, appeal, "reply", {"result": "explained", "content": "已解释说明"})
    act(d, appeal, "close", {"reason": "企业逾期未评价"})
    assert fresh(appeal).status == Status.CLOSED and fresh(appeal).rating_defaulted
    act(d, appeal, "review", {"passed": "no", "note": "回访发现问题未解决"})
    appeal = fresh(appeal)
    assert (appeal.status, appeal.round, appeal.reopen_count) == (Status.DISPATCHED, 3, 2)
    steps = list(AppealEvent.objects.filter(appeal=appeal).values_list("action", flat=True))
    assert steps[:3] == ["submit", "attach", "grade"] and steps[-3:] == ["reply", "close", "review"]


# ---------------------------------------------------------------- who sees which actions
def test_available_actions_follow_role_and_status(org, co_handler):
    appeal = dispatched(org)
    u = org.users
    assert available_actions(u["handler"], appeal) == ["sign", "request_extension", "return", "attach"]
    assert available_actions(u["dispatcher"], appeal) == ["merge", "attach"]
    assert available_actions(u["enterprise"], appeal) == ["attach"]
    assert available_actions(u["evaluator"], appeal) == []
    assert available_actions(co_handler, appeal) == []  # no co task on this case
    assert available_actions(org.county_dispatcher, appeal) == []  # out of region scope


def test_available_actions_for_co_department_and_appellant(org, co_handler):
    ensure_grades()
    d = org.users["dispatcher"]
    appeal = submitted(org)
    assert available_actions(d, appeal) == ["grade", "refer", "merge", "attach"]
    actions.do_grade(d, appeal, "urgent")
    actions.do_dispatch(d, appeal, org.market.code, [org.fugou_dept.code])
    assert available_actions(co_handler, fresh(appeal)) == ["sign_task", "reply_task"]
    done = replied(org, title="另一件")
    assert available_actions(org.users["enterprise"], done) == ["rate", "attach"]
    assert available_actions(d, done) == ["close", "attach"]


def test_wrong_roles_see_no_actions_and_get_403(org):
    ensure_grades()
    appeal = submitted(org)
    ent = client_for(org.users["enterprise"])
    page = text(ent.get(f"/appeals/{appeal.pk}/"))
    assert 'id="step-grade"' not in page and "当前状态下您没有可执行的操作" in page
    assert act(ent, appeal, "grade", {"grade": "normal"}, follow=False).status_code == 403
    h = client_for(org.users["handler"])
    assert h.get(f"/appeals/{appeal.pk}/").status_code == 403  # not dispatched to them: out of scope
    assert act(h, appeal, "refer", {"reason": "x"}, follow=False).status_code == 403
    assert fresh(appeal).status == Status.SUBMITTED and fresh(appeal).events.count() == 1


def test_replied_case_cannot_be_rated_by_the_handler(org):
    appeal = replied(org)
    h = client_for(org.users["handler"])
    assert 'id="step-rate"' not in text(h.get(f"/appeals/{appeal.pk}/"))
    resp = act(h, appeal, "rate", {"resolved": "yes", "satisfaction": "satisfied"}, follow=False)
    assert resp.status_code == 403 and fresh(appeal).status == Status.REPLIED


def test_illegal_transition_shows_the_409_message_and_changes_nothing(org):
    appeal = dispatched(org)
    events = appeal.events.count()
    resp = act(client_for(org.users["dispatcher"]), appeal, "grade", {"grade": "urgent"}, follow=False)
    assert resp.status_code == 409
    assert f"诉求 {appeal.number} 当前状态为「已交办」,不能定级" in text(resp)
    assert fresh(appeal).grade.code == "normal" and fresh(appeal).events.count() == events


def test_validation_error_names_the_field_and_keeps_the_text(org):
    appeal = dispatched(org)
    h = client_for(org.users["handler"])
    act(h, appeal, "sign")
    resp = act(h, appeal, "reply", {"result": "", "content": "我的答复草稿"}, follow=False)
    assert resp.status_code == 400 and "请选择办理结果" in text(resp) and "我的答复草稿" in text(resp)
    assert "result:" not in text(resp)  # the page shows the sentence, not the API's field code
    assert fresh(appeal).status == Status.SIGNED
    resp = act(h, appeal, "request_extension", {"days": "abc", "reason": "x"}, follow=False)
    assert resp.status_code == 400 and "延期天数必须是 1–30 的整数" in text(resp)


def test_merge_through_the_form_with_suggestions(org):
    ensure_grades()
    first = submitted(org, title="厂区用电增容申请迟迟未办理")
    dup = submitted(org, title="用电增容申请迟迟未办理,再次反映")
    d = client_for(org.users["dispatcher"])
    hints = d.get(f"/appeals/{dup.pk}/merge-suggestions/")
    assert hints.status_code == 200 and first.number in text(hints)
    resp = act(d, dup, "merge", {"into": "SQ00000000-9999", "reason": "重复"}, follow=False)
    assert resp.status_code == 400 and "诉求编号「SQ00000000-9999」不存在" in text(resp)
    act(d, dup, "merge", {"into": first.number, "reason": "同一问题重复提交"})
    assert fresh(dup).status == Status.MERGED and fresh(dup).merged_into_id == first.pk
    assert client_for(org.users["enterprise"]).get(f"/appeals/{dup.pk}/merge-suggestions/").status_code == 403


# ---------------------------------------------------------------- the case page
def test_scope_is_enforced_on_the_case_page(org):
    appeal = submitted(org)
    assert client_for(org.county_dispatcher).get(f"/appeals/{appeal.pk}/").status_code == 403
    other = UserFactory(username="t_other_ent", role=Role.ENTERPRISE)
    assert client_for(other).get(f"/appeals/{appeal.pk}/").status_code == 403
    anon = client_for().get(f"/appeals/{appeal.pk}/")
    assert anon.status_code == 302 and "/login/" in anon["Location"]
    assert client_for(org.users["dispatcher"]).get("/appeals/999999/").status_code == 404


def test_staff_see_masked_contact_until_the_audited_reveal(org):
    appeal = submitted(org, content="请联系我:手机 13900001111,邮箱 li.si@example.com")
    d = client_for(org.users["dispatcher"])
    page = text(d.get(f"/appeals/{appeal.pk}/"))
    assert "13812345678" not in page and "138****5678" in page and "13900001111" not in page
    assert "查看联系人及原文" in page
    reads = AuditLog.objects.filter(action=AuditAction.READ_PERSONAL, object_id=str(appeal.pk))
    assert reads.count() == 0
    resp = d.post(f"/appeals/{appeal.pk}/reveal/", HTTP_HX_REQUEST="true")
    assert resp.status_code == 200 and "13812345678" in text(resp) and "13900001111" in text(resp)
    assert "<html" not in text(resp)  # the HTMX partial only
    row = reads.get()
    assert row.actor_id == org.users["dispatcher"].pk and row.changes["fields"] == ["contact_name", "contact_phone"]
    assert "个人信息查看记录" in text(d.get(f"/appeals/{appeal.pk}/"))
    own = text(client_for(org.users["enterprise"]).get(f"/appeals/{appeal.pk}/"))
    assert "13812345678" in own and "查看联系人及原文" not in own and org.enterprise.name in own


def test_countdown_shows_overdue_working_days_in_red_and_provisional_badge(org):
    appeal = dispatched(org, grade="urgent")
    long_ago = timezone.now() - dt.timedelta(days=20)
    Appeal.objects.filter(pk=appeal.pk).update(dispatched_at=long_ago, due_at=long_ago, due_provisional=True)
    late = -countdown(fresh(appeal))
    assert late > 5
    page = text(client_for(org.users["handler"]).get(f"/appeals/{appeal.pk}/"))
    assert f'<span class="countdown-late">已逾期 {late} 个工作日</span>' in page
    assert "暂定" in page and "节假日安排尚未公布" in page
    partial = client_for(org.users["handler"]).get(f"/appeals/{appeal.pk}/countdown/")
    assert f"已逾期 {late} 个工作日" in text(partial) and "<html" not in text(partial)


def test_countdown_shows_working_days_left(org):
    appeal = dispatched(org, grade="complex")
    left = countdown(fresh(appeal))
    page = text(client_for(org.users["dispatcher"]).get(f"/appeals/{appeal.pk}/"))
    assert left >= 4 and f"剩余 <strong class=\"\">{left}</strong> 个工作日" in page


# ---------------------------------------------------------------- submission
def test_anonymous_submission_is_idempotent(org):
    anon = client_for()
    data = form(org, enterprise_uscc="", contact_name="赵六", contact_phone="13700001234",
                idempotency_key="double-click-1")
    first = anon.post("/appeals/new/", data)
    second = anon.post("/appeals/new/", data)
    assert first.status_code == second.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.submitted_by is None and appeal.enterprise is None and appeal.channel == "portal"
    done = text(anon.get("/appeals/new/done/"))
    assert appeal.number in done and "请妥善保存诉求编号" in done and "诉求公开栏" in done


def test_anonymous_form_errors_name_the_field_in_chinese(org):
    resp = client_for().post("/appeals/new/", form(org, enterprise_uscc="", contact_name="", contact_phone="12345"))
    assert resp.status_code == 400 and "必须填写联系人" in text(resp)
    resp = client_for().post("/appeals/new/", form(org, enterprise_uscc="", contact_name="赵六", contact_phone="12345"))
    assert resp.status_code == 400 and "联系电话格式不正确" in text(resp)
    assert not Appeal.objects.exists()


def test_anonymous_attaches_files_with_the_submission_but_cannot_pick_a_channel(org):
    anon = client_for()
    page = text(anon.get("/appeals/new/"))
    assert 'name="files"' in page and 'name="enterprise_uscc"' not in page
    pdf = SimpleUploadedFile("a.pdf", PDF)
    anon.post("/appeals/new/", {**form(org, enterprise_uscc="", contact_name="赵六"), "files": [pdf]})
    appeal = Appeal.objects.get()
    assert [f.name for f in appeal.attachments.all()] == ["a.pdf"] and appeal.attachments.get().uploaded_by is None
    anon.post("/appeals/new/", form(org, enterprise_uscc="", contact_name="钱七", contact_phone="13900002222",
                                    channel="hotline_12345"))
    assert Appeal.objects.get(contact_name="钱七").channel == "portal"


def test_dispatcher_enters_a_roundtable_case(org):
    d = client_for(org.users["dispatcher"])
    assert 'name="channel"' in text(d.get("/appeals/new/"))
    d.post("/appeals/new/", form(org, channel="roundtable", external_ref="YZ-2025-03"))
    appeal = Appeal.objects.get()
    assert appeal.channel == "roundtable" and appeal.submitted_by == org.users["dispatcher"]


def test_enterprise_cannot_submit_for_another_enterprise(org):
    from tests.factories import EnterpriseFactory

    other = EnterpriseFactory()
    client_for(org.users["enterprise"]).post("/appeals/new/", form(org, enterprise_uscc=other.uscc))
    assert Appeal.objects.get().enterprise == org.enterprise  # the USCC field is fixed to its own


def test_renamed_exe_is_refused_and_no_case_is_created(org):
    ent = client_for(org.users["enterprise"])
    exe = SimpleUploadedFile("发票.pdf", EXE, content_type="application/pdf")
    resp = ent.post("/appeals/new/", {**form(org), "files": [exe]})
    assert resp.status_code == 400 and "内容与扩展名 .pdf 不符" in text(resp)
    assert not Appeal.objects.exists()


def test_a_refused_file_leaves_no_half_created_case(org):
    resp = client_for(org.users["enterprise"]).post(
        "/appeals/new/", {**form(org), "files": [SimpleUploadedFile("a.png", EXE)]})
    assert resp.status_code == 400 and "内容与扩展名 .png 不符" in text(resp)
    assert not Appeal.objects.exists() and not AppealEvent.objects.exists()


def test_upload_on_the_case_page_refuses_exe_and_download_is_audited(org):
    appeal = dispatched(org)
    h = client_for(org.users["handler"])
    resp = act(h, appeal, "attach", {"files": [SimpleUploadedFile("x.png", EXE)]}, follow=False)
    assert resp.status_code == 400 and "内容与扩展名 .png 不符" in text(resp)
    assert not AppealAttachment.objects.exists()
    ent = client_for(org.users["enterprise"])
    act(ent, appeal, "attach", {"files": [SimpleUploadedFile("合同.pdf", PDF)]})
    f = AppealAttachment.objects.get()
    resp = h.get(f"/appeals/{appeal.pk}/files/{f.pk}/")
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == PDF
    assert AuditLog.objects.filter(action=AuditAction.READ_PERSONAL, actor=org.users["handler"]).count() == 1
    assert h.get(f"/appeals/{appeal.pk}/files/{f.pk + 99}/").status_code == 404


def test_roles_that_cannot_submit_get_403(org):
    assert client_for(org.users["handler"]).get("/appeals/new/").status_code == 403


# ---------------------------------------------------------------- duplicate suggestions while typing
def test_similar_cases_for_the_public_are_disclosed_and_redacted(org):
    ensure_grades()
    shown = submitted(org, title="园区用电增容申请迟迟未办理 联系13911112222")
    actions.do_grade(org.users["dispatcher"], shown, "normal")
    actions.do_dispatch(org.users["dispatcher"], shown, org.market.code, [])  # on the board once routed
    hidden = submitted(org, title="园区用电增容申请一直没有办理", disclose=False)
    resp = client_for().post("/appeals/new/similar/", {"title": "用电增容申请未办理", "content": "园区企业用电增容"})
    body = text(resp)
    assert shown.number in body and hidden.number not in body and "13911112222" not in body
    assert f"/appeals/board/{shown.number}/" in body
    own = text(client_for(org.users["enterprise"]).post(
        "/appeals/new/similar/", {"title": "用电增容申请未办理", "content": "园区企业用电增容"}))
    assert hidden.number in own and f"/appeals/{hidden.pk}/" in own


def test_the_reply_form_names_co_departments_that_have_not_answered(org, co_handler):
    ensure_grades()
    appeal = submitted(org)
    d = org.users["dispatcher"]
    actions.do_grade(d, appeal, "normal")
    actions.do_dispatch(d, appeal, org.market.code, [co_handler.department.code])
    actions.do_sign(org.users["handler"], appeal)
    page = text(client_for(org.users["handler"]).get(f"/appeals/{appeal.pk}/"))
    assert "协办单位尚未提交意见" in page and co_handler.department.name in page
    actions.do_reply_task(co_handler, appeal, "已核实用地手续")
    assert "协办单位尚未提交意见" not in text(client_for(org.users["handler"]).get(f"/appeals/{appeal.pk}/"))
