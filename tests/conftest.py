"""Shared fixtures: a small organisation (city, counties, departments) and one user per role."""
from __future__ import annotations

import pytest

from tests.factories import build_org


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    """The working-day calendar is cached per process; a notice entered in a rolled-back test must
    not leak into the next one."""
    from yingshang.workcal.calendar import reset_cache

    reset_cache()
    yield
    reset_cache()


@pytest.fixture
def org(db):
    """A demo-like organisation: 周口市 with two counties and streets, departments, users per role."""
    return build_org()


@pytest.fixture
def api_client():
    from django.test import Client

    return Client()
