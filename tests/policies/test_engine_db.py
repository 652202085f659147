"""Loading the columnar register and one enterprise's facts from the database (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import EnterpriseFactory
from yingshang.enterprises.models import Certification, CreditListing, EnterpriseTag, Tag
from yingshang.policies import engine_db
from yingshang.policies.engine import columnar, register, rules

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(autouse=True)
def _fresh_register_cache():
    engine_db.reset_cache()
    yield
    engine_db.reset_cache()


@pytest.fixture
def three(org):
    """Three enterprises in two counties with figures at 4 decimals, missing values, tags, certs, credit."""
    a = EnterpriseFactory(region=org.chuanhui, industry_code="3311", employees=120,
                          registered_capital=Decimal("123456789.1234"), operating_revenue=Decimal("1000.0001"),
                          rd_expense=Decimal("30.0000"), taxable_income=None, total_assets=Decimal("0.0001"),
                          established_on=dt.date(2020, 2, 29), tax_credit_rating="A", taxpayer_kind="general")
    b = EnterpriseFactory(region=org.fugou, industry_code="6510", employees=None, operating_revenue=None,
                          total_assets=None, established_on=None, legal_form="partnership")
    c = EnterpriseFactory(region=org.street, industry_code="F", status="cancelled", employees=3)
    tag = Tag.objects.create(code="gazelle", name="瞪羚企业")
    EnterpriseTag.objects.create(enterprise=a, tag=tag)
    Certification.objects.create(enterprise=a, kind="high_tech", valid_from=dt.date(2023, 1, 1),
                                 valid_to=dt.date(2025, 6, 30))
    Certification.objects.create(enterprise=b, kind="tech_sme", valid_from=None, valid_to=None)
    CreditListing.objects.create(enterprise=b, kind="serious_dishonest", listed_on=dt.date(2024, 1, 1),
                                 removed_on=dt.date(2025, 6, 30))
    return a, b, c


def _row(reg, enterprise) -> int:
    return int(reg.rows_of([enterprise.pk])[0])


def test_register_loads_exact_figures_and_side_data(three):
    a, b, c = three
    reg = engine_db.load_register()
    ra, rb = _row(reg, a), _row(reg, b)
    assert reg.money["registered_capital"][ra] == 1234567891234  # 123456789.1234 万元 in units of 0.0001
    assert reg.money["operating_revenue"][ra] == 10000001 and reg.money["total_assets"][ra] == 1
    assert reg.money_null["taxable_income"][ra] and reg.money_null["operating_revenue"][rb]
    assert reg.employees_null[rb] and reg.employees[ra] == 120
    assert reg.established[ra] == dt.date(2020, 2, 29).toordinal() and reg.established_null[rb]
    assert not reg.active[_row(reg, c)] and reg.active[ra]
    assert reg.tags["gazelle"].tolist() == [ra]
    assert reg.certifications["tech_sme"].start[0] == register.OPEN_FROM
    assert reg.credit["serious_dishonest"].end[0] == dt.date(2025, 6, 30).toordinal()


def test_loaded_register_rows_equal_facts_for(three):
    reg = engine_db.load_register()
    for enterprise in three:
        enterprise.refresh_from_db()
        facts = engine_db.facts_for(enterprise)
        assert register.row_facts(reg, _row(reg, enterprise)) | {"status": facts["status"]} == facts


def test_region_prefix_limits_the_register(org, three):
    a, b, c = three
    assert engine_db.load_register("411602").ids.tolist() == sorted([org.enterprise.pk, a.pk, c.pk])
    assert engine_db.load_register("411621").ids.tolist() == [b.pk]


def test_columnar_on_loaded_register_matches_row_evaluator(three):
    from yingshang.policies.engine import row

    reg = engine_db.load_register()
    rule = {"any": [{"all": [{"field": "rd_ratio", "op": ">=", "value": 0.03},
                             {"field": "certification", "op": "has", "value": "high_tech"}]},
                    {"field": "serious_dishonest", "op": "==", "value": False},
                    {"field": "employees", "op": ">", "value": 100}]}
    compiled = rules.compile_rule(rule, None, AS_OF)
    match = columnar.Matcher(reg, AS_OF).match_one(compiled)
    for enterprise in three:
        enterprise.refresh_from_db()
        expected = row.evaluate(compiled, engine_db.facts_for(enterprise)).status.value
        assert enterprise.pk in match.ids(expected).tolist()


def test_current_register_picks_up_changes_incrementally(org, three):
    a, b, c = three
    first = engine_db.current_register()
    assert first.employees[_row(first, a)] == 120
    a.employees = 7
    a.updated_at = timezone.now()
    a.save()
    Certification.objects.create(enterprise=c, kind="little_giant", valid_to=dt.date(2030, 1, 1))
    fresh = engine_db.current_register()
    assert fresh.employees[_row(fresh, a)] == 7
    assert fresh.certifications["little_giant"].rows.tolist() == [_row(fresh, c)]
    assert len(fresh) == 4  # the three and org.enterprise, none duplicated


def test_enterprises_changed_signal_marks_rows_for_reload(three):
    from yingshang.enterprises.hooks import enterprises_changed

    a, b, c = three
    engine_db.current_register()
    Certification.objects.filter(enterprise=a).update(valid_to=dt.date(2024, 1, 1))  # no updated_at bump
    enterprises_changed.send(sender=None, ids=[a.pk])
    fresh = engine_db.current_register()
    d = fresh.certifications["high_tech"]
    assert d.end[d.rows == _row(fresh, a)].tolist() == [dt.date(2024, 1, 1).toordinal()]
