"""Applications for 申报 / 即申即享 items: submission (materials, file checks, window, one open application),
withdrawal, review within the budget, payout and receipt, notifications at each step."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from tests.policies.test_redemption_support import (PNG, fixed_estimate, make_enterprises, make_item,  # noqa: F401
                                                    make_redemptions, pdf)
from yingshang.core.errors import Conflict, Forbidden, ValidationFailed
from yingshang.core.models import AuditLog, Notification
from yingshang.policies import actions_applications as apps, actions_redemption as reds
from yingshang.policies.models import Application, ApplicationStatus as AS, ItemStatus, Mode

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fixed_estimate", "media")]
MATERIALS = [{"name": "研发费用专项审计报告", "required": True}, {"name": "营业执照", "required": True},
             {"name": "其他证明", "required": False}]


@pytest.fixture
def media(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


def item_of(org, **kw):
    kw.setdefault("mode", Mode.APPLY)
    kw.setdefault("materials", MATERIALS)
    return make_item(org, **kw)


def files(**extra):
    out = {"研发费用专项审计报告": pdf("审计报告.pdf"), "营业执照": SimpleUploadedFile("执照.png", PNG)}
    out.update(extra)
    return out


def submit(org, item, **kw):
    chosen = kw.pop("f", None)
    return apps.do_submit_application(org.users["enterprise"], item, kw.pop("note", "申请说明"),
                                      files() if chosen is None else chosen)


# ---------------------------------------------------------------- submission
def test_submission_stores_materials_and_notifies(org, fixed_estimate):
    item = item_of(org)
    fixed_estimate[org.enterprise.pk] = Decimal("8000.00")
    app = submit(org, item)
    assert app.status == AS.SUBMITTED and app.amount_estimated == Decimal("8000.00")
    assert sorted(app.files.values_list("material", flat=True)) == ["研发费用专项审计报告", "营业执照"]
    assert app.files.get(material="营业执照").file.read() == PNG
    assert Notification.objects.filter(user=org.users["policy_officer"], key=f"application:{app.pk}:submitted:dept:"
                                       f"{org.users['policy_officer'].pk}").exists()
    assert Notification.objects.filter(user=org.users["enterprise"], key__startswith=f"application:{app.pk}:submitted").exists()
    assert AuditLog.objects.filter(object_type="policies.application", object_id=str(app.pk), action="create").exists()


def test_missing_material_is_named(org):
    item = item_of(org)
    with pytest.raises(ValidationFailed) as exc:
        submit(org, item, f={"研发费用专项审计报告": pdf()})
    assert "营业执照" in exc.value.message and "材料:营业执照" in exc.value.fields
    assert not Application.objects.exists()


def test_optional_material_may_be_left_out_and_unknown_ones_are_refused(org):
    item = item_of(org)
    with pytest.raises(ValidationFailed, match="不是该事项要求的申报材料"):
        submit(org, item, f=files(**{"乱写的材料": pdf()}))
    assert submit(org, item).files.count() == 2


@pytest.mark.parametrize("name, content, reason", [
    ("报告.exe", b"MZ\x90\x00", "类型不支持"),
    ("报告.pdf", b"MZ\x90\x00 not a pdf", "不符"),
    ("报告.pdf", b"", "空文件"),
])
def test_file_type_and_content_are_checked(org, name, content, reason):
    item = item_of(org)
    with pytest.raises(ValidationFailed, match=reason) as exc:
        submit(org, item, f=files(**{"研发费用专项审计报告": SimpleUploadedFile(name, content)}))
    assert "研发费用专项审计报告" in exc.value.message


def test_files_over_20_mb_are_refused(org):
    item = item_of(org)
    big = pdf()
    big.size = apps.MAX_FILE_BYTES + 1
    with pytest.raises(ValidationFailed, match="20 MB"):
        submit(org, item, f=files(**{"营业执照": big}))


def test_window_closed_or_not_open_yet(org):
    today = timezone.localdate()
    closed = item_of(org, window_start=today - dt.timedelta(days=30), window_end=today - dt.timedelta(days=1))
    with pytest.raises(Conflict, match="已截止"):
        submit(org, closed)
    later = item_of(org, window_start=today + dt.timedelta(days=1))
    with pytest.raises(Conflict, match="尚未开始"):
        submit(org, later)
    last_day = item_of(org, window_start=today - dt.timedelta(days=3), window_end=today)
    assert submit(org, last_day).status == AS.SUBMITTED


def test_only_published_applyable_items_by_enterprise_users(org):
    with pytest.raises(Conflict, match="免申即享"):
        submit(org, item_of(org, mode=Mode.AUTO))
    with pytest.raises(Conflict, match="已暂停"):
        submit(org, item_of(org, status=ItemStatus.SUSPENDED))
    with pytest.raises(Forbidden):
        apps.do_submit_application(org.users["policy_officer"], item_of(org), "", files())


def test_one_open_application_per_item_and_enterprise(org):
    item = item_of(org)
    first = submit(org, item)
    with pytest.raises(Conflict, match="不能重复申报"):
        submit(org, item)
    apps.do_withdraw_application(org.users["enterprise"], first)
    assert submit(org, item).status == AS.SUBMITTED


def test_a_concurrent_duplicate_hits_the_constraint_and_becomes_a_conflict(org, monkeypatch):
    item = item_of(org)
    submit(org, item)
    monkeypatch.setattr(apps, "OPEN_STATUSES", ())  # as if the other request had not committed at the check
    with pytest.raises(Conflict, match="不能重复申报"):
        submit(org, item)
    assert Application.objects.count() == 1


def test_note_length_is_limited(org):
    with pytest.raises(ValidationFailed, match="申请说明"):
        submit(org, item_of(org), note="长" * (apps.MAX_NOTE + 1))


def test_collect_files_maps_indexed_fields_to_material_names(org):
    from django.utils.datastructures import MultiValueDict

    item = item_of(org)
    a, b = pdf(), pdf()
    got = apps.collect_files(item, MultiValueDict({"material_1": [a], "研发费用专项审计报告": [b]}))
    assert got == {"营业执照": a, "研发费用专项审计报告": b}
    with pytest.raises(ValidationFailed, match="只能上传一个文件"):
        apps.collect_files(item, MultiValueDict({"material_0": [a], "研发费用专项审计报告": [b]}))


# ---------------------------------------------------------------- withdraw and review
def test_withdraw_only_own_and_only_before_review(org):
    item = item_of(org)
    app = submit(org, item)
    with pytest.raises(PermissionDenied):
        apps.do_withdraw_application(org.users["policy_officer"], app)
    apps.do_review_application(org.users["policy_officer"], app, False, "材料不全")
    with pytest.raises(Conflict):
        apps.do_withdraw_application(org.users["enterprise"], app)


def test_reject_needs_a_reason_and_notifies(org):
    app = submit(org, item_of(org))
    with pytest.raises(ValidationFailed, match="理由"):
        apps.do_review_application(org.users["policy_officer"], app, False, "  ")
    app = apps.do_review_application(org.users["policy_officer"], app, False, "审计报告未盖章")
    assert app.status == AS.REJECTED and app.review_reason == "审计报告未盖章"
    note = Notification.objects.get(user=org.users["enterprise"], key__startswith=f"application:{app.pk}:rejected")
    assert "审计报告未盖章" in note.body


def test_approval_defaults_to_the_estimate_or_takes_an_amount(org, fixed_estimate):
    fixed_estimate[org.enterprise.pk] = Decimal("3000.00")
    item = item_of(org, budget="10000")
    app = apps.do_review_application(org.users["policy_officer"], submit(org, item), True, "")
    assert app.status == AS.APPROVED and app.amount_approved == Decimal("3000.00") and app.reviewed_by
    other = item_of(org)
    app2 = apps.do_review_application(org.users["dept_leader"], submit(org, other), True, "同意", "1234.5")
    assert app2.amount_approved == Decimal("1234.50")
    with pytest.raises(Conflict, match="不能重复审核"):
        apps.do_review_application(org.users["policy_officer"], app2, True, "")


@pytest.mark.parametrize("amount", ["-1", "abc", "1.234", "NaN", "1e20"])
def test_approval_amount_must_be_money(org, amount):
    app = submit(org, item_of(org))
    with pytest.raises(ValidationFailed, match="金额"):
        apps.do_review_application(org.users["policy_officer"], app, True, "", amount)
    assert Application.objects.get(pk=app.pk).status == AS.SUBMITTED


def test_approval_beyond_the_budget_says_how_much_remains(org, fixed_estimate):
    item = item_of(org, budget="5000")
    make_redemptions(item, make_enterprises(1), ["3000"], status="confirmed")[0].__class__.objects.filter(
        item=item).update(amount_confirmed=Decimal("3000"))
    fixed_estimate[org.enterprise.pk] = Decimal("2500.00")
    app = submit(org, item)
    with pytest.raises(Conflict) as exc:
        apps.do_review_application(org.users["policy_officer"], app, True, "")
    assert "2,000.00 元" in exc.value.message and "剩余" in exc.value.message
    assert Application.objects.get(pk=app.pk).status == AS.SUBMITTED
    assert apps.do_review_application(org.users["policy_officer"], app, True, "", "2000").amount_approved == Decimal("2000")
    assert reds.remaining_budget(item) == Decimal("0")


def test_review_needs_the_items_department(org):
    app = submit(org, item_of(org))
    for who in ("enterprise", "dispatcher", "leader"):
        with pytest.raises(PermissionDenied):
            apps.do_review_application(org.users[who], app, True, "")


def test_instant_items_are_approved_by_the_same_flow(org):
    app = submit(org, item_of(org, mode=Mode.INSTANT, materials=[]), f={})
    assert apps.do_review_application(org.users["policy_officer"], app, True, "即申即享").status == AS.APPROVED


# ---------------------------------------------------------------- payout and receipt
def test_payout_then_receipt_with_illegal_steps_refused(org):
    app = submit(org, item_of(org))
    officer, ent_user = org.users["policy_officer"], org.users["enterprise"]
    with pytest.raises(Conflict):
        apps.do_record_application_payout(officer, app, "PZ-9")
    apps.do_review_application(officer, app, True, "")
    with pytest.raises(ValidationFailed, match="凭证号"):
        apps.do_record_application_payout(officer, app, "")
    with pytest.raises(Conflict):
        apps.do_confirm_application_receipt(ent_user, app)
    with pytest.raises(PermissionDenied):
        apps.do_record_application_payout(ent_user, app, "PZ-9")
    app = apps.do_record_application_payout(officer, app, "PZ-9")
    assert app.status == AS.PAID and app.payout_ref == "PZ-9" and app.paid_at
    assert Notification.objects.filter(user=ent_user, key__startswith=f"application:{app.pk}:paid").exists()
    with pytest.raises(PermissionDenied):
        apps.do_confirm_application_receipt(officer, app)
    app = apps.do_confirm_application_receipt(ent_user, app)
    assert app.status == AS.RECEIVED and app.received_at
    with pytest.raises(Conflict):
        apps.do_confirm_application_receipt(ent_user, app)
    trail = list(AuditLog.objects.filter(object_type="policies.application", object_id=str(app.pk),
                                         action="transition").values_list("changes__status", flat=True))
    assert sorted(map(tuple, trail)) == sorted([("submitted", "approved"), ("approved", "paid"), ("paid", "received")])
