"""Pagination of the pool and the board: the page's rows in order, the total counted up to a cap."""
from __future__ import annotations

import pytest

from tests.appeals.support_actions import submitted
from yingshang.appeals import queries
from yingshang.appeals.models import Appeal

pytestmark = pytest.mark.django_db


def test_a_page_keeps_the_order_and_counts_up_to_the_cap(org, monkeypatch):
    made = [submitted(org, title=f"第{i}件") for i in range(5)]
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    qs = Appeal.objects.order_by("-created_at", "-id").select_related("region")
    first = queries.page_of(qs, 1, lambda a: a.pk, per_page=2)
    assert first["items"] == [made[4].pk, made[3].pk]
    assert first["total"] == 3 and first["total_capped"] and first["pages"] == 2
    monkeypatch.setattr(queries, "COUNT_CAP", 10)
    third = queries.page_of(qs, 3, lambda a: a.pk, per_page=2)
    assert third["items"] == [made[0].pk] and third["total"] == 5 and not third["total_capped"]


@pytest.mark.parametrize("raw, page", [("2", 2), ("", 1), ("0", 1), ("-3", 1), ("abc", 1), ("99999999", 1),
                                       ("5000", 2000)])
def test_page_numbers_from_a_query_string(raw, page):
    assert queries.page_number(raw) == page
