"""Computed tags: rule checking, evaluation (Python and SQL agree), bulk recompute, default tags, the job."""
import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import EnterpriseFactory
from tests.enterprises.conftest import fresh_uscc
from yingshang.enterprises import tags
from yingshang.enterprises.models import Certification, Enterprise, EnterpriseTag, Tag, TagKind
from yingshang.jobs import REGISTRY, discover, run_now

ON = dt.date(2025, 6, 30)


def ent(**kw):
    kw.setdefault("uscc", fresh_uscc())
    return EnterpriseFactory(**kw)


def holds(rule, e, on=ON):
    certs = set(e.certifications.values_list("kind", flat=True))
    python = tags.evaluate(rule, tags.facts(e, certs, on))
    sql = Enterprise.objects.filter(tags.rule_q(rule, on), pk=e.pk).exists()
    assert python == sql, (rule, python, sql)
    return python


@pytest.mark.parametrize("rule,reason", [
    ({"all": []}, "不能为空"),
    ({"some": [{"field": "employees", "op": ">", "value": 1}]}, "all"),
    ({"all": [{"field": "colour", "op": "==", "value": "red"}]}, "未知字段"),
    ({"all": [{"field": "employees", "op": "~", "value": 1}]}, "未知运算符"),
    ({"all": [{"field": "employees", "op": ">", "value": "many"}]}, "不是数字"),
    ({"all": [{"field": "size", "op": ">", "value": "small"}]}, "只能用"),
    ({"all": [{"field": "size", "op": "==", "value": "tiny"}]}, "无效"),
    ({"all": [{"field": "certification", "op": "in", "value": []}]}, "非空列表"),
    ({"all": [{"field": "age_years", "op": "<=", "value": 2.5}]}, "整数"),
])
def test_bad_rules(rule, reason):
    with pytest.raises(tags.RuleError) as info:
        tags.check_rule(rule)
    assert reason in str(info.value)


def test_default_tags_are_valid_rules(db):
    defaults = Tag.objects.filter(kind=TagKind.COMPUTED)
    assert {t.name for t in defaults} >= {"初创企业", "研发投入型", "小微企业", "高新技术企业", "专精特新", "纳税信用A级"}
    for tag in defaults:
        tags.check_rule(tag.rule)


@pytest.mark.parametrize("established,expected", [
    (dt.date(2021, 7, 1), True),    # age 3 (4th anniversary tomorrow)
    (dt.date(2021, 6, 30), False),  # 4 today
    (dt.date(2025, 6, 30), True),   # age 0
    (None, False),                  # unknown age never satisfies
])
def test_startup_age_boundary(org, established, expected):
    rule = Tag.objects.get(code="startup").rule
    assert holds(rule, ent(established_on=established)) is expected


def test_leap_day_anniversary(org):
    e = ent(established_on=dt.date(2020, 2, 29))
    rule = {"all": [{"field": "age_years", "op": ">=", "value": 1}]}
    assert holds(rule, e, on=dt.date(2021, 2, 28)) is False
    assert holds(rule, e, on=dt.date(2021, 3, 1)) is True


@pytest.mark.parametrize("rd,revenue,expected", [
    ("3", "100", True), ("2.9999", "100", False), ("0.0003", "0.01", True), ("5", "0", False), (None, "100", False),
    ("3", None, False),
])
def test_rd_ratio_boundary(org, rd, revenue, expected):
    rule = Tag.objects.get(code="rd_intensive").rule
    e = ent(rd_expense=Decimal(rd) if rd else None, operating_revenue=Decimal(revenue) if revenue else None)
    assert holds(rule, e) is expected


def test_missing_figure_never_satisfies_even_not_equal(org):
    e = ent(employees=None, tax_credit_rating="")
    assert holds({"all": [{"field": "employees", "op": "!=", "value": 5}]}, e) is False
    assert holds({"all": [{"field": "tax_credit_rating", "op": "!=", "value": "A"}]}, e) is False
    assert holds({"any": [{"field": "employees", "op": "<", "value": 5},
                          {"field": "certification", "op": "!=", "value": "high_tech"}]}, e) is True


def test_operators_agree_between_python_and_sql(org):
    e = ent(employees=50, industry_code="6513", tax_credit_rating="B", operating_revenue=Decimal("800"))
    Certification.objects.create(enterprise=e, kind="tech_sme")
    cases = [("employees", ">=", 50, True), ("employees", ">", 50, False), ("employees", "<", 51, True),
             ("employees", "in", [10, 50], True), ("employees", "!=", 50, False), ("size", "==", e.size, True),
             ("industry_section", "in", ["I", "C"], True), ("industry_section", "!=", "I", False),
             ("tax_credit_rating", "in", ["A", "B"], True), ("certification", "==", "tech_sme", True),
             ("certification", "in", ["high_tech"], False), ("operating_revenue", "<=", "800", True),
             ("age_years", "==", 0, False)]
    for field, op, value, expected in cases:
        assert holds({"all": [{"field": field, "op": op, "value": value}]}, e) is expected, (field, op, value)


def test_bulk_recompute_diffs_links(org):
    young = ent(established_on=dt.date(2024, 1, 1))
    old = ent(established_on=dt.date(2001, 1, 1))
    startup = Tag.objects.get(code="startup")
    EnterpriseTag.objects.create(enterprise=old, tag=startup)  # stale link
    report = tags.recompute_computed_tags(on=ON)
    assert set(EnterpriseTag.objects.filter(tag=startup).values_list("enterprise_id", flat=True)) >= {young.pk}
    assert not EnterpriseTag.objects.filter(tag=startup, enterprise=old).exists()
    assert report["startup"]["removed"] == 1
    again = tags.recompute_computed_tags(on=ON)
    assert all(v == {"added": 0, "removed": 0} for v in again.values())
    # A year later the young enterprise is still ≤ 3; five years later it is not.
    tags.recompute_computed_tags(on=dt.date(2029, 1, 1))
    assert not EnterpriseTag.objects.filter(tag=startup, enterprise=young).exists()


def test_manual_links_survive_recompute(org):
    manual = Tag.objects.create(code="visited", name="已走访", kind=TagKind.MANUAL)
    EnterpriseTag.objects.create(enterprise=org.enterprise, tag=manual)
    tags.recompute_computed_tags(on=ON)
    assert EnterpriseTag.objects.filter(tag=manual, enterprise=org.enterprise).exists()


def test_daily_job_is_registered_and_runs(org):
    discover()
    entry = REGISTRY["enterprises.recompute_computed_tags"]
    assert entry.every == 86400
    e = ent(tax_credit_rating="A")
    EnterpriseTag.objects.filter(enterprise=e).delete()
    run_now("enterprises.recompute_computed_tags")
    assert EnterpriseTag.objects.filter(enterprise=e, tag__code="tax_a").exists()
