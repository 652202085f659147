"""The follow-up endpoints: co-handling sub-tasks, 回头看, bulk dispatch, attachments and the audited reveal of
contact data — status codes, Chinese messages naming the field, and what each role gets back."""
from __future__ import annotations

import pytest

from tests.appeals.support_actions import closed, dispatched, ensure_grades, submitted
from tests.appeals.test_api_appeals import API, act, as_user, error, post
from tests.factories import UserFactory
from yingshang.appeals import actions
from yingshang.appeals.models import Appeal, AppealReview, Status
from yingshang.core.models import AuditAction, AuditLog, Role

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n%%EOF\n"


def reads(appeal_id) -> int:
    return AuditLog.objects.filter(object_type="appeals.appeal", object_id=str(appeal_id),
                                   action=AuditAction.READ_PERSONAL).count()


@pytest.fixture
def co_case(org):
    ensure_grades()
    appeal = submitted(org)
    actions.do_grade(org.users["dispatcher"], appeal, "normal")
    actions.do_dispatch(org.users["dispatcher"], appeal, org.market.code, [org.fugou_dept.code])
    return appeal, UserFactory(username="t_fg_handler", role=Role.HANDLER, department=org.fugou_dept)


# ---------------------------------------------------------------- co-handling
def test_co_department_signs_and_replies_through_the_api(api_client, org, co_case):
    appeal, fg = co_case
    resp = act(api_client, fg, appeal.pk, "sign_task")
    assert resp.status_code == 200, resp.content
    task = next(t for t in resp.json()["tasks"] if t["role"] == "co")
    assert task["department"]["code"] == org.fugou_dept.code and task["signed_at"] and task["replied_at"] is None
    error(act(api_client, fg, appeal.pk, "sign_task"), 409)
    error(act(api_client, fg, appeal.pk, "reply_task", {"content": ""}), 400, "content")
    resp = act(api_client, fg, appeal.pk, "reply_task", {"content": "协办意见:手续齐全"})
    assert resp.status_code == 200
    assert next(t for t in resp.json()["tasks"] if t["role"] == "co")["content"] == "协办意见:手续齐全"
    assert "sign_task" in [e["action"] for e in resp.json()["events"]]


def test_the_lead_department_gets_403_on_a_co_task(api_client, org, co_case):
    appeal, _ = co_case
    error(act(api_client, org.users["handler"], appeal.pk, "sign_task"), 403)
    error(act(api_client, org.users["handler"], appeal.pk, "reply_task", {"content": "x"}), 403)


