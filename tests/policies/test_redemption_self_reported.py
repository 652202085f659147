"""The 兑现 workbench flags redemptions whose amount or eligibility rests on figures the enterprise reported
itself (figure_sources[field].source == 企业自报), so the clerk verifies them before confirming."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.policies.test_redemption_support import make_enterprises, make_item, make_redemptions
from yingshang.policies import actions_redemption as reds

pytestmark = pytest.mark.django_db
FLAG = "含企业自报数据,请核实"


def page_for(org, item) -> str:
    c = Client()
    c.force_login(org.users["policy_officer"])
    return c.get("/policies/redemption/", {"item": item.pk}).content.decode()


def with_sources(ent, **sources):
    ent.figure_sources = {k: {"source": v, "as_of": "2025-01-01"} for k, v in sources.items()}
    ent.save(update_fields=["figure_sources"])
    return ent


def test_the_figures_of_formula_and_rule_are_found():
    item = type("I", (), {"amount_formula": "min(rd_expense * 0.1, 补贴上限)",
                          "rule": {"all": [{"field": "employees", "op": "<=", "value": 300},
                                           {"field": "rd_ratio", "op": ">=", "value": 0.03}]}})()
    assert reds.item_figures(item) == {"rd_expense", "employees", "operating_revenue"}


def test_self_reported_figures_are_flagged_in_the_workbench(org):
    item = make_item(org, amount_formula="employees * 100")
    own, checked = make_enterprises(2)
    with_sources(own, employees="企业自报")
    with_sources(checked, employees="统计局年报")
    make_redemptions(item, [own, checked], ["100", "100"])
    html = page_for(org, item)
    assert html.count(FLAG) == 1
    row_of_own = html[html.index(own.uscc):]
    assert row_of_own.index(FLAG) < row_of_own.index(checked.uscc)  # the flag sits on the right row


def test_self_reported_figures_the_item_does_not_use_are_not_flagged(org):
    item = make_item(org, amount_formula="employees * 100", rule={})
    ent = with_sources(make_enterprises(1)[0], rd_expense="企业自报")
    make_redemptions(item, [ent], ["100"])
    assert FLAG not in page_for(org, item)
