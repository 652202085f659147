"""Submitting an appeal: validation naming the fields, idempotency, numbering, who may submit, read scope."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tests.appeals.support_actions import dispatched, payload, submitted
from tests.factories import EnterpriseFactory, UserFactory, fresh_uscc
from yingshang.appeals import access, actions, numbering
from yingshang.appeals.models import Appeal, AppealEvent
from yingshang.core.errors import Conflict, ValidationFailed
from yingshang.core.models import AuditLog, Role

pytestmark = pytest.mark.django_db


def test_submission_creates_a_numbered_case_with_event_and_audit(org):
    appeal = submitted(org)
    today = timezone.localdate()
    assert appeal.number == f"SQ{today:%Y%m%d}-0001" and appeal.was_created
    assert appeal.status == "submitted" and appeal.enterprise == org.enterprise
    assert AppealEvent.objects.get(appeal=appeal).public
    assert AuditLog.objects.filter(object_type="appeals.appeal", object_id=str(appeal.pk), action="create").exists()
    second = submitted(org, title="另一个问题")
    assert second.number == f"SQ{today:%Y%m%d}-0002"


def test_numbering_continues_past_9999():
    import datetime as dt

    day = dt.date(2026, 11, 22)
    assert numbering.format_number(day, 10000) == "SQ20261122-10000"


@pytest.mark.parametrize("field,value", [("title", ""), ("content", "  "), ("category", "weather"),
                                         ("factor_kind", ""), ("region_code", "999999"),
                                         ("enterprise_uscc", "91411602MA00000000"), ("contact_phone", "12345"),
                                         ("channel", "fax")])
def test_validation_names_the_field(org, field, value):
    with pytest.raises(ValidationFailed) as err:
        actions.do_submit_appeal(org.users["dispatcher"], payload(org, **{field: value}))
    assert field in err.value.fields and err.value.fields[field]
    assert not Appeal.objects.exists()


def test_anonymous_submission_needs_contact(org):
    with pytest.raises(ValidationFailed) as err:
        actions.do_submit_appeal(None, payload(org, enterprise_uscc="", contact_name="", contact_phone=""))
    assert {"contact_name"} <= set(err.value.fields) or {"contact_phone"} <= set(err.value.fields)
    appeal = actions.do_submit_appeal(None, payload(org, enterprise_uscc="", contact_phone="0394-8123456"))
    assert appeal.submitted_by is None and appeal.enterprise is None and appeal.contact_phone == "0394-8123456"


def test_enterprise_user_submits_only_for_its_own_enterprise(org):
    other = EnterpriseFactory(uscc=fresh_uscc())
    with pytest.raises(ValidationFailed) as err:
        submitted(org, enterprise_uscc=other.uscc)
    assert "enterprise_uscc" in err.value.fields
    own = submitted(org, enterprise_uscc="", region_code="")
    assert own.enterprise == org.enterprise and own.region == org.chuanhui


def test_handler_cannot_submit(org):
    with pytest.raises(PermissionDenied):
        actions.do_submit_appeal(org.users["handler"], payload(org))


def test_same_idempotency_key_twice_gives_one_case(org):
    user = org.users["enterprise"]
    a = actions.do_submit_appeal(user, payload(org), idempotency_key="k-1")
    b = actions.do_submit_appeal(user, payload(org), idempotency_key="k-1")
    assert a.pk == b.pk and a.was_created and not b.was_created
    assert Appeal.objects.count() == 1 and AppealEvent.objects.count() == 1


def test_idempotency_key_reused_for_other_content_is_a_conflict(org):
    user = org.users["enterprise"]
    actions.do_submit_appeal(user, payload(org), idempotency_key="k-2")
    with pytest.raises(Conflict):
        actions.do_submit_appeal(user, payload(org, title="完全不同的问题"), idempotency_key="k-2")


def test_idempotency_keys_are_per_submitter(org):
    actions.do_submit_appeal(org.users["enterprise"], payload(org), idempotency_key="same")
    other = actions.do_submit_appeal(org.users["supervisor"], payload(org, enterprise_uscc="", channel="supervisor"),
                                     idempotency_key="same")
    assert other.was_created and Appeal.objects.count() == 2


def test_12345_order_twice_gives_one_case(org):
    d = org.users["dispatcher"]
    data = payload(org, channel="hotline_12345", external_ref="GD202611220001")
    a = actions.do_submit_appeal(d, data)
    b = actions.do_submit_appeal(d, data)
    assert a.pk == b.pk and not b.was_created and Appeal.objects.count() == 1


def test_public_may_not_claim_the_12345_channel(org):
    with pytest.raises(ValidationFailed) as err:
        actions.do_submit_appeal(None, payload(org, channel="hotline_12345", enterprise_uscc=""))
    assert "channel" in err.value.fields


# ---------------------------------------------------------------- read scope
def test_read_scope_per_role(org):
    appeal = dispatched(org)
    readers = ["enterprise", "dispatcher", "handler", "dept_leader", "admin", "leader", "evaluator"]
    for role in readers:
        access.access_appeal_read(org.users[role], appeal)
    outsider_handler = UserFactory(username="fg_h", role=Role.HANDLER, department=org.fugou_dept)
    for user in (org.users["supervisor"], org.users["steward"], org.county_dispatcher, outsider_handler):
        with pytest.raises(PermissionDenied):
            access.access_appeal_read(user, appeal)
    qs = Appeal.objects.all()
    assert list(access.visible_appeals(org.users["handler"], qs)) == [appeal]
    assert not access.visible_appeals(outsider_handler, qs).exists()
    assert not access.visible_appeals(org.county_dispatcher, qs).exists()
    assert not access.visible_appeals(None, qs).exists()


def test_co_department_reads_its_case(org):
    d = org.users["dispatcher"]
    appeal = submitted(org)
    from tests.appeals.support_actions import ensure_grades

    ensure_grades()
    actions.do_grade(d, appeal, "normal")
    actions.do_dispatch(d, appeal, org.market.code, [org.fugou_dept.code])
    co = UserFactory(username="fg_co", role=Role.HANDLER, department=org.fugou_dept)
    access.access_appeal_read(co, appeal)
    with pytest.raises(PermissionDenied):
        actions.do_sign(co, appeal)  # a co-handler reads but does not act for the lead


def test_anonymous_submitters_do_not_share_idempotency_keys(org):
    """Two members of the public using the same key get two cases; the same person retrying gets one."""
    from yingshang.appeals.actions import do_submit_appeal

    base = {"title": "办证排队时间过长", "content": "窗口排队超过两小时", "category": "government_service",
            "region_code": org.chuanhui.code, "contact_name": "王先生", "channel": "portal"}
    first = do_submit_appeal(None, {**base, "contact_phone": "13800000001"}, idempotency_key="k-1")
    again = do_submit_appeal(None, {**base, "contact_phone": "13800000001"}, idempotency_key="k-1")
    other = do_submit_appeal(None, {**base, "contact_phone": "13900000002"}, idempotency_key="k-1")
    assert again.pk == first.pk and other.pk != first.pk
