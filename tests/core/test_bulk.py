"""Bulk writes: update_rows writes the named fields of many rows, and nothing else."""
from __future__ import annotations

import pytest

from yingshang.core.bulk import update_rows
from yingshang.core.models import Department

pytestmark = pytest.mark.django_db


def test_update_rows_writes_only_the_named_fields(org):
    depts = list(Department.objects.order_by("pk")[:3])
    for i, d in enumerate(depts):
        d.short_name, d.name = f"简称{i}", "不应写入"
    update_rows(depts, ["short_name"])
    stored = list(Department.objects.filter(pk__in=[d.pk for d in depts]).order_by("pk"))
    assert [d.short_name for d in stored] == ["简称0", "简称1", "简称2"]
    assert all(d.name != "不应写入" for d in stored)
    update_rows([], ["short_name"])  # nothing to do is not an error
