"""The per-enterprise daily cap holds when pushes of different items, and deferred deliveries, run at once
(PostgreSQL: concurrent transactions on separate connections; SQLite serialises writers by itself)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from tests.policies.test_matching_fixtures import enterprise, item
from yingshang.policies import push
from yingshang.policies.models import PolicyPush, PushStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("并发写入的上限检查需要 PostgreSQL(SQLite 的写事务本身即串行)")


@pytest.fixture
def after_counting(monkeypatch):
    """Both workers pause right after reading today's counts until the other has read them too (or 2 s
    have passed, which is what happens when the other is waiting for the push lock): without the lock both
    would decide on the same stale count."""
    barrier = threading.Barrier(2)

    def pause():
        try:
            barrier.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass

    for name in ("_capped", "_within_cap"):
        real = getattr(push, name)
        monkeypatch.setattr(push, name, lambda *a, real=real: (real(*a), pause())[0])


def in_threads(*jobs) -> None:
    errors = []

    def run(job):
        try:
            job()
        except Exception as exc:  # noqa: BLE001  (re-raised in the test thread below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


def sent_today(ent) -> int:
    return PolicyPush.objects.filter(enterprise=ent, status=PushStatus.SENT, sent_on=timezone.localdate()).count()


def test_concurrent_pushes_of_two_items_respect_the_cap(org, settings, after_counting):
    settings.YINGSHANG_PUSH_DAILY_CAP = 1
    ents = [enterprise(org.chuanhui, rd_expense=60), enterprise(org.fugou, rd_expense=70)]
    first, second = item(org), item(org)
    ids = [e.pk for e in ents]
    in_threads(lambda: push.do_push(first, ids, "publish"), lambda: push.do_push(second, ids, "publish"))
    assert [sent_today(e) for e in ents] == [1, 1]
    assert PolicyPush.objects.filter(status=PushStatus.DEFERRED).count() == 2  # the other item waits a day


def test_a_deferred_delivery_and_a_push_at_once_respect_the_cap(org, settings, after_counting):
    settings.YINGSHANG_PUSH_DAILY_CAP = 0
    ent = enterprise(org.chuanhui, rd_expense=60)
    waiting, fresh = item(org), item(org)
    push.do_push(waiting, [ent.pk], "publish")  # deferred (cap 0)
    settings.YINGSHANG_PUSH_DAILY_CAP = 1
    in_threads(push.deliver_deferred, lambda: push.do_push(fresh, [ent.pk], "publish"))
    assert sent_today(ent) == 1
    assert PolicyPush.objects.filter(enterprise=ent, status=PushStatus.DEFERRED).count() == 1
