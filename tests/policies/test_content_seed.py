"""The policy part of the demo seed: published content, a deterministic application history in every
status with coherent dates, and (when matching is available) 免申即享 redemptions within budget."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.db.models import Sum
from django.utils import timezone

from yingshang.policies.models import Application, ItemStatus, PolicyItem, Redemption

pytest.importorskip("yingshang.policies.engine.amounts", reason="规则引擎(engine-lang)尚未提供 amounts.py")

AS_OF = dt.date(2026, 11, 22)
SEED = 7


def has_engine_db() -> bool:
    try:
        from yingshang.policies import engine_db  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def seeded(db):
    from yingshang.seeding.policies import seed_policies
    from yingshang.seeding.run import seed

    seed("small", SEED, policies=False, appeals=False)
    return seed_policies("small", SEED, as_of=AS_OF)


def application_digest() -> str:
    rows = Application.objects.order_by("item__code", "enterprise__uscc").values_list(
        "item__code", "enterprise__uscc", "status", "submitted_at", "reviewed_at", "paid_at", "received_at",
        "amount_estimated", "amount_approved", "review_reason", "payout_ref")
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()


def local(moment):
    return None if moment is None else timezone.localtime(moment).date()


def test_seed_publishes_the_content_and_writes_applications_in_every_status(seeded):
    assert seeded.loaded.items_created >= 38
    assert PolicyItem.objects.filter(status=ItemStatus.PUBLISHED).count() >= 36
    statuses = set(Application.objects.values_list("status", flat=True))
    assert statuses == {"submitted", "approved", "rejected", "paid", "received", "withdrawn"}
    for app in Application.objects.select_related("item"):
        assert local(app.submitted_at) < AS_OF
        stamps = [app.submitted_at, app.reviewed_at, app.paid_at, app.received_at]
        reached = [s for s in stamps if s is not None]
        assert reached == sorted(reached) and local(reached[-1]) < AS_OF, app.pk
        if app.status == "rejected":
            assert app.review_reason and app.amount_approved is None
        if app.status in ("paid", "received"):
            assert app.payout_ref and app.amount_approved is not None
        if app.status in ("submitted", "withdrawn"):
            assert app.reviewed_at is None
        if app.item.window_start and app.item.window_end:
            assert app.item.window_start <= local(app.submitted_at) <= app.item.window_end
        assert app.applicant.enterprise_id == app.enterprise_id


def test_published_dates_are_in_the_past_and_after_the_documents(seeded):
    for item in PolicyItem.objects.select_related("document").exclude(published_at=None):
        day = local(item.published_at)
        assert day < AS_OF
        if item.document.published_on:
            assert day >= item.document.published_on


def test_seeding_again_changes_nothing_and_the_history_is_deterministic(seeded):
    from yingshang.seeding.policies import seed_policies

    digest, count = application_digest(), Application.objects.count()
    again = seed_policies("small", SEED, as_of=AS_OF)
    assert again.loaded.items_created == 0 and again.loaded.items_updated == 0
    assert Application.objects.count() == count and application_digest() == digest
    Application.objects.all().delete()
    seed_policies("small", SEED, as_of=AS_OF)
    assert application_digest() == digest


@pytest.mark.skipif(not has_engine_db(), reason="engine_db(企业档案列式加载)尚未提供,政策匹配无法运行")
def test_auto_items_get_redemptions_paid_within_budget(seeded):
    assert seeded.matched
    statuses = set(Redemption.objects.filter(item__budget__isnull=False).values_list("status", flat=True))
    assert {"received", "pending"} <= statuses
    for item in PolicyItem.objects.filter(mode="auto", budget__isnull=False):
        spent = Redemption.objects.filter(item=item, status__in=["confirmed", "paid", "received"]).aggregate(
            s=Sum("amount_confirmed"))["s"] or 0
        assert spent <= item.budget
    for r in Redemption.objects.exclude(received_at=None):
        assert r.eligible_at <= r.confirmed_at <= r.paid_at <= r.received_at
        assert local(r.received_at) < AS_OF
