"""Fixes from the final review: items not in force are neither matched nor pushed, free text reaching
enterprises is redacted, a clerk's cancellation cannot be disguised as the system's, and a confirmed claim
loses its "no longer eligible" flag when the enterprise qualifies again."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.policies.test_matching_fixtures import _fresh_engine_caches, document, enterprise, item  # noqa: F401
from tests.policies.test_redemption_actions import officer
from tests.policies.test_redemption_support import fixed_estimate, make_enterprises, make_item  # noqa: F401
from yingshang.policies import actions_redemption as reds, matching, push
from yingshang.policies.models import PolicyPush, Redemption, RedemptionStatus as RS

pytestmark = pytest.mark.django_db


def test_an_item_whose_document_is_not_yet_in_force_is_neither_matched_nor_pushed(org):
    doc = document(org)
    doc.effective_from = timezone.localdate() + dt.timedelta(days=30)
    doc.save()
    enterprise(org.chuanhui, employees=50)
    it = item(org, doc=doc, rule={}, mode="auto", amount_formula="1000")
    matching.run_item(it, "publish")
    assert not PolicyPush.objects.filter(item=it).exists()
    assert not Redemption.objects.filter(item=it).exists()
    later = timezone.localdate() + dt.timedelta(days=31)
    matching.run_all(later)  # the daily match on a date the document is in force
    assert PolicyPush.objects.filter(item=it).exists()


def test_benefit_notes_reaching_enterprises_are_redacted(org):
    it = item(org, amount_note="减按15%征收,咨询联系人:张三 13812345678")
    body = push.body_text(it, None)
    assert "13812345678" not in body and "张三" not in body and "减按15%" in body


def test_a_clerk_cannot_mark_a_cancellation_as_the_systems(org):
    it = make_item(org, budget="1000")
    ent, = make_enterprises(1)
    reds.do_create_redemptions(it, [ent.pk])
    row = Redemption.objects.get(item=it)
    reds.do_cancel_redemption(officer(org), row, reds.AUTO_CANCEL_MARK + "企业主动放弃")
    assert reds.do_create_redemptions(it, [ent.pk]) == 0
    assert Redemption.objects.get(pk=row.pk).status == RS.CANCELLED


def test_a_confirmed_claim_loses_the_ineligible_flag_when_the_enterprise_qualifies_again(org, fixed_estimate):
    it = make_item(org, budget="100000", amount_formula="1000")
    ent, = make_enterprises(1)
    reds.do_create_redemptions(it, [ent.pk])
    row = Redemption.objects.get(item=it)
    reds.do_confirm_redemptions(officer(org), it, [row.pk])
    reds.do_cancel_ineligible_redemptions(it, [ent.pk], "企业已迁出")
    assert reds.INELIGIBLE_FLAG in Redemption.objects.get(pk=row.pk).note
    reds.do_create_redemptions(it, [ent.pk])
    row = Redemption.objects.get(pk=row.pk)
    assert row.status == RS.CONFIRMED and row.note == ""
