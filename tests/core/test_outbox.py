import collections
import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from tests.core.providers import RecordingProvider
from yingshang.core import outbox
from yingshang.core.models import OutboxMessage, OutboxStatus

FAILING = "tests.core.providers.FailingProvider"
REJECTING = "tests.core.providers.RejectingProvider"
RECORDING = "tests.core.providers.RecordingProvider"


def sms(n=1, start=0):
    return OutboxMessage.objects.bulk_create(
        [OutboxMessage(key=f"m{i}", channel="sms", address=f"1380000{i:04d}", body=f"消息{i}")
         for i in range(start, start + n)])


def make_due():
    OutboxMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


@pytest.fixture
def recording():
    RecordingProvider.sent = []
    with override_settings(YINGSHANG_SMS_PROVIDER=RECORDING):
        yield RecordingProvider


def test_backoff_doubles_from_30_seconds_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert outbox.backoff(30) == outbox.BACKOFF_CAP


@pytest.mark.django_db
def test_email_goes_through_djangos_mail_backend():
    OutboxMessage.objects.create(key="e1", channel="email", address="a@example.cn", subject="主题", body="正文")
    assert outbox.deliver().sent == 1
    assert (mail.outbox[0].to, mail.outbox[0].subject, mail.outbox[0].body) == (["a@example.cn"], "主题", "正文")
    row = OutboxMessage.objects.get()
    assert row.status == OutboxStatus.SENT and row.sent_at is not None and row.attempts == 1


@pytest.mark.django_db
@override_settings(YINGSHANG_SMS_PROVIDER=FAILING, YINGSHANG_OUTBOX_MAX_ATTEMPTS=3)
def test_failures_back_off_then_go_dead():
    sms()
    before = timezone.now()
    report = outbox.deliver()
    row = OutboxMessage.objects.get()
    assert (report.retried, row.status, row.attempts) == (1, OutboxStatus.PENDING, 1)
    assert before + dt.timedelta(seconds=30) <= row.next_attempt_at <= timezone.now() + dt.timedelta(seconds=30)
    assert "网关超时" in row.last_error
    assert outbox.deliver().claimed == 0  # not due again before the backoff has passed
    make_due()
    outbox.deliver()
    row.refresh_from_db()
    assert row.attempts == 2 and row.next_attempt_at >= timezone.now() + dt.timedelta(seconds=55)
    make_due()
    assert outbox.deliver().dead == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.DEAD, 3, None)
    make_due()
    assert outbox.deliver().claimed == 0


@pytest.mark.django_db
@override_settings(YINGSHANG_SMS_PROVIDER=REJECTING)
def test_a_permanent_error_is_dead_at_once():
    sms()
    assert outbox.deliver().dead == 1
    assert OutboxMessage.objects.get().status == OutboxStatus.DEAD


@pytest.mark.django_db
def test_a_sent_message_is_never_sent_again(recording):
    sms(3)
    outbox.deliver()
    make_due()
    OutboxMessage.objects.update(claimed_until=timezone.now() - dt.timedelta(hours=1))
    outbox.deliver()
    assert len(recording.sent) == 3


@pytest.mark.django_db
def test_claims_never_overlap_and_a_stale_claim_is_taken_over(recording):
    sms(10)
    token_a, first = outbox.claim(batch=6)
    token_b, second = outbox.claim(batch=6)
    assert len(first) == 6 and len(second) == 4
    assert not {m.pk for m in first} & {m.pk for m in second}
    assert outbox.claim(batch=6)[1] == []
    # worker A died holding its rows: after the lease they are claimed again and sent once
    later = timezone.now() + outbox.LEASE + dt.timedelta(seconds=1)
    token_c, retaken = outbox.claim(batch=20, now=later)
    assert {m.pk for m in retaken} == {m.pk for m in first + second}
    # the dead worker's late result does not count: it no longer holds the claim
    assert not outbox._mark_sent(first[0], token_a)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="真正的并发行锁需要 PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_workers_send_each_message_exactly_once(recording):
    sms(120)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait()
            while outbox.deliver(batch=7).claimed:
                pass
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    counts = collections.Counter(phone for phone, _ in recording.sent)
    assert len(counts) == 120 and set(counts.values()) == {1}
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 120
