"""Rules found in review: who may see a case through error pages and duplicate hints, what staff see
before the audited reveal, who may bind a case to an enterprise or an external order, and how returns,
co-tasks and reopened rounds keep their clocks."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from tests.appeals.support_actions import closed, dispatched, ensure_grades, payload, replied, submitted
from tests.factories import EnterpriseFactory, UserFactory
from yingshang.appeals import actions
from yingshang.appeals.models import AppealTask, ExtensionStatus, Status, TaskRole
from yingshang.core.errors import Conflict, ValidationFailed
from yingshang.core.models import Role
from yingshang.workcal.calendar import get_calendar

pytestmark = pytest.mark.django_db
API = "/api/v1"


def client_for(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def api_post(client, path, body):
    return client.post(API + path, json.dumps(body), content_type="application/json")


# ---------------------------------------------------------------- reading
def test_a_failed_step_on_a_case_the_user_cannot_read_shows_nothing_of_it(org):
    appeal = submitted(org)
    stranger = UserFactory(username="t_stranger", role=Role.ENTERPRISE, enterprise=EnterpriseFactory(region=org.chuanhui))
    answer = client_for(stranger).post(f"/appeals/{appeal.pk}/act/merge/", {"into": "nope", "reason": "x"})
    assert answer.status_code == 403
    assert appeal.title not in answer.content.decode()


def test_duplicate_hints_do_not_match_the_hidden_contact_name_of_a_public_case(org):
    dispatched(org, content="请联系负责人欧阳修远处理用电增容。", contact_name="欧阳修远")
    found = client_for().post("/appeals/new/similar/", {"title": "欧阳修远", "content": "欧阳修远"})
    assert found.status_code == 200 and "用电增容" not in found.content.decode()
    typed = client_for().post("/appeals/new/similar/", {"title": "用电增容申请迟迟未办理", "content": "电力增容"})
    assert "用电增容" in typed.content.decode()  # the same case is still found by its public text


def test_staff_see_task_texts_redacted_until_they_reveal(org):
    appeal = replied(org)
    task = AppealTask.objects.get(appeal=appeal, role=TaskRole.LEAD)
    task.content = "经办人:孙八 电话13755556666"
    task.save(update_fields=["content"])
    leader = client_for(org.users["dispatcher"])
    masked = leader.get(f"{API}/appeals/{appeal.pk}").json()
    assert "13755556666" not in json.dumps(masked, ensure_ascii=False)
    revealed = leader.get(f"{API}/appeals/{appeal.pk}?reveal=true").json()
    assert "13755556666" in json.dumps(revealed, ensure_ascii=False)


@pytest.mark.parametrize("period", ["9999-12", "0001-01", "0000-01", "9999-Q4"])
def test_kpi_periods_outside_the_platform_years_are_a_field_error(org, period):
    answer = client_for(org.users["dispatcher"]).get(f"{API}/appeal-kpis", {"period": period})
    assert answer.status_code == 400 and "period" in answer.json()["error"]["fields"]


def test_bulk_dispatch_with_an_impossible_id_is_a_field_error(org):
    answer = api_post(client_for(org.users["dispatcher"]), "/appeals/bulk-dispatch",
                      {"ids": [10 ** 20], "department": org.market.code})
    assert answer.status_code == 400


# ---------------------------------------------------------------- submitting
def test_an_anonymous_submission_cannot_bind_an_enterprise(org):
    with pytest.raises(ValidationFailed) as err:
        actions.do_submit_appeal(None, payload(org))
    assert "enterprise_uscc" in err.value.fields


def test_only_dispatchers_register_external_orders(org):
    with pytest.raises(ValidationFailed) as err:
        actions.do_submit_appeal(org.users["steward"], payload(org, enterprise_uscc="", external_ref="12345-0001",
                                                                  channel="steward"))
    assert "external_ref" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        actions.do_submit_appeal(org.users["steward"], payload(org, enterprise_uscc="", channel="hotline_12345"))
    assert "channel" in err.value.fields


def test_an_order_number_taken_by_another_account_is_named_in_the_409(org):
    first = actions.do_submit_appeal(org.users["dispatcher"], payload(org, external_ref="12345-0009",
                                                                      channel="hotline_12345"))
    other = UserFactory(username="t_hotline2", role=Role.DISPATCHER)
    with pytest.raises(Conflict) as err:
        actions.do_submit_appeal(other, payload(org, external_ref="12345-0009", channel="hotline_12345"))
    assert first.number in err.value.message and "external_ref" in err.value.fields


# ---------------------------------------------------------------- returns, co-tasks, reopening
def test_a_returned_case_runs_no_timer_and_its_pending_extension_lapses(org):
    appeal = dispatched(org)
    actions.do_request_extension(org.users["handler"], appeal, 3, "需要现场核查")
    appeal = actions.do_return(org.users["handler"], appeal, "不属于本单位职责")
    assert appeal.status == Status.RETURNED and appeal.next_escalation_at is None
    assert appeal.due_date is not None  # the deadline keeps running for the pool
    assert set(appeal.extensions.values_list("status", flat=True)) == {ExtensionStatus.REJECTED}
    again = actions.do_dispatch(org.users["dispatcher"], appeal, org.fugou_dept.code, [])
    assert again.next_escalation_at is not None


def test_a_late_co_department_is_due_before_the_lead(org, monkeypatch):
    ensure_grades()
    appeal = submitted(org)
    actions.do_grade(org.users["dispatcher"], appeal, "complaint")
    appeal = actions.do_dispatch(org.users["dispatcher"], appeal, org.market.code, [])
    appeal = actions.do_return(org.users["handler"], appeal, "不属于本单位职责")
    later = timezone.now() + dt.timedelta(days=14)
    monkeypatch.setattr(timezone, "now", lambda: later)
    appeal = actions.do_dispatch(org.users["dispatcher"], appeal, org.fugou_dept.code, [org.market.code])
    co = AppealTask.objects.get(appeal=appeal, role=TaskRole.CO)
    assert co.due_date < appeal.due_date
    assert co.due_date >= get_calendar().next_workday(timezone.localdate(later))


def test_a_reopened_round_gives_its_lead_task_the_new_deadline(org):
    appeal = actions.do_reopen(org.users["enterprise"], closed(org), "问题没有解决")
    task = AppealTask.objects.get(appeal=appeal, role=TaskRole.LEAD, round=appeal.round)
    assert appeal.due_date is not None and task.due_date == appeal.due_date


def test_the_public_board_shows_a_case_only_once_the_dispatcher_has_routed_it(org):
    appeal = submitted(org)
    board = client_for().get(f"{API}/public/appeals").json()
    assert appeal.number not in [c["number"] for c in board["items"]]
    dispatched_case = dispatched(org)
    board = client_for().get(f"{API}/public/appeals").json()
    assert dispatched_case.number in [c["number"] for c in board["items"]]


def test_merging_tells_the_appellant_and_the_department_where_the_case_went(org):
    from yingshang.core.models import Notification

    keep = dispatched(org, title="保留的诉求")
    dup = dispatched(org, title="重复的诉求")
    actions.do_merge(org.users["dispatcher"], dup, keep, "同一问题")
    for user in (org.users["enterprise"], org.users["handler"]):
        note = Notification.objects.filter(user=user, key__startswith=f"appeal:{dup.pk}:merge").get()
        assert keep.number in note.title


def test_merging_a_case_into_itself_is_refused_only_for_those_who_may_merge(org):
    appeal = submitted(org)
    with pytest.raises(PermissionDenied):  # the role check comes first: no answer about the input
        actions.do_merge(org.users["enterprise"], appeal, appeal, "x")
    with pytest.raises(ValidationFailed):
        actions.do_merge(org.users["dispatcher"], appeal, appeal, "x")


def test_an_anonymous_case_can_be_handled_to_the_reply(org):
    """Nobody to notify in-app (no enterprise, no submitter account): the reply still goes through."""
    ensure_grades()
    appeal = actions.do_submit_appeal(None, payload(org, enterprise_uscc="", contact_name="赵六"))
    actions.do_grade(org.users["dispatcher"], appeal, "normal")
    actions.do_dispatch(org.users["dispatcher"], appeal, org.market.code, [])
    actions.do_sign(org.users["handler"], appeal)
    replied_case = actions.do_reply(org.users["handler"], appeal, "resolved", "已电话告知处理结果")
    assert replied_case.status == Status.REPLIED
