"""Loading content files into the library: documents and items created once, idempotent by code, mapped
to the seeded departments, validated completely before any write."""
from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from yingshang.core.errors import ValidationFailed
from yingshang.core.models import AuditLog, Role, User
from yingshang.policies import content
from yingshang.policies.models import ItemStatus, PolicyDocument, PolicyItem

pytest.importorskip("yingshang.policies.engine.amounts", reason="规则引擎(engine-lang)尚未提供 amounts.py")

TODAY = dt.date(2026, 11, 22)
ITEM_COLUMNS = ("code", "document_id", "title", "benefit_type", "mode", "status", "department_id", "window_start",
                "window_end", "budget", "allocation", "amount_formula", "amount_cap", "rule", "params", "revision",
                "published_at", "materials", "search_text")


@pytest.fixture
def city(db):
    """The demo city's regions and departments (as ``yingshang seed`` writes them) and an administrator."""
    from yingshang.seeding import org

    org.seed_regions("city")
    org.seed_departments()
    return User.objects.create(username="content-admin", role=Role.ADMIN, is_superuser=True, is_staff=True)


def snapshot():
    items = sorted(PolicyItem.objects.values_list(*ITEM_COLUMNS))
    docs = sorted(PolicyDocument.objects.values_list("id", "title", "doc_number", "region_id", "updated_at"))
    return items, docs


def local_data():
    return json.loads(content.LOCAL.read_text(encoding="utf-8"))


def test_loading_both_files_twice_writes_the_same_rows(city):
    first = content.load_all(city, today=TODAY, match=False)
    assert first.items_created == len(first.codes) >= 38 and first.documents_created >= 20
    rows, audit_rows = snapshot(), AuditLog.objects.count()
    second = content.load_all(city, today=TODAY, match=False)
    assert (second.items_created, second.items_updated, second.documents_created, second.documents_updated) == (0, 0, 0, 0)
    assert second.items_unchanged == first.items_created
    assert snapshot() == rows
    assert AuditLog.objects.count() == audit_rows  # nothing changed, nothing audited


def test_items_go_to_the_seeded_departments_and_regions(city):
    result = content.load_all(city, today=TODAY, match=False)
    assert result.warnings == []
    dept = dict(PolicyItem.objects.values_list("code", "department__code"))
    assert dept["CN-2023-12-03"] == "411600-SWU"
    assert dept["CN-GKFH-2016-32-11"] == "411600-KJJ"
    assert dept["ZK-2026-RS-02"] == "411600-RSJ"
    assert dept["FG-2026-GY-01"] == "411621-YSB"
    fugou = PolicyItem.objects.get(code="FG-2026-GY-01").document
    assert fugou.region_id == "411621" and list(fugou.departments.values_list("code", flat=True)) == ["411621-YSB"]
    assert PolicyItem.objects.get(code="CN-2023-12-03").document.region_id is None


def test_published_unless_the_window_has_closed(city):
    content.load_all(city, today=TODAY, match=False)
    status = dict(PolicyItem.objects.values_list("code", "status"))
    assert status["ZK-2026-GX-03"] == ItemStatus.EXPIRED  # window ended 2026-06-30
    assert status["ZK-2026-KJ-02"] == ItemStatus.PUBLISHED  # closes 2026-12-01
    assert status["CN-2023-12-03"] == ItemStatus.PUBLISHED
    assert not PolicyItem.objects.filter(published_at__isnull=True).exists()
    assert "小型微利企业" in PolicyItem.objects.get(code="CN-2023-12-03").search_text


def test_draft_loading_keeps_new_items_in_draft(city):
    content.load_content(content.NATIONAL, city, publish=False, match=False, today=TODAY)
    assert set(PolicyItem.objects.values_list("status", flat=True)) == {ItemStatus.DRAFT}


