"""GET /api/v1/appeal-kpis and /appeal-kpis/cases: the same figures as kpis.compute, scoped by role."""
from __future__ import annotations

import pytest

from tests.appeals.test_kpis import cases  # noqa: F401  (the hand-counted fixture)
from yingshang.appeals import kpis

pytestmark = pytest.mark.django_db


def test_dispatcher_gets_the_department_figures(client, org, cases):  # noqa: F811
    client.force_login(org.users["dispatcher"])
    answer = client.get("/api/v1/appeal-kpis", {"period": "2025-10", "group_by": "department"})
    assert answer.status_code == 200
    rows = {r["key"]: r for r in answer.json()["rows"]}
    assert rows == {r.key: r.as_dict() for r in kpis.compute("2025-10", "department", prefix="4116")}


def test_department_leader_sees_only_their_department(client, org, cases):  # noqa: F811
    leader = org.users["dept_leader"]
    client.force_login(leader)
    rows = client.get("/api/v1/appeal-kpis", {"period": "2025-10"}).json()["rows"]
    assert [r["key"] for r in rows] == [leader.department.code]
    assert client.get("/api/v1/appeal-kpis", {"period": "2025-10", "group_by": "region"}).status_code == 400


def test_cases_behind_a_figure_and_bad_input(client, org, cases):  # noqa: F811
    client.force_login(org.users["dispatcher"])
    answer = client.get("/api/v1/appeal-kpis/cases", {"period": "2025-10", "key": "SCJG", "kpi": "sign"})
    assert answer.status_code == 200 and answer.json()["count"] > 0
    bad = client.get("/api/v1/appeal-kpis/cases", {"period": "2025-10", "key": "SCJG", "kpi": "nonsense"})
    assert bad.status_code == 400 and "kpi" in bad.json()["error"]["fields"]
    assert client.get("/api/v1/appeal-kpis", {"period": "2025-13"}).status_code == 400


def test_enterprises_and_anonymous_may_not_read_kpis(client, org, cases):  # noqa: F811
    assert client.get("/api/v1/appeal-kpis", {"period": "2025-10"}).status_code in (401, 403)
    client.force_login(org.users["enterprise"])
    assert client.get("/api/v1/appeal-kpis", {"period": "2025-10"}).status_code == 403
