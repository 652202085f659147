"""do_create / do_update / do_set_manual_tags: writes, derived values, computed tags, audit."""
import pytest
from django.core.exceptions import PermissionDenied

from tests.enterprises.conftest import fresh_uscc
from yingshang.core.errors import Conflict, Forbidden, ValidationFailed
from yingshang.core.models import AuditLog
from yingshang.enterprises.actions import do_create_enterprise, do_set_manual_tags, do_update_enterprise
from yingshang.enterprises.models import Enterprise, Tag, TagKind


def audit_rows(ent, action=None):
    rows = AuditLog.objects.for_object(ent)
    return rows.filter(action=action) if action else rows


def new_data(**kw):
    data = {"uscc": fresh_uscc(), "name": "周口新建机械有限公司", "region_code": "411602", "industry_code": "3311",
            "employees": 150, "operating_revenue": "2500", "total_assets": "1800", "certifications": ["high_tech"]}
    data.update(kw)
    return data


def tag_codes(ent):
    return set(ent.tag_links.values_list("tag__code", flat=True))


def test_create_derives_size_tags_and_audits(org):
    ent = do_create_enterprise(org.users["dispatcher"], new_data())
    # 工业: X=150 reaches 小 (≥20, <300), Y=2500 reaches 中 (≥2000) → the lower tier, 小型.
    assert ent.industry_section == "C" and ent.industry_division == "33" and ent.size == "small"
    assert tag_codes(ent) == {"high_tech", "small_micro"}
    row = audit_rows(ent, "create").get()
    assert row.actor == org.users["dispatcher"] and row.changes["employees"] == [None, 150]
    assert row.changes["certifications"] == [None, ["high_tech"]]


def test_create_rejects_and_writes_nothing(org):
    before = Enterprise.objects.count(), AuditLog.objects.count()
    with pytest.raises(ValidationFailed) as info:
        do_create_enterprise(org.users["dispatcher"], new_data(uscc="91110000600037341X", employees=-1,
                                                               region_code="419999", name=None))
    assert set(info.value.fields) == {"uscc", "employees", "region_code", "name"}
    assert "必填" in info.value.fields["name"]
    assert (Enterprise.objects.count(), AuditLog.objects.count()) == before


def test_duplicate_uscc_conflicts(org):
    with pytest.raises(Conflict):
        do_create_enterprise(org.users["dispatcher"], new_data(uscc=org.enterprise.uscc))


def test_roles_that_may_not_create(org):
    for role in ("supervisor", "enterprise", "leader", "evaluator"):
        with pytest.raises(PermissionDenied):
            do_create_enterprise(org.users[role], new_data())


def test_update_is_a_patch_and_audits_only_changes(org):
    ent = do_create_enterprise(org.users["dispatcher"], new_data(tax_credit_rating="B"))
    ent = do_update_enterprise(org.users["handler"], ent, {"employees": 350, "operating_revenue": "2500.0"})
    assert ent.employees == 350 and ent.tax_credit_rating == "B" and ent.size == "medium"
    row = audit_rows(ent, "update").get()
    assert row.changes == {"employees": [150, 350], "size": ["small", "medium"]}
    assert "small_micro" not in tag_codes(ent)
    do_update_enterprise(org.users["handler"], ent, {"employees": 350})  # nothing changes → no audit row
    assert audit_rows(ent, "update").count() == 1


def test_update_rejects_uscc_change_and_rd_above_existing_revenue(org):
    ent = org.enterprise  # revenue 1500
    with pytest.raises(ValidationFailed) as info:
        do_update_enterprise(org.users["dispatcher"], ent, {"uscc": fresh_uscc(), "rd_expense": "1600"})
    assert set(info.value.fields) == {"uscc", "rd_expense"}


def test_update_scope(org):
    with pytest.raises(PermissionDenied):
        do_update_enterprise(org.county_dispatcher, org.enterprise, {"employees": 1})
    with pytest.raises(ValidationFailed) as info:  # moving it out of the writer's scope
        do_update_enterprise(org.county_dispatcher, do_create_enterprise(org.county_dispatcher, new_data(
            region_code="411621")), {"region_code": "411602"})
    assert "管辖范围" in info.value.fields["region_code"]


def test_enterprise_user_edits_only_figures_and_contacts(org):
    user = org.users["enterprise"]
    ent = do_update_enterprise(user, org.enterprise, {"employees": 60, "contact_phone": "13912345678"})
    assert ent.employees == 60
    row = audit_rows(ent, "update").get()
    assert "13912345678" not in str(row.changes)  # personal data is not copied into the audit history
    with pytest.raises(Forbidden) as info:
        do_update_enterprise(user, org.enterprise, {"region_code": "411621", "name": "改名"})
    assert set(info.value.fields) == {"region_code", "name"}


def test_manual_tags(org):
    Tag.objects.create(code="key_project", name="重点项目企业", kind=TagKind.MANUAL)
    ent = do_set_manual_tags(org.users["dispatcher"], org.enterprise, ["重点项目企业"])
    assert "key_project" in tag_codes(ent)
    ent = do_set_manual_tags(org.users["dispatcher"], ent, [])
    assert "key_project" not in tag_codes(ent)
    assert audit_rows(ent, "update").count() == 2
    with pytest.raises(PermissionDenied):
        do_set_manual_tags(org.users["enterprise"], ent, ["key_project"])
