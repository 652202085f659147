"""matching.py: stored results of one item / all items / changed enterprises, shards, preview, item lists."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.policies.test_matching_fixtures import (  # noqa: F401  (autouse fixture)
    RULE,
    _fresh_engine_caches,
    document,
    enterprise,
    enterprise_user,
    item,
    zhengzhou,
)
from yingshang.core.models import Notification
from yingshang.enterprises.actions import do_update_enterprise
from yingshang.policies import matching
from yingshang.policies.models import MatchResult, MatchRun, PolicyPush, Redemption

pytestmark = pytest.mark.django_db


def ids(item_, status):
    found, _ = matching.matched_ids(item_, status)
    return set(found.tolist())


@pytest.fixture
def register(org):
    """A hand-checked register against RULE (employees ≤ 100 and R&D ≥ 50 万元, document region 周口市)."""
    c = org.chuanhui
    return {
        "a": enterprise(c, employees=50, rd_expense=60),  # both true → eligible
        "b": enterprise(c, employees=50, rd_expense=10),  # R&D false → near miss
        "c": enterprise(org.fugou, employees=500, rd_expense=10),  # two false → ineligible
        "d": enterprise(c, employees=500, rd_expense=None),  # false and unknown → ineligible
        "e": enterprise(zhengzhou(org), employees=50, rd_expense=60),  # outside the document's region
        "f": enterprise(c, employees=50, rd_expense=60, status="revoked"),  # not 存续
        "g": enterprise(org.fugou, employees=None, rd_expense=70),  # unknown
    }


def test_run_item_stores_the_hand_checked_ids(org, register):
    it = item(org)
    run = matching.run_item(it, "publish")
    r = register
    assert ids(it, "eligible") == {r["a"].pk}
    assert ids(it, "near_miss") == {r["b"].pk}
    # org.enterprise has no R&D figure: unknown like g.
    assert ids(it, "unknown") == {r["g"].pk, org.enterprise.pk}
    result = MatchResult.objects.get(item=it, shard="")
    assert (result.eligible_count, result.near_miss_count, result.unknown_count) == (1, 1, 2)
    assert result.revision == it.revision and result.breakdown["county"]["411602"]["eligible"] == 1
    run.refresh_from_db()
    assert run.shards_done == run.shards_total == 1 and run.finished_at is not None


def test_outside_the_document_region_is_never_a_near_miss(org, register):
    rule = {"all": [{"field": "employees", "op": "<=", "value": 100}, {"field": "rd_expense", "op": ">=", "value": 65}]}
    it = item(org, rule=rule)
    matching.run_item(it, "publish")
    # a (R&D 60) is one condition away; e (R&D 60) would be too, but lies outside 周口市.
    assert register["a"].pk in ids(it, "near_miss") and register["e"].pk not in ids(it, "near_miss")
    nationwide = item(org, doc=document(org, region=None), rule=rule)
    matching.run_item(nationwide, "publish")
    assert register["e"].pk in ids(nationwide, "near_miss")


def test_first_run_pushes_the_eligible_and_a_rerun_pushes_nothing(org, register):
    user = enterprise_user(register["a"])
    it = item(org)
    matching.run_item(it, "publish")
    assert list(PolicyPush.objects.filter(item=it).values_list("enterprise_id", "reason")) == [(register["a"].pk, "publish")]
    assert Notification.objects.filter(user=user, key=f"policy:{it.pk}:{user.pk}").count() == 1
    before = (PolicyPush.objects.count(), Notification.objects.count())
    matching.run_item(it, "change")
    matching.run_all()
    assert (PolicyPush.objects.count(), Notification.objects.count()) == before


def test_an_enterprise_that_newly_qualifies_after_a_figure_change_gets_exactly_one_push(
        org, register, django_capture_on_commit_callbacks):
    import yingshang.policies.jobs  # noqa: F401  (job discovery imports it in workers, the URLconf in the web)

    it = item(org)
    matching.run_item(it, "publish")
    b = register["b"]
    user = enterprise_user(b)
    with django_capture_on_commit_callbacks(execute=True):  # enterprises_changed → policies.match_enterprises
        do_update_enterprise(org.users["dispatcher"], b, {"rd_expense": "80"})
    assert b.pk in ids(it, "eligible") and b.pk not in ids(it, "near_miss")
    assert list(PolicyPush.objects.filter(item=it, enterprise=b).values_list("reason", flat=True)) == ["qualify"]
    assert Notification.objects.filter(user=user).count() == 1
    matching.run_enterprises([b.pk])
    matching.run_all()
    assert PolicyPush.objects.filter(item=it, enterprise=b).count() == 1
    assert Notification.objects.filter(user=user).count() == 1


def test_run_enterprises_moves_ids_between_the_stored_sets(org, register):
    it = item(org)
    matching.run_item(it, "publish")
    a, g = register["a"], register["g"]
    a.employees = 400  # a: eligible → near miss (only the employee limit fails)
    a.save()
    g.employees = 20  # g: unknown → eligible
    g.save()
    matching.run_enterprises([a.pk, g.pk])
    assert ids(it, "eligible") == {g.pk}
    assert ids(it, "near_miss") == {a.pk, register["b"].pk} and ids(it, "unknown") == {org.enterprise.pk}
    result = MatchResult.objects.get(item=it)
    assert (result.eligible_count, result.near_miss_count, result.unknown_count) == (1, 2, 1)
    assert MatchRun.objects.filter(kind="enterprises").count() == 1


def test_run_all_matches_every_published_item(org, register):
    first, second = item(org), item(org, rule={"field": "employees", "op": ">=", "value": 400})
    draft = item(org, status="draft")
    run = matching.run_all()
    assert ids(first, "eligible") == {register["a"].pk}
    assert ids(second, "eligible") == {register["c"].pk, register["d"].pk}
    assert not MatchResult.objects.filter(item=draft).exists()
    run.refresh_from_db()
    assert run.kind == "full" and run.stats["全部"]["items"] == 2


def test_shards_store_one_result_each_and_lists_join_them(org, register, settings):
    settings.YINGSHANG_MATCH_SHARDS = ["411602", "411621"]
    it = item(org)
    matching.run_item(it, "publish")
    shards = dict(MatchResult.objects.filter(item=it).values_list("shard", "unknown_count"))
    assert shards == {"411602": 1, "411621": 1}  # org.enterprise in 川汇区, g in 扶沟县
    assert ids(it, "unknown") == {register["g"].pk, org.enterprise.pk}
    assert PolicyPush.objects.filter(item=it).count() == 1
    run = MatchRun.objects.get(item=it)
    assert run.shards_done == 2 and run.finished_at is not None


def test_auto_items_create_redemptions_for_the_newly_eligible(org, register):
    it = item(org, mode="auto", amount_formula="rd_expense * 100", amount_cap=Decimal("5000"))
    matching.run_item(it, "publish")
    matching.run_item(it, "change")
    assert list(Redemption.objects.filter(item=it).values_list("enterprise_id", flat=True)) == [register["a"].pk]


def test_preview_counts_before_publishing(org, register):
    out = matching.preview(RULE, {}, region_prefix="4116")
    assert out["counts"]["eligible"] == 1 and out["counts"]["near_miss"] == 1 and out["counts"]["unknown"] == 2
    everywhere = matching.preview(RULE, {})
    assert everywhere["counts"]["eligible"] == 2  # e (郑州) counts without a region
    assert everywhere["breakdown"]["county"]["410102"]["eligible"] == 1


def test_preview_rejects_a_bad_rule_with_its_position(org):
    from yingshang.policies.engine.rules import RuleError

    with pytest.raises(RuleError) as exc:
        matching.preview({"all": [{"field": "employees", "op": ">=", "value": 1}, {"field": "nope", "op": "==",
                                                                                   "value": 1}]}, {})
    assert exc.value.path == "条件 2" and "未知字段" in exc.value.message


def test_item_matches_pages_and_filters_by_region(org, register):
    it = item(org, rule={"field": "rd_expense", "op": ">=", "value": 5})
    matching.run_item(it, "publish")
    rows, total = matching.item_matches(it, "eligible", "", page=1, per_page=2)
    expected = sorted(e.pk for k, e in register.items() if k in "abcg")  # d has no R&D, e outside, f revoked
    assert total == 4 and [r["enterprise"].pk for r in rows] == expected[:2]
    rows2, _ = matching.item_matches(it, "eligible", "", page=2, per_page=2)
    assert [r["enterprise"].pk for r in rows2] == expected[2:]
    fugou, n = matching.item_matches(it, "eligible", "411621")
    assert n == 2 and {r["uscc"] for r in fugou} == {register["c"].uscc, register["g"].uscc}
    assert all(r["reasons"] and r["reasons"][0]["truth"] == "true" for r in fugou)


def test_item_matches_rejects_an_unknown_status(org):
    from yingshang.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        matching.item_matches(item(org), "maybe")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_push_once_per_pair(org):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (DATABASE_URL)")
    ents = [enterprise(org.chuanhui, employees=10, rd_expense=60 + i) for i in range(30)]
    users = [enterprise_user(e) for e in ents]
    it = item(org)
    barrier, errors = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            matching.run_item(it.pk, "publish")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert PolicyPush.objects.filter(item=it).count() == 30
    assert all(Notification.objects.filter(user=u).count() == 1 for u in users)
    assert MatchResult.objects.get(item=it).eligible_count == 30


def test_the_url_configuration_connects_the_receiver():
    import yingshang.policies.views_matching  # noqa: F401  (imported by policies/urls_matching.py)
    from yingshang.enterprises.hooks import enterprises_changed
    from yingshang.policies import jobs

    receivers = [r for r in enterprises_changed._live_receivers(None)[0]]
    assert jobs._on_enterprises_changed in receivers


def test_a_large_change_queues_a_full_match_instead_of_rows(monkeypatch):
    from yingshang import jobs as job_runner
    from yingshang.policies import jobs

    queued = []
    monkeypatch.setattr(job_runner, "enqueue", lambda name, *args: queued.append((name, len(args[0]) if args else 0)))
    jobs._on_enterprises_changed(None, ids=list(range(jobs.ROW_LIMIT + 1)))
    jobs._on_enterprises_changed(None, ids=[1, 2])
    assert queued == [("policies.match_all", 0), ("policies.match_enterprises", 2)]


def test_publishing_through_review_matches_and_pushes_after_commit(org, register, django_capture_on_commit_callbacks):
    from yingshang.policies import actions_library

    user = enterprise_user(register["a"])
    it = item(org, status="draft")
    actions_library.do_submit_item(org.users["policy_officer"], it)
    with django_capture_on_commit_callbacks(execute=True):  # the approval queues policies.match_item on commit
        actions_library.do_review_item(org.users["dept_leader"], it, True)
    assert ids(it, "eligible") == {register["a"].pk}
    assert Notification.objects.filter(user=user, key=f"policy:{it.pk}:{user.pk}").exists()


def test_jobs_run_the_matcher(org, register):
    from yingshang import jobs

    it = item(org)
    jobs.run_now("policies.match_item", it.pk, "publish")
    assert ids(it, "eligible") == {register["a"].pk}
    jobs.run_now("policies.match_all")
    jobs.run_now("policies.match_enterprises", [register["a"].pk])
    assert PolicyPush.objects.filter(item=it).count() == 1
    assert jobs.run_now("policies.deliver_deferred_pushes") == 0


def test_unpublished_items_are_not_matched(org, register):
    it = item(org, status="suspended")
    assert matching.run_item(it, "change") is None and not MatchResult.objects.filter(item=it).exists()
