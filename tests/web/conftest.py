"""Fixtures for the web UI tests: the shared organisation plus a small register across two counties."""
from __future__ import annotations

import itertools

import pytest

from tests.factories import EnterpriseFactory
from yingshang.enterprises.uscc import make_uscc

# tests.factories.fresh_uscc truncates its serial to 8 characters and repeats after 10 codes,
# so this package numbers its own enterprises.
_serial = itertools.count(1)


def uscc(region: str = "411602") -> str:
    """A valid USCC unique within the test session."""
    return make_uscc("9", "1", region, f"WB{next(_serial):06d}")


@pytest.fixture
def register(org):
    """org + 25 enterprises in 川汇区 (its street included) and 7 in 扶沟县; returns org with
    ``org.chuanhui_ents`` / ``org.fugou_ents`` (oldest first)."""
    org.chuanhui_ents = [org.enterprise] + [
        EnterpriseFactory(uscc=uscc(), region=org.street if i % 3 == 0 else org.chuanhui,
                          name=f"川汇测试企业{i:02d}")
        for i in range(24)]
    org.fugou_ents = [EnterpriseFactory(uscc=uscc("411621"), region=org.fugou, name=f"扶沟测试企业{i}", industry_code="5211",
                                        employees=5, operating_revenue=50) for i in range(7)]
    return org


def login(client, user) -> None:
    assert client.login(username=user.username, password="pass-1234")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The home-page counts and filter options are cached; every test starts without them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
