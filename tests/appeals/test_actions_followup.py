"""Follow-up steps: co-handling sub-tasks, bulk dispatch, attachments, audited reads of contact data,
回头看 (review and sampling) and the rating window."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.appeals.support_actions import closed, dispatched, ensure_grades, replied, signed, submitted
from tests.factories import DepartmentFactory, EnterpriseFactory, UserFactory
from yingshang import jobs
from yingshang.appeals import actions
from yingshang.appeals.actions_followup import MAX_ATTACHMENTS, close_unrated_due, sample_reviews
from yingshang.appeals.models import (Appeal, AppealAttachment, AppealEvent, AppealReview, AppealTask, Status,
                                      TaskRole)
from yingshang.core.errors import Conflict, NotFound, ValidationFailed
from yingshang.core.models import AuditAction, AuditLog, Notification, Role

pytestmark = pytest.mark.django_db
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def at(monkeypatch, moment: str) -> dt.datetime:
    """Make the actions see ``moment`` (Asia/Shanghai) as now."""
    now = dt.datetime.fromisoformat(moment).replace(tzinfo=SHANGHAI)
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


def handler_of(dept, name: str):
    return UserFactory(username=name, role=Role.HANDLER, department=dept)


@pytest.fixture
def co(org):
    """A case of 市场监管局 (lead) with 扶沟县市场监管局 co-handling it, and a handler of each."""
    ensure_grades()
    appeal = submitted(org)
    actions.do_grade(org.users["dispatcher"], appeal, "complex")
    appeal = actions.do_dispatch(org.users["dispatcher"], appeal, org.market.code, [org.fugou_dept.code])
    return appeal, handler_of(org.fugou_dept, "t_fg_handler")


def co_task(appeal) -> AppealTask:
    return AppealTask.objects.get(appeal=appeal, role=TaskRole.CO)


def audit_reads(appeal) -> list[AuditLog]:
    return list(AuditLog.objects.filter(object_type="appeals.appeal", object_id=str(appeal.pk),
                                        action=AuditAction.READ_PERSONAL))


# ---------------------------------------------------------------- co-handling sub-tasks
def test_co_task_due_date_counts_working_days_over_the_national_day_holiday(org, monkeypatch):
    # Friday 2025-09-26, complex grade (5 days): the co task gets 4 working days — 09-28 (Sunday worked),
    # 09-29, 09-30, then the holiday 10-01..10-08, then 10-09; the lead's due date is 10-10.
    ensure_grades()
    at(monkeypatch, "2025-09-26 10:00")
    appeal = submitted(org)
    actions.do_grade(org.users["dispatcher"], appeal, "complex")
    appeal = actions.do_dispatch(org.users["dispatcher"], appeal, org.market.code, [org.fugou_dept.code])
    assert co_task(appeal).due_date == dt.date(2025, 10, 9)
    assert appeal.due_date == dt.date(2025, 10, 10)


def test_co_department_signs_then_replies_and_the_lead_department_hears_of_it(org, co, monkeypatch):
    appeal, fg = co
    now = at(monkeypatch, "2026-11-24 09:30")
    task = actions.do_sign_task(fg, appeal)
    assert task.signed_at == now and task.replied_at is None
    later = at(monkeypatch, "2026-11-24 15:00")
    task = actions.do_reply_task(fg, appeal, "  经核查,该企业用电手续齐全。 ")
    task.refresh_from_db()
    assert task.replied_at == later and task.signed_at == now and task.content == "经核查,该企业用电手续齐全。"
    steps = list(AppealEvent.objects.filter(appeal=appeal, action__in=["sign_task", "reply_task"]).order_by("id"))
    assert [(e.action, e.at, e.department_id, e.actor_id) for e in steps] == [
        ("sign_task", now, org.fugou_dept.pk, fg.pk), ("reply_task", later, org.fugou_dept.pk, fg.pk)]
    assert not any(e.public for e in steps)
    told = Notification.objects.filter(key__startswith=f"appeal:{appeal.pk}:reply_task:")
    assert set(told.values_list("user__username", flat=True)) == {"t_handler", "t_dept_leader"}
    appeal.refresh_from_db()
    assert appeal.status == Status.DISPATCHED  # the sub-task does not move the case


def test_replying_without_signing_first_signs_the_task_too(co):
    appeal, fg = co
    task = actions.do_reply_task(fg, appeal, "已配合完成现场核查")
    assert task.signed_at == task.replied_at is not None


def test_co_reply_needs_content(co):
    appeal, fg = co
    with pytest.raises(ValidationFailed) as err:
        actions.do_reply_task(fg, appeal, "  ")
    assert "content" in err.value.fields
    assert co_task(appeal).replied_at is None


def test_the_lead_department_cannot_act_on_a_co_task(org, co):
    appeal, _ = co
    with pytest.raises(PermissionDenied):
        actions.do_sign_task(org.users["handler"], appeal)
    with pytest.raises(PermissionDenied):
        actions.do_reply_task(org.users["dept_leader"], appeal, "意见")


def test_a_department_without_a_co_task_gets_a_conflict(org, co):
    appeal, _ = co
    other = handler_of(DepartmentFactory(code="SWJ", name="周口市商务局", region=org.city), "t_swj")
    with pytest.raises(Conflict) as err:
        actions.do_sign_task(other, appeal)
    assert err.value.code == "no_co_task"


def test_non_department_roles_cannot_act_on_co_tasks(org, co):
    appeal, _ = co
    for role in ("dispatcher", "enterprise"):
        with pytest.raises(PermissionDenied):
            actions.do_sign_task(org.users[role], appeal)


def test_signing_or_replying_twice_is_a_conflict(co):
    appeal, fg = co
    actions.do_sign_task(fg, appeal)
    with pytest.raises(Conflict) as err:
        actions.do_sign_task(fg, appeal)
    assert err.value.code == "already_signed"
    actions.do_reply_task(fg, appeal, "第一次意见")
    with pytest.raises(Conflict):
        actions.do_reply_task(fg, appeal, "第二次意见")
    assert co_task(appeal).content == "第一次意见"


def test_co_task_is_closed_once_the_lead_department_replied(org, co):
    appeal, fg = co
    h = org.users["handler"]
    actions.do_sign(h, appeal)
    actions.do_reply(h, appeal, "resolved", "已解决")
    with pytest.raises(Conflict) as err:
        actions.do_sign_task(fg, appeal)
    assert err.value.code == "illegal_transition" and "已答复" in err.value.message


# ---------------------------------------------------------------- bulk dispatch
def test_bulk_dispatch_reports_the_case_in_the_wrong_status_and_dispatches_the_others(org):
    ensure_grades()
    d = org.users["dispatcher"]
    fresh, graded, done = submitted(org), submitted(org, title="第二件"), dispatched(org, title="第三件")
    actions.do_grade(d, graded, "urgent")
    result = actions.do_dispatch_many(d, [fresh.pk, graded.pk, done.pk, 999999], org.market.code,
                                      [org.fugou_dept.code], "normal")
    assert sorted(a.pk for a in result.done) == sorted([fresh.pk, graded.pk])
    assert [n for n, _ in result.failed] == [done.number, "999999"]
    assert "已交办" in result.failed[0][1] and result.failed[1][1] == "诉求不存在"
    fresh.refresh_from_db(), graded.refresh_from_db()
    assert fresh.status == graded.status == Status.DISPATCHED
    assert fresh.grade.code == "normal" and graded.grade.code == "urgent"  # a graded case keeps its grade
    assert AppealTask.objects.filter(appeal=fresh, role=TaskRole.CO, department=org.fugou_dept).exists()
    assert AppealTask.objects.filter(appeal=done).count() == 1  # the failed case got no second task


def test_a_failed_case_in_a_bulk_dispatch_keeps_no_half_done_grade(org):
    ensure_grades()
    appeal = submitted(org)
    result = actions.do_dispatch_many(org.users["dispatcher"], [appeal.pk], "SCJG", None, None)
    assert result.done == [] and "已提交" in result.failed[0][1]
    appeal.refresh_from_db()
    assert appeal.status == Status.SUBMITTED and appeal.grade_id is None


@pytest.mark.parametrize("field, call", [
    ("department", lambda d, ids: actions.do_dispatch_many(d, ids, "NOPE")),
    ("co_departments", lambda d, ids: actions.do_dispatch_many(d, ids, "SCJG", ["NOPE"])),
    ("co_departments", lambda d, ids: actions.do_dispatch_many(d, ids, "SCJG", ["SCJG"])),
    ("grade", lambda d, ids: actions.do_dispatch_many(d, ids, "SCJG", None, "eternal")),
    ("ids", lambda d, ids: actions.do_dispatch_many(d, [], "SCJG")),
    ("ids", lambda d, ids: actions.do_dispatch_many(d, ids + [0], "SCJG")),
])
def test_bad_bulk_input_fails_everything_and_writes_nothing(org, field, call):
    ensure_grades()
    cases = [submitted(org), submitted(org, title="第二件")]
    events = AppealEvent.objects.count()
    with pytest.raises(ValidationFailed) as err:
        call(org.users["dispatcher"], [a.pk for a in cases])
    assert field in err.value.fields
    assert AppealEvent.objects.count() == events and not AppealTask.objects.exists()
    assert set(Appeal.objects.values_list("status", flat=True)) == {Status.SUBMITTED}


def test_bulk_dispatch_is_for_dispatchers_only(org):
    ensure_grades()
    appeal = submitted(org)
    with pytest.raises(PermissionDenied):
        actions.do_dispatch_many(org.users["handler"], [appeal.pk], org.market.code, None, "normal")
    appeal.refresh_from_db()
    assert appeal.status == Status.SUBMITTED


def test_bulk_dispatch_does_not_reveal_cases_outside_the_dispatchers_scope(org):
    ensure_grades()
    appeal = submitted(org)  # 川汇区: outside the 扶沟县 dispatcher's scope
    result = actions.do_dispatch_many(org.county_dispatcher, [appeal.pk], org.fugou_dept.code, None, "normal")
    assert result.done == [] and result.failed[0][0] == str(appeal.pk) and appeal.number not in str(result.failed)
    appeal.refresh_from_db()
    assert appeal.status == Status.SUBMITTED


# ---------------------------------------------------------------- attachments and contact data
@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(name="证明.pdf", content=PDF):
    return SimpleUploadedFile(name, content)


def test_the_appellant_the_lead_department_and_the_dispatcher_may_attach(org, media):
    appeal = signed(org)
    for role in ("enterprise", "handler", "dispatcher"):
        rows = actions.do_attach(org.users[role], appeal, [upload(f"{role}.pdf")])
        assert rows[0].uploaded_by == org.users[role] and rows[0].file.read() == PDF
    assert appeal.attachments.count() == 3
    event = AppealEvent.objects.filter(appeal=appeal, action="attach").last()
    assert event.data == {"files": ["dispatcher.pdf"]} and event.public is False


@pytest.mark.parametrize("who", ["other_enterprise", "co_handler", "county_dispatcher", "leader"])
def test_others_may_not_attach(org, media, who):
    ensure_grades()
    appeal = submitted(org)
    actions.do_grade(org.users["dispatcher"], appeal, "normal")
    actions.do_dispatch(org.users["dispatcher"], appeal, org.market.code, [org.fugou_dept.code])
    users = {"other_enterprise": UserFactory(username="t_other_ent", role=Role.ENTERPRISE,
                                             enterprise=EnterpriseFactory(region=org.chuanhui)),
             "co_handler": handler_of(org.fugou_dept, "t_fg_handler"),
             "county_dispatcher": org.county_dispatcher, "leader": org.users["leader"]}
    with pytest.raises(PermissionDenied):
        actions.do_attach(users[who], appeal, [upload()])
    assert not AppealAttachment.objects.exists()


@pytest.mark.parametrize("name, content, reason", [
    ("病毒.exe", b"MZ\x90\x00", "文件类型不支持"),
    ("伪装.pdf", b"MZ\x90\x00\x03\x00", "文件内容与类型不符"),
    ("图片.png", PDF, "文件内容与类型不符"),
    ("空.pdf", b"", "空文件"),
    ("过大.pdf", b"%PDF" + b"0" * (20 * 1024 * 1024), "超过 20 MB"),
])
def test_attachments_are_checked_by_type_size_and_content(org, media, name, content, reason):
    appeal = submitted(org)
    with pytest.raises(ValidationFailed) as err:
        actions.do_attach(org.users["enterprise"], appeal, [upload("好.png", PNG), upload(name, content)])
    assert err.value.fields == {"files": reason}
    assert not AppealAttachment.objects.exists()  # one bad file: none of the batch is kept


def test_a_case_holds_at_most_ten_attachments(org, media):
    appeal = submitted(org)
    ent = org.users["enterprise"]
    actions.do_attach(ent, appeal, [upload(f"{i}.pdf") for i in range(MAX_ATTACHMENTS - 1)])
    with pytest.raises(ValidationFailed) as err:
        actions.do_attach(ent, appeal, [upload("a.pdf"), upload("b.pdf")])
    assert "files" in err.value.fields and "10" in err.value.fields["files"]
    actions.do_attach(ent, appeal, [upload("last.pdf")])
    assert appeal.attachments.count() == MAX_ATTACHMENTS
    with pytest.raises(ValidationFailed):
        actions.do_attach(ent, appeal, [upload("one-more.pdf")])
    with pytest.raises(ValidationFailed) as err:
        actions.do_attach(ent, submitted(org, title="另一件"), [])
    assert "files" in err.value.fields


def test_a_closed_case_takes_no_more_attachments(org, media):
    appeal = closed(org)
    with pytest.raises(Conflict):
        actions.do_attach(org.users["enterprise"], appeal, [upload()])


def test_a_staff_download_is_audited_the_appellants_is_not(org, media):
    appeal = signed(org)
    row = actions.do_attach(org.users["enterprise"], appeal, [upload()])[0]
    assert actions.do_read_attachment(org.users["enterprise"], appeal, row.pk) == row
    assert audit_reads(appeal) == []
    actions.do_read_attachment(org.users["handler"], appeal, row.pk)
    reads = audit_reads(appeal)
    assert len(reads) == 1 and reads[0].actor == org.users["handler"] and reads[0].changes == {"attachment": "证明.pdf"}


def test_a_download_needs_read_access_and_an_attachment_of_that_case(org, media):
    appeal = signed(org)
    row = actions.do_attach(org.users["enterprise"], appeal, [upload()])[0]
    with pytest.raises(PermissionDenied):
        actions.do_read_attachment(org.county_dispatcher, appeal, row.pk)
    with pytest.raises(NotFound):
        actions.do_read_attachment(org.users["dispatcher"], submitted(org, title="另一件"), row.pk)
    assert audit_reads(appeal) == []


def test_revealing_the_contact_data_is_audited(org):
    appeal = submitted(org)
    shown = actions.do_reveal_contact(org.users["dispatcher"], appeal)
    assert shown == {"contact_name": "张三", "contact_phone": "13812345678"}
    reads = audit_reads(appeal)
    assert len(reads) == 1 and reads[0].actor == org.users["dispatcher"]
    assert reads[0].changes == {"fields": ["contact_name", "contact_phone"]}
    with pytest.raises(PermissionDenied):
        actions.do_reveal_contact(org.county_dispatcher, appeal)
    assert len(audit_reads(appeal)) == 1


# ---------------------------------------------------------------- 回头看
def test_a_passed_review_is_recorded_and_the_case_stays_closed(org, monkeypatch):
    appeal = closed(org)
    now = at(monkeypatch, "2026-12-30 10:00")
    appeal = actions.do_review(org.users["dispatcher"], appeal, True, "电话回访,企业确认已通电")
    review = AppealReview.objects.get(appeal=appeal)
    assert (review.passed, review.checked_by, review.checked_at, review.round) == (True, org.users["dispatcher"],
                                                                                   now, 1)
    appeal.refresh_from_db()
    assert appeal.status == Status.CLOSED and appeal.round == 1
    event = AppealEvent.objects.get(appeal=appeal, action="review")
    assert event.at == now and event.data == {"passed": True}


def test_a_failed_review_needs_a_note(org):
    appeal = closed(org)
    with pytest.raises(ValidationFailed) as err:
        actions.do_review(org.users["dispatcher"], appeal, False, " ")
    assert "note" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        actions.do_review(org.users["dispatcher"], appeal, None, "")
    assert "passed" in err.value.fields
    assert not AppealReview.objects.filter(checked_at__isnull=False).exists()
    appeal.refresh_from_db()
    assert appeal.status == Status.CLOSED


def test_a_failed_review_reopens_the_case_to_the_same_department_as_a_new_round(org, monkeypatch):
    appeal = closed(org)
    now = at(monkeypatch, "2026-12-30 10:00")  # Wednesday; 3 working days → 2027-01-04 is not one (New Year)
    appeal = actions.do_review(org.users["dispatcher"], appeal, False, "回访发现仍未通电")
    appeal.refresh_from_db()
    assert (appeal.status, appeal.department, appeal.round, appeal.reopen_count) == (
        Status.DISPATCHED, org.market, 2, 1)
    assert appeal.dispatched_at == now and appeal.closed_at is None and appeal.satisfaction == ""
    from yingshang.workcal.calendar import get_calendar

    assert appeal.due_date == get_calendar().add(dt.date(2026, 12, 30), 3).date
    assert appeal.due_date > dt.date(2027, 1, 1) and appeal.next_escalation_at is not None
    task = AppealTask.objects.get(appeal=appeal, round=2)
    assert (task.department, task.role) == (org.market, TaskRole.LEAD)
    review = AppealReview.objects.get(appeal=appeal, round=1)
    assert review.passed is False and review.note == "回访发现仍未通电"
    event = AppealEvent.objects.filter(appeal=appeal, action="review").get()
    assert event.public and event.to_status == Status.DISPATCHED and event.data["round"] == 2
    assert Notification.objects.filter(key__startswith=f"appeal:{appeal.pk}:review:2",
                                       user=org.users["handler"]).exists()


def test_a_round_is_reviewed_once(org):
    appeal = closed(org)
    actions.do_review(org.users["dispatcher"], appeal, True, "")
    with pytest.raises(Conflict) as err:
        actions.do_review(org.users["dispatcher"], appeal, False, "再查一次")
    assert err.value.code == "already_reviewed"
    failed = closed(org, title="另一件")
    actions.do_review(org.users["dispatcher"], failed, False, "未解决")
    with pytest.raises(Conflict):
        actions.do_review(org.users["dispatcher"], failed, False, "未解决")
    failed.refresh_from_db()
    assert failed.round == 2 and failed.reopen_count == 1


@pytest.mark.parametrize("who", ["handler", "enterprise", "leader", "county"])
def test_only_a_dispatcher_in_scope_reviews(org, who):
    appeal = closed(org)
    user = org.county_dispatcher if who == "county" else org.users[who]
    with pytest.raises(PermissionDenied):
        actions.do_review(user, appeal, True, "")
    assert not AppealReview.objects.exists()


def test_an_open_case_cannot_be_reviewed(org):
    with pytest.raises(Conflict):
        actions.do_review(org.users["dispatcher"], replied(org), True, "")


def _closed_days_ago(org, days: int, **over) -> Appeal:
    appeal = closed(org, **over)
    Appeal.objects.filter(pk=appeal.pk).update(closed_at=timezone.now() - dt.timedelta(days=days), **{
        k: v for k, v in over.items() if k in ("satisfaction", "rated_resolved", "rating_defaulted")})
    return Appeal.objects.get(pk=appeal.pk)


def test_sampling_takes_every_doubtful_closure_and_none_of_the_rest_at_rate_zero(org, settings):
    settings.YINGSHANG_APPEAL_REVIEW_AFTER_DAYS, settings.YINGSHANG_APPEAL_REVIEW_RATE = 30, 0.0
    good = _closed_days_ago(org, 31, title="好评")
    unsatisfied = _closed_days_ago(org, 31, title="不满意", satisfaction="unsatisfied")
    unresolved = _closed_days_ago(org, 32, title="未解决", rated_resolved=False)
    defaulted = _closed_days_ago(org, 33, title="默认评价", rating_defaulted=True)
    recent = _closed_days_ago(org, 5, title="刚办结", satisfaction="unsatisfied")
    assert sample_reviews() == 3
    sampled = set(AppealReview.objects.values_list("appeal_id", flat=True))
    assert sampled == {unsatisfied.pk, unresolved.pk, defaulted.pk}
    assert good.pk not in sampled and recent.pk not in sampled
    assert all(r.checked_at is None and r.round == 1 for r in AppealReview.objects.all())


def test_sampling_at_rate_one_takes_all_and_never_twice(org, settings):
    settings.YINGSHANG_APPEAL_REVIEW_AFTER_DAYS, settings.YINGSHANG_APPEAL_REVIEW_RATE = 30, 1.0
    cases = [_closed_days_ago(org, 31, title=f"第{i}件") for i in range(3)]
    assert sample_reviews() == 3
    assert sample_reviews() == 0
    assert AppealReview.objects.count() == 3
    actions.do_review(org.users["dispatcher"], cases[0], True, "")
    assert sample_reviews() == 0 and AppealReview.objects.count() == 3


def test_sampling_is_a_stable_share_at_a_partial_rate(org, settings):
    settings.YINGSHANG_APPEAL_REVIEW_AFTER_DAYS, settings.YINGSHANG_APPEAL_REVIEW_RATE = 30, 0.5
    for i in range(20):
        _closed_days_ago(org, 31, title=f"第{i}件")
    picked = sample_reviews()
    assert 2 <= picked <= 18  # a share, neither none nor all (fixed ids: deterministic)
    AppealReview.objects.all().delete()
    assert sample_reviews() == picked  # the same cases again: the pick does not depend on the run


def test_sampled_cases_are_announced_to_the_dispatchers_of_their_region(org, settings):
    settings.YINGSHANG_APPEAL_REVIEW_AFTER_DAYS, settings.YINGSHANG_APPEAL_REVIEW_RATE = 30, 1.0
    cases = [_closed_days_ago(org, 31, title=f"第{i}件") for i in range(2)]
    jobs.run_now("appeals.sample_reviews")
    told = Notification.objects.filter(key__startswith="appeal-review:")
    assert set(told.values_list("user__username", flat=True)) == {"t_dispatcher"}
    note = told.get()
    assert note.title.startswith("2 件") and all(a.number in note.body for a in cases)


# ---------------------------------------------------------------- the rating window
def test_a_replied_case_past_the_rating_window_closes_with_the_default_rating(org, settings):
    settings.YINGSHANG_APPEAL_RATING_DAYS = 7
    old = replied(org, title="过期未评价")
    fresh = replied(org, title="刚答复")
    rated = closed(org, title="已评价")
    Appeal.objects.filter(pk__in=[old.pk, rated.pk]).update(replied_at=timezone.now() - dt.timedelta(days=8))
    assert jobs.run_now("appeals.close_unrated") == 1
    old.refresh_from_db(), fresh.refresh_from_db()
    assert old.status == Status.CLOSED and old.rating_defaulted and old.closed_at is not None
    assert old.satisfaction == "" and old.rated_at is None
    event = AppealEvent.objects.get(appeal=old, action="close")
    assert event.actor is None and event.from_status == Status.REPLIED and "7 天" in event.reason
    audit = AuditLog.objects.filter(object_id=str(old.pk), object_type="appeals.appeal").order_by("-id")[0]
    assert audit.actor is None and audit.actor_name == "系统" and audit.changes["status"] == ["replied", "closed"]
    assert fresh.status == Status.REPLIED
    rated_before = Appeal.objects.values().get(pk=rated.pk)
    assert close_unrated_due() == 0
    assert Appeal.objects.values().get(pk=rated.pk) == rated_before
    assert not AppealEvent.objects.filter(appeal=rated, action="close").exists()


def test_the_rating_window_follows_the_setting(org, settings):
    settings.YINGSHANG_APPEAL_RATING_DAYS = 3
    appeal = replied(org)
    Appeal.objects.filter(pk=appeal.pk).update(replied_at=timezone.now() - dt.timedelta(days=2, hours=23))
    assert close_unrated_due() == 0
    assert close_unrated_due(now=timezone.now() + dt.timedelta(hours=2)) == 1
