"""The shipped policy content: every item valid in the rule language, real national policies with their
citations, local demo items with the features the demo needs, and hand-checked eligibility."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from yingshang.policies.content import LOCAL, NATIONAL

rules = pytest.importorskip("yingshang.policies.engine.rules", reason="规则引擎(engine-lang)尚未提供 rules.py")
row = pytest.importorskip("yingshang.policies.engine.row", reason="规则引擎(engine-lang)尚未提供 row.py")
amounts = pytest.importorskip("yingshang.policies.engine.amounts", reason="规则引擎(engine-lang)尚未提供 amounts.py")

TODAY = dt.date(2026, 11, 22)  # the demo's "today" the windows of local.json are set against
DOC_NUMBER = re.compile(r"(〔\d{4}〕\d+号|公告\d{4}年第\d+号|令第[\d一二三四五六七八九十百零]+号)")


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def items_of(data):
    return [(doc, item) for doc in data["documents"] for item in doc["items"]]


NATIONAL_ITEMS = items_of(load(NATIONAL))
LOCAL_ITEMS = items_of(load(LOCAL))
ALL_ITEMS = NATIONAL_ITEMS + LOCAL_ITEMS
BY_CODE = {item["code"]: item for _, item in ALL_ITEMS}


def facts(**values):
    """Facts of an active limited company in 川汇区 (manufacturing) with the given figures."""
    base = {"id": 1, "status": "active", "employees": None, "registered_capital": None, "operating_revenue": None,
            "total_assets": None, "rd_expense": None, "taxable_income": None, "established_on": None, "size": None,
            "tax_credit_rating": None, "taxpayer_kind": None, "legal_form": "llc", "region": "411602",
            "industry": "3311", "tags": frozenset(), "certifications": {}, "credit": ()}
    for key, value in values.items():
        base[key] = Decimal(str(value)) if isinstance(value, (int, float)) and key not in ("employees", "id") else value
    return base


def evaluate(code, on, **values):
    item = BY_CODE[code]
    return row.evaluate(rules.compile_rule(item["rule"], item.get("params") or {}, on), facts(**values))


def estimate(code, on, **values):
    item = BY_CODE[code]
    floor = item.get("amount_floor")
    cap = item.get("amount_cap")
    return amounts.estimate(item.get("amount_formula", ""), None if floor is None else Decimal(str(floor)),
                            None if cap is None else Decimal(str(cap)), facts(**values), item.get("params") or {}, on)


# ---------------------------------------------------------------- every item is valid
@pytest.mark.parametrize("code", sorted(BY_CODE))
def test_every_item_passes_the_engine_checks(code):
    item = BY_CODE[code]
    rules.check_params(item.get("params") or {})
    rules.check_rule(item["rule"], item.get("params") or {})
    amounts.check_formula(item.get("amount_formula", ""), item.get("params") or {})
    rules.compile_rule(item["rule"], item.get("params") or {}, TODAY)


def test_item_codes_are_unique_across_both_files():
    codes = [item["code"] for _, item in ALL_ITEMS]
    assert len(codes) == len(set(codes))


# ---------------------------------------------------------------- national content
def test_at_least_30_national_items_each_citing_its_clause_under_a_numbered_document():
    assert len(NATIONAL_ITEMS) >= 30
    for doc, item in NATIONAL_ITEMS:
        assert DOC_NUMBER.search(doc["doc_number"]), doc["doc_number"]
        assert doc["issuers"] and doc["title"]
        assert len(item["clause"]) >= 20, item["code"]
        assert re.search(r"第[一二三四五六七八九十百]+条|第[((][一二三四五六七八九十]+[))]项", item["clause"]) \
            or doc["doc_number"].startswith("财金"), item["code"]


def test_national_documents_cite_only_official_addresses_or_none():
    for doc in load(NATIONAL)["documents"]:
        url = doc["source_url"]
        assert url == "" or re.match(r"https?://([a-z]+\.)*(gov\.cn|chinatax\.gov\.cn|mof\.gov\.cn)/", url), url


def test_national_items_are_not_demo_data_and_local_ones_say_they_are():
    assert all("演示" not in doc["title"] for doc, _ in NATIONAL_ITEMS)
    for doc, item in LOCAL_ITEMS:
        assert "演示数据" in doc["title"] and "演示" in item["title"] + item["summary"], item["code"]


def test_automatic_tax_items_are_auto_or_instant_and_subsidies_of_national_documents_are_applied_for():
    for _, item in NATIONAL_ITEMS:
        if item["benefit_type"] == "tax":
            assert item["mode"] in ("auto", "instant", "apply"), item["code"]
        if item["benefit_type"] in ("subsidy", "loan_interest", "qualification"):
            assert item["mode"] == "apply", item["code"]


# ---------------------------------------------------------------- local content: what the demo needs
def test_local_content_has_the_items_the_demo_needs():
    local = [item for _, item in LOCAL_ITEMS]
    assert len(local) >= 8
    budgeted_auto = [i for i in local if i["mode"] == "auto" and i.get("budget")]
    assert len(budgeted_auto) >= 3
    assert {i.get("allocation") for i in budgeted_auto} >= {"pro_rata", "order"}
    county_codes = {c["value"][0] for i in local for c in _conditions(i["rule"]) if c["field"] == "region"}
    assert any(re.fullmatch(r"4116\d\d", code) and code != "411600" for code in county_codes)
    dated = [i for i in local for entries in (i.get("params") or {}).values() if len(entries) > 1]
    assert dated
    for item in local:
        if item["mode"] == "apply":
            assert any(m["required"] for m in item["materials"]), item["code"]


def test_local_windows_are_open_closing_soon_and_closed_on_the_demo_day():
    windows = [(dt.date.fromisoformat(i["window_start"]), dt.date.fromisoformat(i["window_end"]))
               for _, i in LOCAL_ITEMS if i.get("window_end")]
    assert any(s <= TODAY <= e and (e - TODAY).days <= 14 for s, e in windows)
    assert any(s <= TODAY and (e - TODAY).days > 14 for s, e in windows)
    assert any(e < TODAY for s, e in windows)


def _conditions(rule):
    if "field" in rule:
        yield rule
    for key in ("all", "any"):
        for child in rule.get(key, []):
            yield from _conditions(child)
    if "not" in rule:
        yield from _conditions(rule["not"])


# ---------------------------------------------------------------- hand-checked policies
def test_small_low_profit_enterprise_qualifies_and_one_more_employee_misses_by_exactly_that():
    ok = evaluate("CN-2023-12-03", TODAY, taxable_income=280, employees=200, total_assets=4000)
    assert ok.status.value == "eligible"
    assert estimate("CN-2023-12-03", TODAY, taxable_income=280) == Decimal("560000.00")  # 280万 × (25% − 5%)
    miss = evaluate("CN-2023-12-03", TODAY, taxable_income=280, employees=301, total_assets=4000)
    assert miss.status.value == "near_miss"
    assert [g.field for g in miss.gaps] == ["employees"]


def test_small_low_profit_enterprise_without_taxable_income_is_undecidable_not_rejected():
    result = evaluate("CN-2023-12-03", TODAY, employees=200, total_assets=4000)
    assert result.status.value == "unknown"
    assert result.missing == ["taxable_income"]


def test_partnerships_are_not_small_low_profit_enterprises():
    result = evaluate("CN-2023-12-03", TODAY, legal_form="partnership", taxable_income=10, employees=3,
                      total_assets=20)
    assert result.status.value == "near_miss" and [g.field for g in result.gaps] == ["legal_form"]


def test_high_tech_recognition_by_revenue_band():
    established = dt.date(2019, 5, 6)
    ok = evaluate("CN-GKFH-2016-32-11", TODAY, operating_revenue=6000, rd_expense=270, established_on=established)
    assert ok.status.value == "eligible"  # 4.5% ≥ 4% in the 5000万–2亿 band
    miss = evaluate("CN-GKFH-2016-32-11", TODAY, operating_revenue=6000, rd_expense=234, established_on=established)
    assert miss.status.value == "near_miss"  # 3.9%
    assert "rd_ratio" in {g.field for g in miss.gaps}
    small = evaluate("CN-GKFH-2016-32-11", TODAY, operating_revenue=4000, rd_expense=180, established_on=established)
    assert small.status.value != "eligible"  # 4.5% is not enough under 5000万: the band needs 5%
    big = evaluate("CN-GKFH-2016-32-11", TODAY, operating_revenue=30000, rd_expense=960, established_on=established)
    assert big.status.value == "eligible"  # 3.2% ≥ 3% above 2亿


def test_high_tech_recognition_needs_one_year_since_establishment():
    young = evaluate("CN-GKFH-2016-32-11", TODAY, operating_revenue=6000, rd_expense=270,
                     established_on=dt.date(2026, 3, 1))
    assert young.status.value == "near_miss" and [g.field for g in young.gaps] == ["age_years"]


def test_holders_of_a_valid_high_tech_certificate_get_the_15_percent_rate_with_an_estimate():
    cert = {"high_tech": (dt.date(2025, 11, 1), dt.date(2028, 10, 31))}
    assert evaluate("CN-CITL-28-02", TODAY, certifications=cert).status.value == "eligible"
    assert estimate("CN-CITL-28-02", TODAY, taxable_income=1000, certifications=cert) == Decimal("1000000.00")
    expired = {"high_tech": (dt.date(2022, 11, 1), dt.date(2025, 10, 31))}
    assert evaluate("CN-CITL-28-02", TODAY, certifications=expired).status.value == "near_miss"


def test_tech_sme_evaluation_limits():
    base = dict(employees=500, operating_revenue=20000, total_assets=20000, rd_expense=300)
    assert evaluate("CN-GKFZ-2017-115-06", TODAY, **base).status.value == "eligible"
    over = evaluate("CN-GKFZ-2017-115-06", TODAY, **{**base, "employees": 501})
    assert over.status.value == "near_miss" and [g.field for g in over.gaps] == ["employees"]
    listed = evaluate("CN-GKFZ-2017-115-06", TODAY, **base, credit=(("abnormal_operation", dt.date(2026, 1, 5), None),))
    assert listed.status.value == "near_miss" and [g.field for g in listed.gaps] == ["abnormal_operation"]


def test_tech_sme_item_cites_the_2022_evaluation_measures_under_its_stable_code():
    # 国科发政〔2017〕115号 was replaced by 国科发政〔2022〕16号 (same thresholds); the code is an identity and
    # keeps the old number it was minted with.
    doc, item = next((d, i) for d, i in NATIONAL_ITEMS if i["code"] == "CN-GKFZ-2017-115-06")
    assert doc["doc_number"] == "国科发政〔2022〕16号" and "科技型中小企业评价办法" in doc["title"]
    assert doc["issuers"] == "科技部 财政部 税务总局"
    assert "国科发政〔2022〕16号" in item["clause"] and "2017" not in item["clause"]
    assert "500人" in item["clause"] and "2亿元" in item["clause"]


def test_no_national_item_cites_a_replaced_document_in_its_clause():
    replaced = ("国科发政〔2017〕115号",)
    for doc, item in NATIONAL_ITEMS:
        assert not any(r in item["clause"] or r == doc["doc_number"] for r in replaced), item["code"]


def test_rd_excluded_industries_do_not_get_the_super_deduction():
    assert evaluate("CN-2023-07-01", TODAY, rd_expense=50, industry="3311").status.value == "eligible"
    assert evaluate("CN-2023-07-01", TODAY, rd_expense=50, industry="5211").status.value != "eligible"  # 零售
    assert evaluate("CN-2023-07-01", TODAY, rd_expense=50, industry="1610").status.value != "eligible"  # 烟草


def test_rd_subsidy_threshold_parameter_switches_on_its_date_and_amount_is_capped():
    day_before, switch = dt.date(2026, 6, 30), dt.date(2026, 7, 1)
    assert evaluate("ZK-2026-KJ-01", day_before, rd_expense=80).status.value == "near_miss"  # 80万 < 100万
    assert evaluate("ZK-2026-KJ-01", switch, rd_expense=80).status.value == "eligible"  # 80万 ≥ 50万
    assert estimate("ZK-2026-KJ-01", switch, rd_expense=80) == Decimal("80000.00")
    assert estimate("ZK-2026-KJ-01", switch, rd_expense=800) == Decimal("500000.00")


def test_first_above_scale_reward_rises_on_its_date():
    cert = {"above_scale": (dt.date(2025, 1, 1), None)}
    assert evaluate("ZK-2026-GX-02", TODAY, certifications=cert).status.value == "eligible"
    assert estimate("ZK-2026-GX-02", dt.date(2026, 12, 31), certifications=cert) == Decimal("100000.00")
    assert estimate("ZK-2026-GX-02", dt.date(2027, 1, 1), certifications=cert) == Decimal("150000.00")


def test_fugou_reward_only_for_enterprises_registered_in_fugou():
    cert = {"above_scale": (dt.date(2025, 1, 1), None)}
    assert evaluate("FG-2026-GY-01", TODAY, region="411621101", certifications=cert).status.value == "eligible"
    assert evaluate("FG-2026-GY-01", TODAY, region="411602", certifications=cert).status.value == "near_miss"


def test_six_taxes_two_fees_for_any_of_the_three_kinds_of_payer():
    assert evaluate("CN-2023-12-02", TODAY, legal_form="individual").status.value == "eligible"
    assert evaluate("CN-2023-12-02", TODAY, taxpayer_kind="small_scale").status.value == "eligible"
    assert evaluate("CN-2023-12-02", TODAY, taxpayer_kind="general", taxable_income=100, employees=50,
                    total_assets=800).status.value == "eligible"
    unknown = evaluate("CN-2023-12-02", TODAY, taxpayer_kind="general", employees=50, total_assets=800)
    assert unknown.status.value == "unknown" and unknown.missing == ["taxable_income"]
