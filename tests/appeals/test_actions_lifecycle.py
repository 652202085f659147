"""The life cycle of an appeal through the actions: transitions, events, audit rows, deadlines, scope."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tests.appeals.support_actions import closed, dispatched, ensure_grades, replied, signed, submitted
from tests.factories import UserFactory
from yingshang.appeals import actions
from yingshang.appeals.models import (AppealEvent, AppealExtension, AppealPause, AppealTask, ExtensionStatus,
                                      Status)
from yingshang.core.errors import Conflict, ValidationFailed
from yingshang.core.models import AuditLog, Notification, Role
from yingshang.workcal.calendar import get_calendar

pytestmark = pytest.mark.django_db


def _events(appeal) -> list[str]:
    return list(AppealEvent.objects.filter(appeal=appeal).values_list("action", flat=True))


def test_happy_path_walks_every_state_and_writes_events_and_audit(org):
    ensure_grades()
    ent, d, h = org.users["enterprise"], org.users["dispatcher"], org.users["handler"]
    appeal = submitted(org)
    assert appeal.status == Status.SUBMITTED
    steps = [(lambda a: actions.do_grade(d, a, "normal"), Status.GRADED),
             (lambda a: actions.do_dispatch(d, a, org.market.code, [org.fugou_dept.code]), Status.DISPATCHED),
             (lambda a: actions.do_sign(h, a), Status.SIGNED),
             (lambda a: actions.do_contact(h, a, "电话联系"), Status.IN_PROGRESS),
             (lambda a: actions.do_reply(h, a, "resolved", "已解决"), Status.REPLIED),
             (lambda a: actions.do_rate(ent, a, True, "satisfied", "很好"), Status.CLOSED)]
    for step, expected in steps:
        appeal = step(appeal)
        appeal.refresh_from_db()
        assert appeal.status == expected
    assert _events(appeal) == ["submit", "grade", "dispatch", "sign", "contact", "reply", "rate"]
    public = set(AppealEvent.objects.filter(appeal=appeal, public=True).values_list("action", flat=True))
    assert public == {"submit", "dispatch", "reply", "rate"}
    audited = AuditLog.objects.filter(object_type="appeals.appeal", object_id=str(appeal.pk))
    assert audited.count() == 7
    assert [a.changes["status"] for a in audited.order_by("id")[1:]][-1] == ["replied", "closed"]
    assert appeal.closed_at and appeal.replied_at and appeal.signed_at and appeal.first_contact_at
    assert appeal.satisfaction == "satisfied" and appeal.rated_resolved is True
    roles = set(AppealTask.objects.filter(appeal=appeal).values_list("department__code", "role"))
    assert roles == {(org.market.code, "lead"), (org.fugou_dept.code, "co")}


def test_dispatch_sets_a_working_day_deadline_from_the_dispatch(org):
    appeal = dispatched(org, grade="normal")
    assert appeal.dispatched_at is not None
    expected = get_calendar().add(timezone.localdate(appeal.dispatched_at), 3).date
    assert appeal.due_date == expected
    assert appeal.next_escalation_at is not None


def test_dispatch_notifies_the_department_once(org):
    appeal = dispatched(org)
    assert Notification.objects.filter(user=org.users["handler"], key__startswith=f"appeal:{appeal.pk}:dispatch").count() == 1


def test_reply_stops_the_escalation_timer(org):
    appeal = replied(org)
    assert appeal.next_escalation_at is None and appeal.result == "resolved"
    assert Notification.objects.filter(user=org.users["enterprise"], key__startswith=f"appeal:{appeal.pk}:reply").exists()


# ---------------------------------------------------------------- return and arbitration
def test_return_keeps_the_clock_and_counts(org):
    appeal = dispatched(org)
    first_dispatch, due = appeal.dispatched_at, appeal.due_date
    appeal = actions.do_return(org.users["handler"], appeal, "不属于本单位职责")
    assert appeal.status == Status.RETURNED and appeal.return_count == 1
    appeal = actions.do_dispatch(org.users["dispatcher"], appeal, org.fugou_dept.code)
    assert appeal.dispatched_at == first_dispatch and appeal.due_date == due
    assert AppealTask.objects.filter(appeal=appeal, role="lead").count() == 2
    assert AppealTask.objects.get(appeal=appeal, department=org.market).returned_at is not None


def test_return_needs_a_reason(org):
    appeal = dispatched(org)
    with pytest.raises(ValidationFailed) as err:
        actions.do_return(org.users["handler"], appeal, "  ")
    assert "reason" in err.value.fields


def test_arbitration_forces_the_department_and_ends_returns_this_round(org):
    appeal = dispatched(org)
    appeal = actions.do_return(org.users["handler"], appeal, "非本单位职责")
    appeal = actions.do_arbitrate(org.users["dispatcher"], appeal, org.market.code, "经研究由市场监管局主办")
    assert appeal.status == Status.DISPATCHED and appeal.department == org.market
    with pytest.raises(Conflict) as err:
        actions.do_return(org.users["handler"], appeal, "仍然不是我们的")
    assert "裁定" in err.value.message
    actions.do_sign(org.users["handler"], appeal)


# ---------------------------------------------------------------- pause, extensions
def test_pause_freezes_timers_and_resume_records_the_pause(org):
    appeal = signed(org)
    due = appeal.due_date
    appeal = actions.do_pause(org.users["handler"], appeal, "等待企业补充材料")
    assert appeal.status == Status.PAUSED and appeal.next_escalation_at is None
    with pytest.raises(Conflict):
        actions.do_reply(org.users["handler"], appeal, "resolved", "x")
    appeal = actions.do_resume(org.users["handler"], appeal)
    assert appeal.status == Status.SIGNED  # nobody contacted yet
    pause = AppealPause.objects.get(appeal=appeal)
    assert pause.resumed_at is not None and pause.round == 1
    assert appeal.due_date == due  # paused and resumed on the same day: no working day added
    assert appeal.next_escalation_at is not None


def test_pause_needs_a_reason(org):
    appeal = signed(org)
    with pytest.raises(ValidationFailed) as err:
        actions.do_pause(org.users["handler"], appeal, "")
    assert "reason" in err.value.fields


def test_approved_extension_moves_the_deadline(org):
    appeal = signed(org)
    due = appeal.due_date
    ext = actions.do_request_extension(org.users["handler"], appeal, 2, "需第三方检测")
    assert ext.status == ExtensionStatus.PENDING
    actions.do_approve_extension(org.users["dispatcher"], ext, "同意")
    appeal.refresh_from_db()
    assert appeal.due_date == get_calendar().add(due, 2).date
    with pytest.raises(Conflict) as err:
        actions.do_reject_extension(org.users["dispatcher"], ext, "重复")
    assert "已批准" in err.value.message


def test_rejected_extension_keeps_the_deadline(org):
    appeal = signed(org)
    due = appeal.due_date
    ext = actions.do_request_extension(org.users["handler"], appeal, 2, "需第三方检测")
    actions.do_reject_extension(org.users["dispatcher"], ext, "理由不充分")
    appeal.refresh_from_db()
    assert appeal.due_date == due
    assert AppealExtension.objects.get(pk=ext.pk).status == ExtensionStatus.REJECTED


def test_extension_is_refused_after_the_deadline(org):
    appeal = signed(org)
    type(appeal).objects.filter(pk=appeal.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(Conflict) as err:
        actions.do_request_extension(org.users["handler"], appeal, 2, "来不及了")
    assert "期限" in err.value.message
    assert not AppealExtension.objects.filter(appeal=appeal).exists()


def test_only_a_dispatcher_decides_extensions(org):
    appeal = signed(org)
    ext = actions.do_request_extension(org.users["handler"], appeal, 1, "需补充材料")
    with pytest.raises(PermissionDenied):
        actions.do_approve_extension(org.users["handler"], ext, "自己批准")


# ---------------------------------------------------------------- rating, reopen, close
def test_reopen_inside_the_window_starts_a_new_round_at_the_same_department(org):
    appeal = closed(org)
    appeal = actions.do_reopen(org.users["enterprise"], appeal, "问题并未解决")
    assert (appeal.status, appeal.round, appeal.reopen_count) == (Status.DISPATCHED, 2, 1)
    assert appeal.department == org.market and appeal.satisfaction == "" and appeal.closed_at is None
    assert AppealTask.objects.filter(appeal=appeal, round=2, role="lead", department=org.market).exists()
    assert appeal.due_date is not None
    actions.do_sign(org.users["handler"], appeal)


def test_reopen_outside_the_window_is_refused(org, settings):
    settings.YINGSHANG_APPEAL_REOPEN_DAYS = 15
    appeal = closed(org)
    type(appeal).objects.filter(pk=appeal.pk).update(closed_at=timezone.now() - dt.timedelta(days=16))
    with pytest.raises(Conflict) as err:
        actions.do_reopen(org.users["enterprise"], appeal, "问题并未解决")
    assert "15 天" in err.value.message


def test_only_the_appellant_rates_and_reopens(org):
    appeal = replied(org)
    other = UserFactory(username="other_ent", role=Role.ENTERPRISE)
    for user in (org.users["handler"], org.users["dispatcher"], other):
        with pytest.raises(PermissionDenied):
            actions.do_rate(user, appeal, True, "satisfied", "")


def test_supervisor_rates_the_case_they_submitted(org):
    ensure_grades()
    sup = org.users["supervisor"]
    appeal = actions.do_submit_appeal(sup, {"title": "路灯不亮影响园区企业", "content": "园区道路路灯长期不亮。",
                                            "category": "other", "region_code": org.chuanhui.code,
                                            "channel": "supervisor", "contact_phone": "0394-8123456"})
    d, h = org.users["dispatcher"], org.users["handler"]
    actions.do_grade(d, appeal, "urgent")
    actions.do_dispatch(d, appeal, org.market.code)
    actions.do_sign(h, appeal)
    actions.do_reply(h, appeal, "explained", "已纳入明年计划")
    appeal = actions.do_rate(sup, appeal, False, "basically_satisfied", "")
    assert appeal.status == Status.CLOSED and appeal.rated_resolved is False


def test_dispatcher_closes_without_rating(org):
    appeal = replied(org)
    appeal = actions.do_close(org.users["dispatcher"], appeal, "评价期已过")
    assert appeal.status == Status.CLOSED and appeal.rating_defaulted and appeal.satisfaction == ""


def test_refer_out_and_merge(org):
    ensure_grades()
    d = org.users["dispatcher"]
    a, b, c = submitted(org), submitted(org, title="重复:用电增容"), submitted(org, title="民事纠纷")
    c = actions.do_refer(d, c, "属于民事纠纷,建议通过诉讼解决")
    assert c.status == Status.REFERRED_OUT and c.referral_reason
    b = actions.do_merge(d, b, a, "与前一诉求重复")
    assert b.status == Status.MERGED and b.merged_into_id == a.pk
    with pytest.raises(Conflict):
        actions.do_merge(d, a, b, "反向合并")


# ---------------------------------------------------------------- illegal transitions and permissions
@pytest.mark.parametrize("step", ["sign", "reply", "rate", "reopen", "dispatch"])
def test_illegal_transitions_are_409_naming_the_status(org, step):
    ensure_grades()
    appeal = submitted(org)
    who = {"sign": "handler", "reply": "handler", "rate": "enterprise", "reopen": "enterprise", "dispatch": "dispatcher"}
    appeal.department = org.market  # so the department check passes and the status check decides
    type(appeal).objects.filter(pk=appeal.pk).update(department=org.market)
    call = {"sign": lambda u: actions.do_sign(u, appeal),
            "reply": lambda u: actions.do_reply(u, appeal, "resolved", "x"),
            "rate": lambda u: actions.do_rate(u, appeal, True, "satisfied"),
            "reopen": lambda u: actions.do_reopen(u, appeal, "x"),
            "dispatch": lambda u: actions.do_dispatch(u, appeal, org.market.code)}[step]
    with pytest.raises(Conflict) as err:
        call(org.users[who[step]])
    assert err.value.status == 409 and "已提交" in err.value.message


def test_signing_twice_is_a_conflict(org):
    appeal = signed(org)
    with pytest.raises(Conflict) as err:
        actions.do_sign(org.users["handler"], appeal)
    assert "已签收" in err.value.message


def test_handler_of_another_department_is_forbidden(org):
    appeal = dispatched(org)
    stranger = UserFactory(username="fugou_handler", role=Role.HANDLER, department=org.fugou_dept)
    with pytest.raises(PermissionDenied):
        actions.do_sign(stranger, appeal)
    with pytest.raises(PermissionDenied):
        actions.do_sign(org.users["enterprise"], appeal)
    appeal.refresh_from_db()
    assert appeal.status == Status.DISPATCHED


def test_dispatcher_outside_the_region_is_forbidden(org):
    ensure_grades()
    appeal = submitted(org)
    with pytest.raises(PermissionDenied):
        actions.do_grade(org.county_dispatcher, appeal, "normal")
    with pytest.raises(PermissionDenied):
        actions.do_grade(org.users["handler"], appeal, "normal")


def test_unknown_grade_names_the_field(org):
    ensure_grades()
    appeal = submitted(org)
    with pytest.raises(ValidationFailed) as err:
        actions.do_grade(org.users["dispatcher"], appeal, "super-urgent")
    assert "grade" in err.value.fields


def test_reply_result_must_be_known(org):
    appeal = signed(org)
    with pytest.raises(ValidationFailed) as err:
        actions.do_reply(org.users["handler"], appeal, "done", "已处理")
    assert "result" in err.value.fields
