"""Seeding into the database: content, derived values, organisation and accounts."""
from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import pytest

from yingshang.core.models import Department, DepartmentKind, Region, Role, User
from yingshang.enterprises import sizing
from yingshang.enterprises.models import Certification, Enterprise
from yingshang.enterprises.uscc import validate_uscc
from yingshang.seeding.org import DEMO_PASSWORD
from yingshang.seeding.regions import DATA as REGIONS_CSV
from yingshang.seeding.run import SeedRefused, database_digest, generated_digest, seed

from .conftest import SMALL_SEED

# The ten counties/districts of 周口市 (GB/T 2260), as named in the issue.
ZHOUKOU_COUNTIES = {"411602": "川汇区", "411603": "淮阳区", "411621": "扶沟县", "411622": "西华县",
                    "411623": "商水县", "411624": "沈丘县", "411625": "郸城县", "411627": "太康县",
                    "411628": "鹿邑县", "411681": "项城市"}


def test_database_holds_exactly_the_generated_data(seeded):
    assert Enterprise.objects.count() == 2000
    assert database_digest() == generated_digest("small", SMALL_SEED)


def test_codes_are_valid_and_match_region_and_legal_form(seeded):
    for uscc, region, form in Enterprise.objects.values_list("uscc", "region_id", "legal_form"):
        assert validate_uscc(uscc) == uscc
        assert uscc[0] == "9" and uscc[2:8] == region
        assert uscc[1] == {"individual": "2", "cooperative": "3"}.get(form, "1")


def test_stored_size_and_industry_columns_equal_derive(seeded):
    sample = list(Enterprise.objects.order_by("id")[::7])
    assert len(sample) > 250
    for ent in sample:
        stored = (ent.size, ent.industry_section, ent.industry_division)
        ent.derive()
        assert stored == (ent.size, ent.industry_section, ent.industry_division), ent.uscc
    sizes = {e.size for e in sample}
    assert {"micro", "small", None} <= sizes


def test_size_follows_the_standard_on_seeded_figures(seeded):
    # A manufacturer with >= 20 employees and >= 300万元 revenue is at least small (industry row).
    for ent in Enterprise.objects.filter(industry_section="C", employees__gte=20, operating_revenue__gte=300,
                                         employees__lt=300, operating_revenue__lt=2000):
        assert ent.size == sizing.SMALL


def test_enterprises_are_spread_over_all_ten_counties(seeded):
    regions = set(Enterprise.objects.values_list("region_id", flat=True))
    assert regions == set(ZHOUKOU_COUNTIES)


def test_figures_carry_source_and_date(seeded):
    for ent in Enterprise.objects.exclude(employees=None)[:200]:
        assert ent.figure_sources["employees"] == {"source": "市场监管部门年报", "as_of": "2025-12-31"}
        assert ("rd_expense" in ent.figure_sources) == (ent.rd_expense is not None)
        assert ent.established_on <= dt.date(2026, 9, 30)
    assert Enterprise.objects.filter(established_on__lt=dt.date(2000, 1, 1)).exists()


def test_certifications_are_plausible(seeded):
    high_tech = Certification.objects.filter(kind="high_tech").select_related("enterprise")
    for cert in high_tech:
        assert cert.enterprise.rd_expense is not None and cert.certificate_no.startswith("GR")
        assert cert.valid_to > cert.valid_from
    for cert in Certification.objects.filter(kind="above_scale").select_related("enterprise"):
        assert cert.enterprise.status == "active"
        assert cert.enterprise.operating_revenue >= Decimal(1)
    assert Certification.objects.filter(kind="above_scale").count() < Enterprise.objects.count() * 0.15


def test_region_tree_and_departments(seeded):
    counties = dict(Region.objects.filter(level="county").values_list("code", "name"))
    assert counties == ZHOUKOU_COUNTIES
    for street in Region.objects.filter(level="street"):
        assert len(street.code) == 9 and street.code.startswith(street.parent_id) and street.prefix == street.code
    city_departments = Department.objects.filter(region_id="411600")
    assert 35 <= city_departments.count() <= 45
    kinds = set(Department.objects.values_list("kind", flat=True))
    assert {DepartmentKind.OFFICE, DepartmentKind.SECTOR, DepartmentKind.UTILITY, DepartmentKind.JUDICIAL,
            DepartmentKind.TOWNSHIP} <= kinds
    for code in ZHOUKOU_COUNTIES:
        assert Department.objects.filter(code=f"{code}-YSB", kind="office", parent__code="411600-YSB").exists()
        assert Department.objects.filter(code=f"{code}-SCJG", parent__code="411600-SCJG").exists()


def test_every_role_has_a_demo_account(seeded):
    for role in Role:
        assert User.objects.filter(role=role, is_demo=True, is_active=True).exists(), role
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    ent_user = User.objects.get(username="enterprise")
    assert ent_user.enterprise is not None and ent_user.enterprise.status == "active"
    assert User.objects.get(username="fugou_dispatcher").scope_prefix == "411621"
    assert User.objects.get(username="handler").department.code == "411600-SCJG"
    # qy-<USCC> users are the seeded applicants of the policy history: demo data that cannot log in.
    for user in User.objects.filter(is_demo=True).exclude(username__startswith="qy-"):
        assert user.check_password(DEMO_PASSWORD)
        assert user.display_name


def test_seeding_a_non_empty_register_is_refused(seeded):
    with pytest.raises(SeedRefused):
        seed("small", 99)
    assert Enterprise.objects.count() == 2000


def test_regions_csv_is_a_consistent_tree():
    with REGIONS_CSV.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    codes = {r["code"] for r in rows}
    assert len(codes) == len(rows)
    cities = {r["code"] for r in rows if r["level"] == "city"}
    assert {f"41{n:02d}00" for n in range(1, 18)} <= cities and "410000" in codes and "419001" in codes
    for row in rows:
        if row["parent"]:
            parent_prefix = row["parent"][:{"city": 2, "county": 4, "street": 6}[row["level"]]]
            assert row["parent"] in codes and row["code"].startswith(parent_prefix), row
