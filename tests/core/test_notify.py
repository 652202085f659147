import pytest
from django.core import mail
from django.db import transaction

from yingshang.core.models import Notification, OutboxMessage, OutboxStatus, User
from yingshang.core.notify import do_notify

pytestmark = pytest.mark.django_db
ALL = ("inbox", "sms", "email")


@pytest.fixture
def reachable(org):
    user = org.users["handler"]
    User.objects.filter(pk=user.pk).update(phone="13800138000", email="handler@example.cn")
    user.refresh_from_db()
    return user


def test_same_key_twice_creates_one_inbox_row_and_one_outbox_row_per_channel(reachable):
    for _ in range(2):
        do_notify([reachable], key="appeal:7:dispatched", title="新交办诉求", body="请于3个工作日内签收",
                  link="/appeals/7", channels=ALL)
    assert Notification.objects.filter(user=reachable).count() == 1
    rows = OutboxMessage.objects.filter(user=reachable)
    assert sorted(rows.values_list("channel", "address")) == [("email", "handler@example.cn"),
                                                            ("sms", "13800138000")]
    sms = rows.get(channel="sms")
    assert sms.body.startswith("【营商通】新交办诉求") and "/appeals/7" in sms.body


def test_channels_without_an_address_are_skipped(org):
    user = org.users["steward"]  # no phone, no e-mail
    do_notify([user], key="k1", title="t", channels=ALL)
    assert Notification.objects.filter(user=user).count() == 1
    assert not OutboxMessage.objects.exists()


def test_only_requested_channels_are_used(reachable):
    do_notify([reachable], key="k2", title="t")
    assert Notification.objects.count() == 1 and not OutboxMessage.objects.exists()
    do_notify([reachable], key="k3", title="t", channels=("sms",))
    assert Notification.objects.count() == 1
    assert list(OutboxMessage.objects.values_list("channel", flat=True)) == ["sms"]


def test_a_queryset_of_many_recipients_is_written_in_bulk_and_inactive_users_skipped(org):
    User.objects.bulk_create([User(username=f"ent{i}", phone=f"1390000{i:04d}", is_active=i % 10 != 0)
                              for i in range(2500)])
    recipients = User.objects.filter(username__startswith="ent")
    result = do_notify(recipients, key="policy:1", title="新政策", channels=("inbox", "sms"))
    assert result.recipients == 2250
    assert Notification.objects.filter(key__startswith="policy:1:").count() == 2250
    assert OutboxMessage.objects.filter(channel="sms").count() == 2250
    do_notify(recipients, key="policy:1", title="新政策", channels=("inbox", "sms"))
    assert Notification.objects.count() == 2250 and OutboxMessage.objects.count() == 2250


def test_nothing_is_written_when_the_callers_transaction_rolls_back(reachable):
    with pytest.raises(RuntimeError), transaction.atomic():
        do_notify([reachable], key="k4", title="t", channels=ALL)
        raise RuntimeError("action failed")
    assert not Notification.objects.exists() and not OutboxMessage.objects.exists()


def test_delivery_is_kicked_after_commit(reachable, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        do_notify([reachable], key="k5", title="诉求已办结", body="请评价", channels=ALL)
    assert len(callbacks) == 1
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert [m.to for m in mail.outbox] == [["handler@example.cn"]] and mail.outbox[0].subject == "诉求已办结"


def test_bad_arguments_are_programming_errors(reachable):
    with pytest.raises(ValueError):
        do_notify([reachable], key="", title="t")
    with pytest.raises(ValueError):
        do_notify([reachable], key="k", title="t", channels=("fax",))
