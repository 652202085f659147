import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from yingshang.core.models import Notification, OutboxMessage, OutboxStatus, User
from yingshang.core.notify import Message, do_notify, do_notify_many

pytestmark = pytest.mark.django_db
ALL = ("inbox", "sms", "email")


@pytest.fixture
def reachable(org):
    user = org.users["handler"]
    User.objects.filter(pk=user.pk).update(phone="13800138000", email="handler@example.cn")
    user.refresh_from_db()
    return user


def as_list(user):
    return [user]


def as_queryset(user):
    return User.objects.filter(pk=user.pk)


@pytest.fixture(params=[as_list, as_queryset], ids=["list", "queryset"])
def recipients(request):
    """do_notify takes a list of users (bulk_create) or a queryset (INSERT … SELECT): same outcome."""
    return request.param


def test_same_key_twice_creates_one_inbox_row_and_one_outbox_row_per_channel(reachable, recipients, settings):
    settings.YINGSHANG_BASE_URL = "https://ys.example.cn"
    for _ in range(2):
        do_notify(recipients(reachable), key="appeal:7:dispatched", title="新交办诉求", body="请于3个工作日内签收",
                  link="/appeals/7", channels=ALL)
    assert Notification.objects.filter(user=reachable).count() == 1
    rows = OutboxMessage.objects.filter(user=reachable)
    assert sorted(rows.values_list("channel", "address")) == [("email", "handler@example.cn"),
                                                            ("sms", "13800138000")]
    sms, email = rows.get(channel="sms"), rows.get(channel="email")
    assert sms.body == "【营商通】新交办诉求:请于3个工作日内签收 https://ys.example.cn/appeals/7"
    assert (email.subject, email.body) == ("新交办诉求", "请于3个工作日内签收\n\nhttps://ys.example.cn/appeals/7")
    assert sms.key == f"appeal:7:dispatched:{reachable.pk}:sms" and sms.status == OutboxStatus.PENDING
    inbox = Notification.objects.get()
    assert (inbox.key, inbox.title, inbox.link) == (f"appeal:7:dispatched:{reachable.pk}", "新交办诉求", "/appeals/7")
    now = timezone.now()
    assert now - dt.timedelta(minutes=1) < inbox.created_at <= now and sms.next_attempt_at <= now
    assert OutboxMessage.objects.due().count() == 2


def test_channels_without_an_address_are_skipped(org, recipients):
    user = org.users["steward"]  # no phone, no e-mail
    do_notify(recipients(user), key="k1", title="t", channels=ALL)
    assert Notification.objects.filter(user=user).count() == 1
    assert not OutboxMessage.objects.exists()


def test_only_requested_channels_are_used(reachable, recipients):
    do_notify(recipients(reachable), key="k2", title="t")
    assert Notification.objects.count() == 1 and not OutboxMessage.objects.exists()
    do_notify(recipients(reachable), key="k3", title="t", channels=("sms",))
    assert Notification.objects.count() == 1
    assert list(OutboxMessage.objects.values_list("channel", flat=True)) == ["sms"]


@pytest.mark.parametrize("many", [list, lambda qs: qs, lambda qs: qs.order_by("pk")[:2500]],
                         ids=["list", "queryset", "sliced"])
def test_many_recipients_are_written_in_bulk_and_inactive_users_skipped(org, many):
    User.objects.bulk_create([User(username=f"ent{i}", phone=f"1390000{i:04d}" if i % 3 else "",
                                   is_active=i % 10 != 0) for i in range(2500)])
    active = User.objects.filter(username__startswith="ent", is_active=True)
    with_phone = active.exclude(phone="")
    result = do_notify(many(User.objects.filter(username__startswith="ent")), key="policy:1", title="新政策",
                       channels=("inbox", "sms"))
    assert (result.recipients, result.inbox, result.outbox) == (2250, 2250, with_phone.count())
    assert set(Notification.objects.values_list("user_id", flat=True)) == set(active.values_list("pk", flat=True))
    assert set(OutboxMessage.objects.values_list("user_id", "address")) == set(with_phone.values_list("pk", "phone"))
    do_notify(many(User.objects.filter(username__startswith="ent")), key="policy:1", title="新政策",
              channels=("inbox", "sms"))
    assert Notification.objects.count() == 2250 and OutboxMessage.objects.count() == with_phone.count()


def test_nothing_is_written_when_the_callers_transaction_rolls_back(reachable, recipients):
    with pytest.raises(RuntimeError), transaction.atomic():
        do_notify(recipients(reachable), key="k4", title="t", channels=ALL)
        raise RuntimeError("action failed")
    assert not Notification.objects.exists() and not OutboxMessage.objects.exists()


def test_delivery_is_kicked_after_commit(reachable, recipients, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        do_notify(recipients(reachable), key="k5", title="诉求已办结", body="请评价", channels=ALL)
    assert len(callbacks) == 1
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert [m.to for m in mail.outbox] == [["handler@example.cn"]] and mail.outbox[0].subject == "诉求已办结"


def test_bad_arguments_are_programming_errors(reachable):
    with pytest.raises(ValueError):
        do_notify([reachable], key="", title="t")
    with pytest.raises(ValueError):
        do_notify([reachable], key="k", title="t", channels=("fax",))


def test_notify_many_writes_each_message_once_per_its_own_key(org):
    users = [org.users["handler"], org.users["dept_leader"]]
    messages = [Message(users, f"case:{n}", f"第 {n} 件", channels=("inbox", "sms")) for n in (1, 2)]
    first = do_notify_many(messages)
    assert first.recipients == 4 and first.inbox == 4
    assert Notification.objects.filter(key__startswith="case:").count() == 4
    do_notify_many(messages)  # a retried sweep adds nothing
    assert Notification.objects.filter(key__startswith="case:").count() == 4
    assert OutboxMessage.objects.filter(key__startswith="case:").count() == sum(1 for u in users if u.phone) * 2
    with pytest.raises(ValueError):
        do_notify_many([Message(users, "", "x")])


def test_notifying_an_empty_queryset_writes_nothing_and_does_not_fail():
    result = do_notify(User.objects.filter(pk__in=[]), key="empty:1", title="无人接收")
    assert result.recipients == 0 and not Notification.objects.exists() and not OutboxMessage.objects.exists()