# ---------------------------------------------------------------- 回头看
def test_review_through_the_api(api_client, org):
    appeal = closed(org)
    d = org.users["dispatcher"]
    error(act(api_client, d, appeal.pk, "review", {}), 400, "passed")
    error(act(api_client, d, appeal.pk, "review", {"passed": "no"}), 400)
    error(act(api_client, d, appeal.pk, "review", {"passed": False}), 400, "note")
    error(act(api_client, org.users["handler"], appeal.pk, "review", {"passed": True}), 403)
    resp = act(api_client, d, appeal.pk, "review", {"passed": False, "note": "回访企业,问题依旧"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert (body["status"], body["round"], body["reopen_count"]) == ("dispatched", 2, 1) and body["due_date"]
    assert body["department"]["code"] == org.market.code
    error(act(api_client, d, appeal.pk, "review", {"passed": False, "note": "再来"}), 409)
    assert AppealReview.objects.get().passed is False


# ---------------------------------------------------------------- bulk dispatch
def test_bulk_dispatch_lists_what_went_through_and_what_did_not(api_client, org):
    ensure_grades()
    a, b, done = submitted(org), submitted(org, title="第二件"), dispatched(org, title="第三件")
    as_user(api_client, org.users["dispatcher"])
    resp = post(api_client, "/appeals/bulk-dispatch",
                {"ids": [a.pk, b.pk, done.pk], "department": org.market.code, "grade": "urgent"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert sorted(r["id"] for r in body["dispatched"]) == sorted([a.pk, b.pk])
    assert all(r["status"] == "dispatched" and r["due_date"] for r in body["dispatched"])
    assert body["failed"] == [{"number": done.number, "reason": body["failed"][0]["reason"]}]
    assert "已交办" in body["failed"][0]["reason"]


def test_bulk_dispatch_with_a_bad_department_fails_whole(api_client, org):
    ensure_grades()
    a = submitted(org)
    as_user(api_client, org.users["dispatcher"])
    error(post(api_client, "/appeals/bulk-dispatch", {"ids": [a.pk], "department": "NOPE", "grade": "normal"}),
          400, "department")
    error(post(api_client, "/appeals/bulk-dispatch", {"ids": ["x"], "department": org.market.code}), 400)
    a.refresh_from_db()
    assert a.status == Status.SUBMITTED and a.grade_id is None
    error(post(as_user(api_client, org.users["handler"]), "/appeals/bulk-dispatch",
               {"ids": [a.pk], "department": org.market.code, "grade": "normal"}), 403)


# ---------------------------------------------------------------- attachments
@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, appeal_id, *files):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(f"{API}/appeals/{appeal_id}/attachments",
                       {"files": [SimpleUploadedFile(n, c) for n, c in files]})


def test_attachments_upload_list_and_download(api_client, org, media):
    appeal = dispatched(org)
    resp = upload(as_user(api_client, org.users["enterprise"]), appeal.pk, ("营业执照.pdf", PDF))
    assert resp.status_code == 201, resp.content
    (row,) = resp.json()
    assert row["name"] == "营业执照.pdf" and row["size"] == len(PDF)
    assert row["url"] == f"/api/v1/appeals/{appeal.pk}/attachments/{row['id']}"
    listed = api_client.get(f"{API}/appeals/{appeal.pk}").json()["attachments"]
    assert [a["id"] for a in listed] == [row["id"]]
    own = api_client.get(row["url"])
    assert own.status_code == 200 and b"".join(own.streaming_content) == PDF and reads(appeal.pk) == 0
    staff = as_user(api_client, org.users["handler"]).get(row["url"])
    assert staff.status_code == 200 and "attachment" in staff["Content-Disposition"]
    assert b"".join(staff.streaming_content) == PDF and reads(appeal.pk) == 1
    error(as_user(api_client, org.county_dispatcher).get(row["url"]), 403)
    error(as_user(api_client, org.users["dispatcher"]).get(f"{API}/appeals/{appeal.pk}/attachments/999999"), 404)
    assert reads(appeal.pk) == 1


def test_bad_attachments_answer_400_naming_the_field(api_client, org, media):
    appeal = dispatched(org)
    as_user(api_client, org.users["enterprise"])
    error(upload(api_client, appeal.pk, ("脚本.exe", b"MZ")), 400, "files")
    error(upload(api_client, appeal.pk, ("假的.pdf", b"MZ\x90\x00")), 400, "files")
    error(upload(api_client, appeal.pk, *[(f"{i}.pdf", PDF) for i in range(11)]), 400, "files")
    error(upload(as_user(api_client, org.users["leader"]), appeal.pk, ("a.pdf", PDF)), 403)
    assert Appeal.objects.get(pk=appeal.pk).attachments.count() == 0


# ---------------------------------------------------------------- reveal
def test_staff_see_contact_data_masked_and_reveal_it_audited(api_client, org):
    appeal = submitted(org)
    as_user(api_client, org.users["dispatcher"])
    masked = api_client.get(f"{API}/appeals/{appeal.pk}").json()
    assert masked["contact_masked"] and masked["contact_phone"] != "13812345678" and reads(appeal.pk) == 0
    shown = api_client.get(f"{API}/appeals/{appeal.pk}?reveal=true").json()
    assert not shown["contact_masked"] and shown["contact_phone"] == "13812345678" and shown["contact_name"] == "张三"
    assert reads(appeal.pk) == 1
    own = as_user(api_client, org.users["enterprise"]).get(f"{API}/appeals/{appeal.pk}?reveal=true").json()
    assert own["contact_phone"] == "13812345678" and reads(appeal.pk) == 1  # their own data: no audit row
    error(as_user(api_client, org.county_dispatcher).get(f"{API}/appeals/{appeal.pk}?reveal=true"), 403)
    assert reads(appeal.pk) == 1
