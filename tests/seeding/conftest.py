"""Fixtures for the seeding tests: a database seeded with the small data set."""
from __future__ import annotations

import pytest

SMALL_SEED = 7


@pytest.fixture
def seeded(db):
    """The small synthetic data set (≈2,000 enterprises) written into the test database."""
    from yingshang.seeding.run import seed

    return seed("small", SMALL_SEED, appeals=False)  # the appeal history has its own tests (tests/appeals)
