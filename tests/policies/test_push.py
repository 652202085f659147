"""push.py: one push per (item, enterprise), opt-out and benefit types, channels, daily cap and deferral,
steward copies, texts."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from tests.policies.test_matching_fixtures import _fresh_engine_caches, enterprise, enterprise_user, item  # noqa: F401
from yingshang.core.models import Notification, OutboxMessage, Role
from yingshang.policies import push
from yingshang.policies.models import PolicyPush, PolicySubscription, PushStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(org):
    ents = [enterprise(org.chuanhui, rd_expense=60), enterprise(org.fugou, rd_expense=70)]
    users = [enterprise_user(e, phone=f"1390000000{i}", email=f"e{i}@example.cn") for i, e in enumerate(ents)]
    return ents, users


def inbox(user):
    return list(Notification.objects.filter(user=user).values_list("title", flat=True))


def test_each_enterprise_gets_one_push_and_its_users_one_notification_per_channel(org, two):
    ents, users = two
    it = item(org, window_end=dt.date(2031, 6, 30))
    result = push.do_push(it, [e.pk for e in ents], "publish")
    assert (result.sent, result.deferred, result.opted_out, result.already) == (2, 0, 0, 0)
    assert PolicyPush.objects.filter(item=it, status=PushStatus.SENT, sent_on=timezone.localdate()).count() == 2
    note = Notification.objects.get(user=users[0])
    assert note.title == f"政策推送:{it.title}" and "2031年06月30日" in note.body and note.key == f"policy:{it.pk}:{users[0].pk}"
    channels = sorted(OutboxMessage.objects.filter(user=users[0]).values_list("channel", flat=True))
    assert channels == ["email", "sms"]


def test_pushing_again_adds_nothing(org, two):
    ents, users = two
    it = item(org)
    push.do_push(it, [ents[0].pk], "publish")
    counts = (PolicyPush.objects.count(), Notification.objects.count(), OutboxMessage.objects.count())
    again = push.do_push(it, [e.pk for e in ents], "change")
    assert (again.sent, again.already) == (1, 1)  # only the second enterprise is new
    assert PolicyPush.objects.get(item=it, enterprise=ents[0]).reason == "publish"
    assert Notification.objects.count() == counts[1] + 1 and len(inbox(users[0])) == 1


def test_opted_out_enterprises_get_a_push_row_but_no_notification(org, two):
    ents, users = two
    PolicySubscription.objects.create(enterprise=ents[0], opted_out=True)
    it = item(org)
    result = push.do_push(it, [e.pk for e in ents], "publish")
    assert (result.sent, result.opted_out) == (1, 1)
    assert PolicyPush.objects.get(item=it, enterprise=ents[0]).status == PushStatus.OPTED_OUT
    assert inbox(users[0]) == [] and len(inbox(users[1])) == 1


def test_benefit_type_filter_and_channel_switches(org, two):
    ents, users = two
    PolicySubscription.objects.create(enterprise=ents[0], benefit_types=["tax"])
    PolicySubscription.objects.create(enterprise=ents[1], sms=False, email=False)
    subsidy = item(org, benefit_type="subsidy")
    push.do_push(subsidy, [e.pk for e in ents], "publish")
    assert PolicyPush.objects.get(item=subsidy, enterprise=ents[0]).status == PushStatus.OPTED_OUT
    assert len(inbox(users[1])) == 1 and not OutboxMessage.objects.filter(user=users[1]).exists()
    tax = item(org, benefit_type="tax")
    push.do_push(tax, [ents[0].pk], "publish")
    assert PolicyPush.objects.get(item=tax, enterprise=ents[0]).status == PushStatus.SENT


def test_daily_cap_defers_and_a_later_day_delivers(org, two, settings):
    settings.YINGSHANG_PUSH_DAILY_CAP = 2
    ents, users = two
    first, second, third = item(org), item(org), item(org)
    for it in (first, second):
        push.do_push(it, [ents[0].pk], "publish")
    result = push.do_push(third, [e.pk for e in ents], "publish")
    assert (result.sent, result.deferred) == (1, 1)
    row = PolicyPush.objects.get(item=third, enterprise=ents[0])
    assert row.status == PushStatus.DEFERRED and row.sent_on is None
    assert len(inbox(users[0])) == 2
    assert push.deliver_deferred() == 0  # the cap is still used up today
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    PolicyPush.objects.filter(status=PushStatus.SENT).update(sent_on=yesterday)  # the next day comes
    assert push.deliver_deferred() == 1
    row.refresh_from_db()
    assert row.status == PushStatus.SENT and row.sent_on == timezone.localdate()
    assert f"政策推送:{third.title}" in inbox(users[0])
    assert push.deliver_deferred() == 0


def test_deferred_push_of_an_enterprise_that_opted_out_meanwhile_is_not_sent(org, two, settings):
    settings.YINGSHANG_PUSH_DAILY_CAP = 0
    ents, users = two
    it = item(org)
    push.do_push(it, [ents[0].pk], "publish")
    PolicySubscription.objects.create(enterprise=ents[0], opted_out=True)
    settings.YINGSHANG_PUSH_DAILY_CAP = 5
    assert push.deliver_deferred() == 0
    assert PolicyPush.objects.get(item=it).status == PushStatus.OPTED_OUT and inbox(users[0]) == []


def test_steward_gets_one_summary_per_item_batch(org, two):
    ents, _ = two
    steward = UserFactory(username="steward_x", role=Role.STEWARD)
    for e in ents:
        e.steward = steward
        e.save()
    it = item(org)
    push.do_push(it, [e.pk for e in ents], "publish")
    notes = list(Notification.objects.filter(user=steward))
    assert len(notes) == 1 and "2 家企业" in notes[0].title and notes[0].link == f"/policies/items/{it.pk}/matches/"
    push.do_push(it, [e.pk for e in ents], "publish")  # nothing new: no second summary
    assert Notification.objects.filter(user=steward).count() == 1


def test_body_names_the_estimated_amount_or_the_cap():
    from yingshang.policies.models import PolicyItem

    it = PolicyItem(title="研发补助", mode="apply", amount_cap=Decimal("500000"), window_end=dt.date(2030, 1, 31))
    assert "最高可享受 500,000.00 元" in push.body_text(it)
    assert "约 12,345.60 元" in push.body_text(it, Decimal("12345.6")) and "2030年01月31日" in push.body_text(it)
    it.mode = "auto"
    assert "免申即享" in push.body_text(it)


def test_per_enterprise_amounts_go_into_each_body(org, two):
    ents, users = two
    it = item(org)
    push.do_push(it, [e.pk for e in ents], "qualify", amounts={ents[0].pk: Decimal("1000"), ents[1].pk: None})
    assert "1,000.00 元" in Notification.objects.get(user=users[0]).body
    assert "元" not in Notification.objects.get(user=users[1]).body.split("。")[0]


def test_ids_of_enterprises_deleted_meanwhile_are_skipped(org, two):
    ents, users = two
    gone = enterprise(org.chuanhui)
    gone_id = gone.pk
    gone.delete()
    result = push.do_push(item(org), [ents[0].pk, gone_id], "publish")
    assert result.sent == 1 and not PolicyPush.objects.filter(enterprise_id=gone_id).exists()


def test_the_bulk_copy_path_behaves_like_the_plain_one(org, two, monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(push, "COPY_FROM", 0)  # PostgreSQL takes the COPY path from the first row
    ents, users = two
    gone = enterprise(org.chuanhui)
    gone_id = gone.pk
    gone.delete()
    first, second = item(org), item(org)
    with transaction.atomic():  # two pushes in one transaction reuse the scratch table
        assert push.do_push(first, [e.pk for e in ents] + [gone_id], "publish").sent == 2
        assert push.do_push(second, [ents[0].pk], "publish").sent == 1
    assert push.do_push(first, [e.pk for e in ents], "publish").already == 2
    assert PolicyPush.objects.filter(item=first).count() == 2 and len(inbox(users[0])) == 2
