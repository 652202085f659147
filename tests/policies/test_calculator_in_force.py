"""The 政策计算器 and its API list only items whose document is in force on the evaluation date; items
whose application window has closed stay listed, marked 申报已截止, after the open ones."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.policies.test_calculator import call  # noqa: F401  (fixture)
from tests.policies.test_matching_fixtures import (  # noqa: F401  (autouse fixture)
    _fresh_engine_caches,
    document,
    enterprise,
    enterprise_user,
    item,
)
from yingshang.policies import matching

pytestmark = pytest.mark.django_db
OPEN_RULE = {"field": "employees", "op": ">=", "value": 1}


@pytest.fixture
def only_2025(org):
    """A document in force only in 2025, with one item every enterprise qualifies for."""
    doc = document(org)
    doc.effective_from, doc.expires_on = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    doc.save()
    return item(org, doc=doc, rule=OPEN_RULE, title="仅2025年有效事项")


@pytest.fixture
def ent(org):
    return enterprise(org.chuanhui, employees=20, operating_revenue=500)


def listed(calc) -> list[str]:
    return [e.item.title for e in calc.eligible + calc.near_miss + calc.unknown]


@pytest.mark.parametrize("day,shown", [("2024-12-31", False), ("2025-01-01", True), ("2025-06-30", True),
                                       ("2025-12-31", True), ("2026-01-01", False), ("1900-01-01", False),
                                       ("2030-12-31", False)])
def test_only_documents_in_force_on_the_date_are_listed(only_2025, ent, day, shown):
    calc = matching.calculator(ent, dt.date.fromisoformat(day))
    assert ("仅2025年有效事项" in listed(calc)) is shown


def test_published_on_stands_in_when_effective_from_is_empty(org, ent):
    doc = document(org)
    doc.published_on = dt.date(2025, 3, 1)
    doc.save()
    item(org, doc=doc, rule=OPEN_RULE, title="按发布日期生效")
    assert "按发布日期生效" not in listed(matching.calculator(ent, dt.date(2025, 2, 28)))
    assert "按发布日期生效" in listed(matching.calculator(ent, dt.date(2025, 3, 1)))


def test_the_api_filters_by_as_of_too(org, only_2025, ent, call):  # noqa: F811
    user = enterprise_user(ent)
    inside = call("get", f"/enterprises/{ent.uscc}/policies", user, as_of="2025-06-30").json()
    outside = call("get", f"/enterprises/{ent.uscc}/policies", user, as_of="2026-06-30").json()
    assert only_2025.pk in [e["id"] for e in inside["eligible"]]
    assert only_2025.pk not in [e["id"] for k in ("eligible", "near_miss", "unknown") for e in outside[k]]


def test_closed_windows_are_kept_marked_and_ranked_after_open_ones(org, ent):
    closed = item(org, rule=OPEN_RULE, title="已截止大额", amount_formula="900000", window_end=dt.date(2025, 3, 1))
    opened = item(org, rule=OPEN_RULE, title="申报中小额", amount_formula="100", window_end=dt.date(2025, 12, 31))
    later = item(org, rule=OPEN_RULE, title="未开始", amount_formula="50", window_start=dt.date(2025, 9, 1))
    calc = matching.calculator(ent, dt.date(2025, 6, 1))
    mine = [e for e in calc.eligible if e.item.pk in (closed.pk, opened.pk, later.pk)]
    assert [(e.item.title, e.window) for e in mine] == [("申报中小额", "open"), ("未开始", "not_yet"),
                                                        ("已截止大额", "closed")]
    assert mine[-1].window_label == "申报已截止"
    assert calc.total == sum((e.amount for e in calc.eligible if e.window != "closed" and e.amount), Decimal(0))
    assert calc.total < Decimal("900000")


def test_the_page_marks_closed_windows(org, ent, client):
    item(org, rule=OPEN_RULE, title="已截止事项", amount_formula="2000000", window_end=dt.date(2025, 3, 1))
    client.force_login(enterprise_user(ent))
    page = client.get(f"/policies/calculator/{ent.uscc}/", {"as_of": "2025-06-01"}).content.decode()
    assert "已截止事项" in page and "申报已截止" in page and "2,000,000.00 元" in page
