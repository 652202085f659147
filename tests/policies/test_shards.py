"""Sharded matching: a shard job loads and caches only its own region prefix, and gives the unsharded results."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.policies.test_matching_fixtures import _fresh_engine_caches, enterprise, item, zhengzhou  # noqa: F401
from yingshang.enterprises.models import Enterprise
from yingshang.policies import engine_db, matching
from yingshang.policies.models import MatchResult

pytestmark = pytest.mark.django_db
SHARDS = ["411602", "411621"]


@pytest.fixture(autouse=True)
def _fresh_shard_registers():
    matching.reset_shard_registers()
    yield
    matching.reset_shard_registers()


@pytest.fixture
def ents(org):
    c, f = org.chuanhui, org.fugou
    return [enterprise(c, employees=50, rd_expense=60), enterprise(c, employees=50, rd_expense=10),
            enterprise(f, employees=40, rd_expense=90), enterprise(f, employees=None, rd_expense=70),
            enterprise(f, employees=500, rd_expense=90), enterprise(zhengzhou(org), employees=50, rd_expense=60)]


@pytest.fixture
def loads(monkeypatch):
    """Every load_register call as (region_prefix, ids); the whole cached register is off limits."""
    calls, real = [], engine_db.load_register

    def recording(region_prefix="", ids=None):
        calls.append((region_prefix, ids))
        return real(region_prefix=region_prefix, ids=ids)

    def whole(**kwargs):
        raise AssertionError("a shard job must not load the whole register")

    monkeypatch.setattr(engine_db, "load_register", recording)
    monkeypatch.setattr(engine_db, "current_register", whole)
    monkeypatch.setattr(engine_db, "facts_for_many", whole)
    return calls


def stored(it) -> dict[str, set[int]]:
    return {status: set(matching.matched_ids(it, status)[0].tolist()) for status in matching.STATUSES}


def test_each_shard_job_loads_only_its_prefix_and_matches_like_the_unsharded_run(org, ents, settings, monkeypatch):
    whole = item(org)
    matching.run_item(whole, "publish")
    expected = stored(whole)
    assert expected["eligible"] and expected["near_miss"] and expected["unknown"]  # the comparison means something
    settings.YINGSHANG_MATCH_SHARDS = SHARDS
    calls = []
    monkeypatch.setattr(engine_db, "current_register", lambda **kw: calls.append("whole"))
    real = engine_db.load_register
    monkeypatch.setattr(engine_db, "load_register",
                        lambda region_prefix="", ids=None: calls.append(region_prefix) or real(region_prefix, ids))
    sharded = item(org)
    matching.run_item(sharded, "publish")
    assert sorted(calls) == SHARDS  # one load per shard job, nothing else
    assert stored(sharded) == expected
    assert set(MatchResult.objects.filter(item=sharded).values_list("shard", flat=True)) == set(SHARDS)


def test_a_shard_register_holds_only_its_enterprises(org, ents, settings, loads):
    settings.YINGSHANG_MATCH_SHARDS = SHARDS
    register = matching.shard_register("411621")
    assert sorted(register.ids.tolist()) == sorted(e.pk for e in ents if e.region_id.startswith("411621"))
    assert [prefix for prefix, _ in loads] == ["411621"]


def settle(prefix: str) -> None:
    """Enterprises last changed long ago (past the refresh slack), so a cached register is final."""
    Enterprise.objects.in_region(prefix).update(updated_at=timezone.now() - dt.timedelta(hours=2))


def test_an_unchanged_shard_is_not_loaded_again(org, ents, loads):
    settle("411621")
    first = matching.shard_register("411621")
    matching.shard_register("411621")
    assert matching.shard_register("411621") is first and len(loads) == 1


def test_a_changed_enterprise_is_reloaded_alone(org, ents, loads):
    settle("411621")
    matching.shard_register("411621")
    ents[2].employees = 7
    ents[2].updated_at = timezone.now()
    ents[2].save()
    register = matching.shard_register("411621")
    assert register.employees[register.rows_of([ents[2].pk])[0]] == 7
    assert loads[-1] == ("411621", [ents[2].pk])  # only the changed row, from its own shard


def test_enterprises_moved_out_or_deleted_leave_the_shard(org, ents, loads):
    settle("411621")
    matching.shard_register("411621")
    moved, deleted = ents[2], ents[3]
    moved.region = org.chuanhui
    moved.updated_at = timezone.now()
    moved.save()
    Enterprise.objects.filter(pk=deleted.pk).delete()
    register = matching.shard_register("411621")
    assert sorted(register.ids.tolist()) == [ents[4].pk]
    assert loads[-1] == ("411621", None)  # counted fewer than held: reloaded whole


def test_a_new_certificate_reloads_the_shard(org, ents, loads):
    from yingshang.enterprises.models import Certification

    settle("411621")
    matching.shard_register("411621")
    Certification.objects.create(enterprise=ents[2], kind="high_tech", certificate_no="GR2024",
                                 valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2026, 12, 31))
    matching.shard_register("411621")
    assert loads[-1] == ("411621", None)


def test_changed_enterprises_are_rematched_without_the_whole_register(org, ents, settings, loads):
    settings.YINGSHANG_MATCH_SHARDS = SHARDS
    it = item(org)
    matching.run_item(it, "publish")
    ents[4].employees = 80
    ents[4].save()
    matching.run_enterprises([ents[4].pk])
    assert ents[4].pk in stored(it)["eligible"]
    assert all(prefix in SHARDS or ids == [ents[4].pk] for prefix, ids in loads)


def test_a_paying_item_in_shards_estimates_amounts_from_the_shard_registers_only(org, ents, settings, loads):
    """Redemption amounts come from each shard's own register: the whole register is never loaded."""
    from yingshang.policies.models import Redemption

    settings.YINGSHANG_MATCH_SHARDS = SHARDS
    paying = item(org, mode="auto", amount_formula="rd_expense * 0.1")
    matching.run_item(paying, "publish")
    amounts = dict(Redemption.objects.filter(item=paying).values_list("enterprise_id", "amount_estimated"))
    assert amounts and all(a == e.rd_expense * 1000 for e in ents if e.pk in amounts for a in [amounts[e.pk]])
    assert sorted({prefix for prefix, _ in loads}) == SHARDS
