"""Two people acting on the same case at once (PostgreSQL: threads with their own connections)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.appeals.support_actions import dispatched, payload
from tests.factories import UserFactory
from yingshang.appeals import actions
from yingshang.appeals.models import Appeal, AppealEvent, Status
from yingshang.core.errors import Conflict
from yingshang.core.models import Role

pg_only = pytest.mark.skipif("connection.vendor != 'postgresql'",
                             reason="threads with their own connections need a server database (PostgreSQL)")


def _race(*calls) -> tuple[list, list]:
    """Run the calls in threads started together; (results, errors)."""
    barrier, results, errors = threading.Barrier(len(calls)), [], []

    def run(call):
        try:
            barrier.wait(10)
            results.append(call())
        except Exception as exc:  # noqa: BLE001 — collected for the assertions
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


@pg_only
@pytest.mark.django_db(transaction=True)
def test_two_handlers_signing_at_once_exactly_one_wins(org):
    appeal = dispatched(org)
    other = UserFactory(username="market_h2", role=Role.HANDLER, department=org.market)
    results, errors = _race(lambda: actions.do_sign(org.users["handler"], appeal),
                            lambda: actions.do_sign(other, appeal))
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], Conflict) and "已签收" in errors[0].message
    assert Appeal.objects.get(pk=appeal.pk).status == Status.SIGNED
    assert AppealEvent.objects.filter(appeal=appeal, action="sign").count() == 1


@pg_only
@pytest.mark.django_db(transaction=True)
def test_the_same_submission_twice_at_once_creates_one_case(org):
    user = org.users["enterprise"]
    results, errors = _race(*[lambda: actions.do_submit_appeal(user, payload(org), idempotency_key="race")] * 3)
    assert errors == [] and len({a.pk for a in results}) == 1
    assert Appeal.objects.count() == 1 and sum(a.was_created for a in results) == 1


@pg_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_distinct_submissions_get_distinct_numbers(org):
    user = org.users["enterprise"]
    calls = [lambda i=i: actions.do_submit_appeal(user, payload(org, title=f"问题{i}")) for i in range(4)]
    results, errors = _race(*calls)
    assert errors == [] and len({a.number for a in results}) == 4


@pg_only
@pytest.mark.django_db(transaction=True)
def test_many_submissions_at_once_get_consecutive_numbers_without_failing(org):
    user = org.users["enterprise"]
    calls = [lambda i=i: actions.do_submit_appeal(user, payload(org, title=f"并发提交第{i}件")) for i in range(8)]
    results, errors = _race(*calls)
    assert errors == [] and len(results) == 8
    serials = sorted(int(a.number.rsplit("-", 1)[1]) for a in results)
    assert serials == list(range(serials[0], serials[0] + 8))
