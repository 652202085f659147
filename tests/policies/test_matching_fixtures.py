"""Shared builders for the matching, push and calculator tests (no tests here)."""
from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import EnterpriseFactory, RegionFactory, UserFactory
from yingshang.core.models import RegionLevel, Role
from yingshang.enterprises.uscc import make_uscc
from yingshang.policies.models import ItemStatus, PolicyDocument, PolicyItem

_serial = itertools.count(1)

# Employees ≤ 100 and R&D expense ≥ 50 万元.
RULE = {"all": [{"field": "employees", "op": "<=", "value": 100},
                {"field": "rd_expense", "op": ">=", "value": 50}]}


def uscc(region: str = "411602") -> str:
    return make_uscc("9", "1", region, f"MM{next(_serial):06d}")


def enterprise(region, **figures):
    return EnterpriseFactory(uscc=uscc(region.code), region=region, **figures)


def document(org, region="city") -> PolicyDocument:
    region = getattr(org, region) if isinstance(region, str) else region
    return PolicyDocument.objects.create(title="周口市支持科技创新若干措施", issuers="周口市人民政府", region=region,
                                         created_by=org.users["policy_officer"])


def item(org, doc=None, rule=None, **kw) -> PolicyItem:
    n = next(_serial)
    data = {"code": f"T-{n:05d}", "title": f"测试政策事项{n}", "benefit_type": "subsidy", "mode": "apply",
            "status": ItemStatus.PUBLISHED, "department": org.market, "created_by": org.users["policy_officer"],
            "published_at": timezone.now(), "rule": RULE if rule is None else rule}
    data.update(kw)
    return PolicyItem.objects.create(document=doc or document(org), **data)


def enterprise_user(ent, phone: str = "13800000000", email: str = "") -> object:
    n = next(_serial)
    return UserFactory(username=f"ent_user_{n}", role=Role.ENTERPRISE, enterprise=ent, phone=phone, email=email)


def zhengzhou(org):
    """A county outside 周口市 (in 郑州市)."""
    city = RegionFactory(code="410100", name="郑州市", level=RegionLevel.CITY, parent=org.province)
    return RegionFactory(code="410102", name="中原区", level=RegionLevel.COUNTY, parent=city)


def money(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture(autouse=True)
def _fresh_engine_caches():
    """Compiled rules and the columnar register are cached per process; rolled-back tests reuse ids."""
    from yingshang.policies import matching

    matching._rule_cache.clear()
    matching.reset_shard_registers()
    _reset_register()
    yield
    _reset_register()
    matching.reset_shard_registers()


def _reset_register() -> None:
    try:
        from yingshang.policies import engine_db
    except ImportError:
        return
    for name in ("reset_cache", "reset_register", "reset"):
        fn = getattr(engine_db, name, None)
        if callable(fn):
            fn()
            return