def test_a_changed_rule_updates_the_item_and_raises_its_revision(city):
    data = local_data()
    content.load_data(data, city, match=False, source="local.json", today=TODAY)
    item = PolicyItem.objects.get(code="ZK-2026-KJ-03")
    changed = copy.deepcopy(data)
    target = next(i for d in changed["documents"] for i in d["items"] if i["code"] == "ZK-2026-KJ-03")
    target["rule"] = {"field": "certification", "op": "in", "value": ["tech_sme", "high_tech"]}
    target["title"] = target["title"] + "(修订)"
    result = content.load_data(changed, city, match=False, source="local.json", today=TODAY)
    assert result.items_updated == 1 and result.items_created == 0
    item.refresh_from_db()
    assert item.revision == 2 and item.rule["value"] == ["tech_sme", "high_tech"] and item.title.endswith("(修订)")
    entry = AuditLog.objects.for_object(item).first()
    assert set(entry.changes) >= {"rule", "title"}


def test_an_officers_suspension_survives_a_reload(city):
    content.load_data(local_data(), city, match=False, today=TODAY)
    PolicyItem.objects.filter(code="ZK-2026-KJ-03").update(status=ItemStatus.SUSPENDED)
    content.load_data(local_data(), city, match=False, today=TODAY)
    assert PolicyItem.objects.get(code="ZK-2026-KJ-03").status == ItemStatus.SUSPENDED


def test_an_invalid_rule_is_reported_with_its_place_and_nothing_is_written(city):
    data = local_data()
    data["documents"][-1]["items"][0]["rule"] = {"all": [{"field": "revenue", "op": ">=", "value": 1}]}
    with pytest.raises(ValidationFailed) as exc:
        content.load_data(data, city, match=False, source="local.json", today=TODAY)
    assert "ZK-2026-JR-01" in exc.value.message and "revenue" in exc.value.message
    assert "rule" in exc.value.fields
    assert not PolicyItem.objects.exists() and not PolicyDocument.objects.exists()


def test_an_unknown_region_is_refused_before_anything_stays_written(city):
    data = local_data()
    data["documents"][-1]["region"] = "419999"
    with pytest.raises(ValidationFailed) as exc:
        content.load_data(data, city, match=False, today=TODAY)
    assert "419999" in exc.value.message
    assert not PolicyItem.objects.exists()


@pytest.mark.parametrize("field,value,reason", [
    ("mode", "free", "mode"), ("window_end", "2026-02-30", "window_end"), ("budget", -5, "budget"),
    ("amount_formula", "rd_expense ** 2", "amount_formula")])
def test_bad_item_fields_name_the_field(city, field, value, reason):
    data = local_data()
    data["documents"][0]["items"][0][field] = value
    with pytest.raises(ValidationFailed) as exc:
        content.load_data(data, city, match=False, today=TODAY)
    assert reason in exc.value.fields and "ZK-2026-KJ-01" in exc.value.message


def test_duplicate_codes_in_one_file_are_refused(city):
    data = local_data()
    data["documents"][1]["items"][0]["code"] = "ZK-2026-KJ-01"
    with pytest.raises(ValidationFailed, match="重复"):
        content.load_data(data, city, match=False, today=TODAY)


def test_missing_departments_fall_back_by_benefit_type_with_a_warning(org):
    """The test organisation has only 营商办 and 市场监管局: everything goes to 营商办, and says so."""
    admin = org.users["admin"]
    result = content.load_content(content.NATIONAL, admin, match=False, today=TODAY)
    assert set(PolicyItem.objects.values_list("department__code", flat=True)) == {"YSB"}
    assert result.warnings and all("找不到单位" in w for w in result.warnings)


def test_without_an_administrator_loading_is_refused(db):
    with pytest.raises(ValidationFailed, match="管理员"):
        content.load_content(content.LOCAL, None, match=False, today=TODAY)


def test_unreadable_or_malformed_files_are_reported(city, tmp_path):
    with pytest.raises(ValidationFailed, match="找不到"):
        content.load_content(tmp_path / "nope.json", city)
    bad = tmp_path / "bad.json"
    bad.write_text('{"documents": [', encoding="utf-8")
    with pytest.raises(ValidationFailed, match="不是合法的 JSON"):
        content.load_content(bad, city)
