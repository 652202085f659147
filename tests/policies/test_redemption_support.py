"""Builders shared by the redemption, application and statistics tests (no tests here).

Items, redemptions and applications are created directly with the ORM so these tests do not depend on
the library's or the matcher's actions.
"""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import EnterpriseFactory, UserFactory
from yingshang.core.models import Role
from yingshang.enterprises.uscc import make_uscc
from yingshang.policies import actions_redemption as reds
from yingshang.policies.models import (AllocationRule, ItemStatus, Mode, PolicyDocument, PolicyItem, Redemption,
                                       RedemptionStatus)

_serial = itertools.count(1)
PDF = b"%PDF-1.4\n% test document\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def uscc(region: str = "411602") -> str:
    """A valid USCC unique within the test run."""
    return make_uscc("9", "1", region, f"RD{next(_serial):06d}")


def make_item(org, *, mode=Mode.AUTO, budget=None, allocation=AllocationRule.ORDER, department=None,
              materials=None, status=ItemStatus.PUBLISHED, published_at=None, **extra) -> PolicyItem:
    """A published item of ``org.market`` (by default) with its document."""
    author = org.users["policy_officer"]
    doc = PolicyDocument.objects.create(title="测试政策文件", issuers="周口市人民政府", created_by=author)
    n = next(_serial)
    return PolicyItem.objects.create(
        document=doc, code=f"RD-{n}", title=f"测试兑现事项{n}", benefit_type="subsidy", mode=mode, status=status,
        department=department or org.market, budget=None if budget is None else Decimal(budget),
        allocation=allocation, materials=materials or [], created_by=author,
        published_at=published_at or timezone.now(), **extra)


def make_enterprises(n: int, region=None, user: bool = False) -> list:
    """``n`` enterprises (in 川汇区 unless ``region``); with ``user`` each gets an enterprise user."""
    out = []
    for _ in range(n):
        kwargs = {"uscc": uscc(region.code[:6] if region else "411602")}
        if region is not None:
            kwargs["region"] = region
        ent = EnterpriseFactory(**kwargs)
        if user:
            UserFactory(username=f"ent_{ent.pk}", role=Role.ENTERPRISE, enterprise=ent)
        out.append(ent)
    return out


def make_redemptions(item, enterprises, amounts, status=RedemptionStatus.PENDING) -> list[Redemption]:
    """One redemption per enterprise with the given estimated amounts, in increasing eligibility time."""
    base = timezone.now() - dt.timedelta(days=1)
    return [Redemption.objects.create(item=item, enterprise=e, amount_estimated=Decimal(str(a)), status=status,
                                      eligible_at=base + dt.timedelta(seconds=i))
            for i, (e, a) in enumerate(zip(enterprises, amounts))]


def pdf(name: str = "材料.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def fixed_estimate(monkeypatch):
    """Replace the amount estimate (engine) with a table {enterprise id: Decimal}; default 1000.00."""
    table: dict[int, Decimal] = {}

    def fake(item, enterprise, as_of=None):
        return table.get(enterprise.pk, Decimal("1000.00"))

    monkeypatch.setattr(reds, "estimate_amount", fake)
    monkeypatch.setattr(reds, "estimate_amounts",
                        lambda item, ids, as_of=None: {i: table.get(i, Decimal("1000.00")) for i in ids})
    return table
