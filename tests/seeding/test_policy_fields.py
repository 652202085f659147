"""Seeding the fields policy rules need: taxable income, taxpayer kind, certification validity, credit
lists and the demo steward — plausible, deterministic, and written by the bulk writer."""
from __future__ import annotations

import collections
import datetime as dt
import json

import pytest
from django.db import connection
from django.db.models import Min

from yingshang.enterprises.models import CreditListing, Enterprise
from yingshang.seeding.generate import DATA_END, SMALL_SCALE_LIMIT, EnterpriseGenerator, assign_demo_steward
from yingshang.seeding.writer import BulkWriter

from .conftest import SMALL_SEED


@pytest.fixture(scope="module")
def city():
    """20,000 generated rows of the city data set: enterprise columns, certifications, credit lists."""
    ents, certs, listings = collections.defaultdict(list), collections.defaultdict(list), collections.defaultdict(list)
    for chunk in EnterpriseGenerator("city", 2, total=20_000).chunks():
        for target, source in ((ents, chunk.enterprises), (certs, chunk.certifications),
                               (listings, chunk.credit_listings)):
            for key, values in source.items():
                target[key] += values
    return ents, certs, listings


def new_columns(seed: int):
    out = []
    for chunk in EnterpriseGenerator("small", seed).chunks():
        e = chunk.enterprises
        out.append((e["taxable_income"], e["taxpayer_kind"], chunk.credit_listings,
                    chunk.certifications["valid_from"], chunk.certifications["valid_to"]))
    return out


def test_new_columns_are_deterministic():
    assert new_columns(5) == new_columns(5)
    assert new_columns(5) != new_columns(6)


def test_taxable_income_is_plausible_and_sometimes_missing(city):
    ents = city[0]
    applicable = [(t, r) for t, r, f in zip(ents["taxable_income"], ents["operating_revenue"], ents["legal_form"])
                  if r is not None and f != "individual"]
    missing = sum(t is None for t, _ in applicable) / len(applicable)
    assert 0.10 < missing < 0.20
    given = [(float(t), float(r)) for t, r in applicable if t is not None]
    assert all(0 <= t <= 0.45 * r + 0.01 for t, r in given)
    assert any(t == 0 for t, _ in given) and any(t > 0 for t, _ in given)  # loss makers and profitable firms
    no_revenue = [t for t, r in zip(ents["taxable_income"], ents["operating_revenue"]) if r is None]
    assert no_revenue and all(t is None for t in no_revenue)


def test_taxpayer_kind_follows_the_sales_threshold(city):
    ents = city[0]
    kinds = collections.Counter()
    for kind, revenue in zip(ents["taxpayer_kind"], ents["operating_revenue"]):
        band = "none" if revenue is None else "large" if float(revenue) > SMALL_SCALE_LIMIT else "small"
        kinds[band, kind] += 1
    def share(band, kind):
        return kinds[band, kind] / sum(v for (b, _), v in kinds.items() if b == band)
    assert share("large", "general") > 0.85 and share("small", "small_scale") > 0.8
    assert 0 < share("small", "") < 0.1 and share("small", "general") > 0.03


def test_figure_sources_cover_exactly_the_new_figures_present(city):
    ents = city[0]
    for taxable, kind, sources in zip(ents["taxable_income"], ents["taxpayer_kind"], ents["figure_sources"]):
        sources = json.loads(sources)
        assert ("taxable_income" in sources) == (taxable is not None)
        assert ("taxpayer_kind" in sources) == bool(kind)


def test_high_tech_certificates_last_three_years_and_some_expired(city):
    certs = city[1]
    rows = [(dt.date.fromisoformat(f), dt.date.fromisoformat(t)) for k, f, t in
            zip(certs["kind"], certs["valid_from"], certs["valid_to"]) if k == "high_tech"]
    assert len(rows) > 30
    for start, end in rows:
        assert end == start.replace(year=start.year + 3) - dt.timedelta(days=1)
    expired = sum(end < DATA_END for _, end in rows) / len(rows)
    assert 0.05 < expired < 0.4


def test_credit_lists_are_rare_dated_and_some_removed(city):
    ents, _, listings = city
    n = len(ents["id"])
    kinds = collections.Counter(listings["kind"])
    assert 0.01 < kinds["abnormal_operation"] / n < 0.035
    assert 0.001 < kinds["serious_dishonest"] / n < 0.006
    established = dict(zip(ents["id"], ents["established_on"]))
    removed = 0
    for eid, listed, gone in zip(listings["enterprise_id"], listings["listed_on"], listings["removed_on"]):
        assert established[eid] < listed <= DATA_END.isoformat()
        if gone is not None:
            removed += 1
            assert listed < gone <= DATA_END.isoformat()
    assert 0.15 < removed / len(listings["kind"]) < 0.6
    assert all(a.endswith(("市场监督管理局", "税务局", "人民法院")) for a in listings["authority"])


def test_credit_listings_write_with_the_bulk_writer(seeded):
    first_id = Enterprise.objects.aggregate(m=Min("id"))["m"]
    seeded_count = CreditListing.objects.count()  # the seed itself writes them
    CreditListing.objects.all().delete()
    writer, written = BulkWriter(connection), 0
    for chunk in EnterpriseGenerator("small", SMALL_SEED, first_id=first_id).chunks():
        written += writer.write(CreditListing, chunk.credit_listings)
    assert written == CreditListing.objects.count() == seeded_count > 0
    assert CreditListing.objects.in_force(DATA_END).exists()
    assert CreditListing.objects.filter(removed_on__isnull=False).exists()


def test_demo_steward_gets_enterprises_of_its_region(seeded):
    count = assign_demo_steward()
    assert 50 <= count <= 200
    mine = Enterprise.objects.filter(steward__username="steward")
    assert mine.count() == count
    assert set(mine.values_list("status", flat=True)) == {"active"}
    assert all(code.startswith("411602") for code in mine.values_list("region_id", flat=True))
    chosen = set(mine.values_list("id", flat=True))
    assert assign_demo_steward() == count and set(mine.values_list("id", flat=True)) == chosen


def test_seeded_register_has_the_new_fields(seeded):
    assert Enterprise.objects.filter(taxable_income__isnull=False).exists()
    assert set(Enterprise.objects.values_list("taxpayer_kind", flat=True)) == {"general", "small_scale", ""}
