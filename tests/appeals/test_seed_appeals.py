"""The appeals part of the demo seed: a history in every status, made by the real actions (events, audit,
clock consistent), the public board redacting the planted personal data, and a re-run adding nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yingshang.appeals.models import (Appeal, AppealEscalation, AppealEvent, AppealExtension, AppealReview,
                                      AppealTask, Status)
from yingshang.core.models import AuditLog, OutboxMessage, OutboxStatus
from yingshang.seeding.appeals import FATES, planted, seed_appeals, shifted_clock

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """The small organisation and register with ~60 seeded cases, once for the module, rolled back after."""
    from django.db import transaction

    from yingshang.seeding.run import seed

    with django_db_blocker.unblock(), transaction.atomic():
        seed("small", 7, policies=False, appeals=False)
        yield seed_appeals("small", 7, as_of=AS_OF)
        transaction.set_rollback(True)


def seeded():
    return Appeal.objects.filter(idempotency_key__contains=":demo-appeal-")


def test_every_status_is_present(history):
    assert history.created == seeded().count() >= 50
    statuses = set(seeded().values_list("status", flat=True))
    assert statuses == set(Status.values), set(Status.values) - statuses


def test_the_history_spans_six_months_and_the_clock_was_shifted(history):
    first = seeded().order_by("created_at").first().created_at
    assert timezone.localdate(first) < AS_OF - dt.timedelta(days=120)
    assert timezone.localdate(seeded().order_by("-created_at").first().created_at) <= AS_OF
    for appeal in seeded().filter(status=Status.CLOSED)[:20]:
        events = list(AppealEvent.objects.filter(appeal=appeal).values_list("at", flat=True))
        assert events == sorted(events) and events[0] == appeal.created_at
        assert appeal.number[2:10] == timezone.localtime(appeal.created_at).strftime("%Y%m%d")
        audit = AuditLog.objects.filter(object_type="appeals.appeal", object_id=str(appeal.pk)).order_by("id")
        assert audit.first().at == appeal.created_at  # the audit log is on the same (shifted) clock


def test_the_mechanisms_all_have_content(history):
    cases = seeded()
    assert AppealEscalation.objects.filter(appeal__in=cases, level=4).exists()
    assert cases.filter(status__in=[Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS],
                        due_at__lt=timezone.make_aware(dt.datetime(2026, 11, 20, 18))).exists()
    assert AppealExtension.objects.filter(appeal__in=cases, status="approved").exists()
    assert cases.filter(reopen_count__gt=0).exists() and cases.filter(return_count__gt=0).exists()
    assert cases.filter(rating_defaulted=True).exists() and cases.exclude(satisfaction="").exists()
    assert AppealReview.objects.filter(passed=False).exists() and AppealReview.objects.filter(passed=True).exists()
    assert AppealTask.objects.filter(appeal__in=cases, role="co", replied_at__isnull=False).exists()
    assert cases.filter(channel="hotline_12345").exclude(external_ref="").exists()
    assert cases.filter(enterprise__users__username="enterprise").count() >= 2
    assert cases.filter(submitted_by__username="supervisor").count() >= 2
    assert not OutboxMessage.objects.filter(key__startswith="appeal", status=OutboxStatus.PENDING).exists()


def test_the_public_board_redacts_the_planted_personal_data(history, api_client):
    disclosed = seeded().filter(disclose=True).exclude(status=Status.MERGED)
    assert disclosed.count() >= 10
    leaks = []
    for appeal in disclosed:
        secrets = [s for s in (appeal.contact_phone, appeal.contact_name) if s]
        secrets += [s for s in _planted_in(appeal.content)]
        body = api_client.get(f"/api/v1/public/appeals/{appeal.number}").content.decode()
        leaks += [(appeal.number, s) for s in secrets if s in body]
    assert leaks == []
    listing = api_client.get("/api/v1/public/appeals").json()
    assert listing["total"] == disclosed.count()


def _planted_in(content: str) -> list[str]:
    """The digit runs and e-mail addresses of the text: every one of them is personal data in the seed."""
    import re

    return re.findall(r"\d{11,19}X?|[\w.]+@[\w.]+", content)


def test_a_second_run_adds_nothing(history):
    before = (Appeal.objects.count(), AppealEvent.objects.count(), AuditLog.objects.count())
    again = seed_appeals("small", 7, as_of=AS_OF)
    assert again.skipped and again.created == 0
    assert (Appeal.objects.count(), AppealEvent.objects.count(), AuditLog.objects.count()) == before


def test_the_planted_sentences_hold_valid_looking_personal_data():
    import numpy as np

    from yingshang.core.redact import redact

    rng = np.random.default_rng(1)
    for _ in range(30):
        sentence, values = planted(rng, "411602", money=True)
        assert all(v in sentence for v in values)
        assert not any(v in redact(sentence) for v in values)


def test_the_shifted_clock_moves_now_and_model_defaults_and_restores_them():
    from yingshang.core.models import AuditLog as Log

    moment = timezone.make_aware(dt.datetime(2026, 5, 1, 9))
    with shifted_clock(lambda: moment):
        assert timezone.now() == moment and Log().at == moment and Appeal().created_at == moment
    assert timezone.now() > moment and Appeal().created_at > moment and Log().at > moment


def test_every_fate_is_a_known_story():
    import numpy as np

    from yingshang.seeding.appeals import plan

    rng = np.random.default_rng(0)
    assert all(plan(f, rng)[0][1] == "submit" for f in FATES)
