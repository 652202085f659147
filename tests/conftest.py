"""Shared fixtures: a small organisation (city, counties, departments) and one user per role."""
from __future__ import annotations

import pytest

from tests.factories import build_org


@pytest.fixture
def org(db):
    """A demo-like organisation: 周口市 with two counties and streets, departments, users per role."""
    return build_org()


@pytest.fixture
def api_client():
    from django.test import Client

    return Client()
