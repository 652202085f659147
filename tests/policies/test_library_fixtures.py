"""Shared fixtures and helpers of the policy-library tests (imported by the test_library_* modules)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from yingshang.core.models import Role
from yingshang.policies import actions_library as actions
from yingshang.policies.models import ItemStatus, PolicyItem

RULE = {"all": [{"field": "employees", "op": ">=", "value": 10},
                {"field": "size", "op": "in", "value": ["small", "micro"]}]}


@pytest.fixture
def enqueued(monkeypatch):
    """Jobs queued through ``yingshang.jobs.enqueue`` (recorded, not run)."""
    calls: list[tuple] = []
    monkeypatch.setattr("yingshang.jobs.enqueue", lambda name, *args, **kw: calls.append((name, *args)))
    return calls


@pytest.fixture
def lib(org, enqueued):
    """org + a city document entered by the market bureau's policy officer, a second officer of the same
    bureau (``org.officer2``) and an officer of another department (``org.other_officer``)."""
    org.officer = org.users["policy_officer"]
    org.leader = org.users["dept_leader"]
    org.admin = org.users["admin"]
    org.officer2 = UserFactory(username="t_officer2", role=Role.POLICY_OFFICER, department=org.market)
    org.other_officer = UserFactory(username="t_fugou_officer", role=Role.POLICY_OFFICER, department=org.fugou_dept)
    org.doc = actions.do_create_document(org.officer, {
        "title": "周口市支持中小企业高质量发展若干政策", "doc_number": "周政〔2025〕12号", "issuers": "周口市人民政府",
        "region": org.city.code, "departments": [org.market.code], "published_on": "2025-03-01"})
    org.enqueued = enqueued
    return org


def item_data(**kw) -> dict:
    data = {"title": "研发费用加计扣除补贴", "benefit_type": "subsidy", "mode": "apply", "rule": RULE,
            "summary": "对研发投入较大的小微企业给予补贴", "keywords": "研发 创新", "budget": "500000",
            "materials": [{"name": "研发费用专项审计报告", "required": True}]}
    data.update(kw)
    return data


def make_item(org, status: str = ItemStatus.DRAFT, **kw) -> PolicyItem:
    """An item of ``org.doc`` brought to ``status`` through the real actions."""
    item = actions.do_create_item(org.officer, org.doc, item_data(**kw))
    if status in (ItemStatus.REVIEW, ItemStatus.PUBLISHED, ItemStatus.SUSPENDED, ItemStatus.EXPIRED):
        item = actions.do_submit_item(org.officer, item)
    if status in (ItemStatus.PUBLISHED, ItemStatus.SUSPENDED, ItemStatus.EXPIRED):
        item = actions.do_review_item(org.leader, item, True, "")
    if status == ItemStatus.SUSPENDED:
        item = actions.do_suspend_item(org.officer, item, "预算调整")
    if status == ItemStatus.EXPIRED:
        PolicyItem.objects.filter(pk=item.pk).update(window_end=timezone.localdate() - dt.timedelta(days=1))
        actions.do_expire_items()
    item.refresh_from_db()
    return item
