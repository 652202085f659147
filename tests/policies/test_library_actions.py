"""Policy-library actions: validation messages, life cycle, four-eyes review, audit, revisions, match jobs."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.policies.test_library_fixtures import RULE, enqueued, item_data, lib, make_item  # noqa: F401
from yingshang.core.errors import Conflict, ValidationFailed
from yingshang.core.models import AuditAction, AuditLog, Notification
from yingshang.policies import actions_library as actions
from yingshang.policies.models import ItemReview, ItemStatus, PolicyItem

pytestmark = pytest.mark.django_db


def audit_of(obj, action=None):
    qs = AuditLog.objects.for_object(obj)
    return list(qs.filter(action=action) if action else qs)


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# ---------------------------------------------------------------- create and validate
def test_create_item_generates_code_indexes_text_and_audits(lib):
    item = actions.do_create_item(lib.officer, lib.doc, item_data())
    assert item.status == ItemStatus.DRAFT and item.department == lib.market and item.revision == 1
    assert item.code.startswith(f"{lib.market.code}-{timezone.localdate():%Y}-")
    assert "研发费用" in item.search_text.split() and "加计扣除" in item.search_text.split()
    assert "周口市" in item.search_text  # the document title is indexed too
    assert [a.action for a in audit_of(item)] == [AuditAction.CREATE]
    second = actions.do_create_item(lib.officer, lib.doc, item_data(title="第二项"))
    assert second.code != item.code


@pytest.mark.parametrize("changes, field, words", [
    ({"title": ""}, "title", "必填"),
    ({"benefit_type": "gift"}, "benefit_type", "subsidy"),
    ({"budget": "-1"}, "budget", "负数"),
    ({"budget": "12.345"}, "budget", "两位小数"),
    ({"window_start": "2025-02-30"}, "window_start", "日期"),
    ({"window_start": "2025-06-01", "window_end": "2025-05-01"}, "window_end", "不能早于"),
    ({"amount_floor": "100", "amount_cap": "50"}, "amount_cap", "不能低于"),
    ({"materials": [{"required": True}]}, "materials", "第 1 项"),
    ({"materials": "营业执照"}, "materials", "列表"),
    ({"code": "含 空格"}, "code", "字母"),
    ({"colour": "red"}, "colour", "不是可识别的字段"),
])
def test_create_item_rejects_bad_fields_naming_them(lib, changes, field, words):
    with pytest.raises(ValidationFailed) as info:
        actions.do_create_item(lib.officer, lib.doc, item_data(**changes))
    assert field in info.value.fields and words in info.value.fields[field]
    assert has_chinese(info.value.message)
    assert not PolicyItem.objects.exists()


def test_create_item_rejects_bad_rule_with_its_position(lib):
    bad = {"all": [{"field": "employees", "op": ">=", "value": 10}, {"field": "colour", "op": "==", "value": 1}]}
    with pytest.raises(ValidationFailed) as info:
        actions.do_create_item(lib.officer, lib.doc, item_data(rule=bad))
    assert "条件 2" in info.value.fields["rule"] and "colour" in info.value.fields["rule"]
    with pytest.raises(ValidationFailed) as info:
        actions.do_create_item(lib.officer, lib.doc, item_data(rule={"any": []}))
    assert "不能为空" in info.value.fields["rule"]
    with pytest.raises(ValidationFailed) as info:
        actions.do_create_item(lib.officer, lib.doc, item_data(amount_formula="rd_expense * * 2"))
    assert "amount_formula" in info.value.fields
    with pytest.raises(ValidationFailed) as info:
        actions.do_create_item(lib.officer, lib.doc, item_data(params={"上限": []}))
    assert "params" in info.value.fields
    assert not PolicyItem.objects.exists()


def test_rule_may_use_a_parameter_with_effective_dates(lib):
    params = {"人数下限": [{"from": None, "value": 10}, {"from": "2027-01-01", "value": 20}]}
    rule = {"field": "employees", "op": ">=", "param": "人数下限"}
    item = actions.do_create_item(lib.officer, lib.doc, item_data(rule=rule, params=params))
    assert item.params == params
    with pytest.raises(ValidationFailed) as info:
        actions.do_create_item(lib.officer, lib.doc, item_data(rule={**rule, "param": "未定义"}, params=params))
    assert "未定义" in info.value.fields["rule"]


def test_duplicate_code_is_a_conflict(lib):
    actions.do_create_item(lib.officer, lib.doc, item_data(code="ZK-2025-001"))
    with pytest.raises(Conflict) as info:
        actions.do_create_item(lib.officer, lib.doc, item_data(code="ZK-2025-001"))
    assert "code" in info.value.fields and PolicyItem.objects.count() == 1


def test_only_officers_of_the_department_write(lib):
    for user in (lib.users["enterprise"], lib.users["dispatcher"], lib.users["handler"]):
        with pytest.raises(PermissionDenied):
            actions.do_create_item(user, lib.doc, item_data())
    with pytest.raises(PermissionDenied):
        actions.do_create_item(lib.officer, lib.doc, item_data(department=lib.fugou_dept.code))
    item = actions.do_create_item(lib.officer, lib.doc, item_data())
    with pytest.raises(PermissionDenied):
        actions.do_update_item(lib.other_officer, item, {"title": "改"})
    assert actions.do_update_item(lib.admin, item, {"title": "管理员改"}).title == "管理员改"


# ---------------------------------------------------------------- life cycle
def test_submit_review_publish_queues_matching_after_commit(lib, django_capture_on_commit_callbacks):
    item = actions.do_create_item(lib.officer, lib.doc, item_data())
    with django_capture_on_commit_callbacks(execute=True):
        item = actions.do_submit_item(lib.officer, item)
    assert item.status == ItemStatus.REVIEW and lib.enqueued == []
    assert Notification.objects.filter(user=lib.leader, title__contains=item.title).exists()
    with django_capture_on_commit_callbacks(execute=True):
        item = actions.do_review_item(lib.leader, item, True, "同意")
    assert item.status == ItemStatus.PUBLISHED and item.published_at is not None
    assert lib.enqueued == [("policies.match_item", item.pk, "publish")]
    review = ItemReview.objects.get(item=item)
    assert (review.decision, review.reviewer, review.reason) == ("approve", lib.leader, "同意")
    statuses = [tuple(a.changes["status"]) for a in audit_of(item, AuditAction.TRANSITION)]
    assert statuses == [("review", "published"), ("draft", "review")]
    assert Notification.objects.filter(user=lib.officer, title__contains="通过").exists()


def test_nothing_is_queued_when_the_transaction_rolls_back(lib, django_capture_on_commit_callbacks):
    item = make_item(lib, ItemStatus.REVIEW)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        actions.do_review_item(lib.leader, item, True)
    assert len(callbacks) == 1 and lib.enqueued == []  # queued only through on_commit


def test_four_eyes_submitter_cannot_review_but_a_colleague_can(lib):
    item = make_item(lib, ItemStatus.REVIEW)
    with pytest.raises(PermissionDenied, match="不能审核自己提交"):
        actions.do_review_item(lib.officer, item, True)
    with pytest.raises(PermissionDenied):
        actions.do_review_item(lib.other_officer, item, True)  # another department
    with pytest.raises(PermissionDenied):
        actions.do_review_item(lib.users["dispatcher"], item, True)
    assert actions.do_review_item(lib.officer2, item, True).status == ItemStatus.PUBLISHED


def test_admin_may_review_an_item_it_submitted(lib):
    item = actions.do_create_item(lib.admin, lib.doc, item_data(department=lib.market.code))
    actions.do_submit_item(lib.admin, item)
    assert actions.do_review_item(lib.admin, item, True).status == ItemStatus.PUBLISHED


def test_reject_needs_a_reason_and_returns_to_draft(lib):
    item = make_item(lib, ItemStatus.REVIEW)
    with pytest.raises(ValidationFailed) as info:
        actions.do_review_item(lib.leader, item, False, "  ")
    assert "reason" in info.value.fields
    item.refresh_from_db()
    assert item.status == ItemStatus.REVIEW and not ItemReview.objects.exists()
    item = actions.do_review_item(lib.leader, item, False, "金额公式缺少上限")
    assert item.status == ItemStatus.DRAFT
    assert ItemReview.objects.get(item=item).decision == "reject"
    assert audit_of(item, AuditAction.TRANSITION)[0].reason == "金额公式缺少上限"


@pytest.mark.parametrize("status, action", [
    (ItemStatus.PUBLISHED, lambda o, i: actions.do_submit_item(o.officer, i)),
    (ItemStatus.DRAFT, lambda o, i: actions.do_review_item(o.leader, i, True)),
    (ItemStatus.DRAFT, lambda o, i: actions.do_suspend_item(o.officer, i, "原因")),
    (ItemStatus.PUBLISHED, lambda o, i: actions.do_resume_item(o.officer, i)),
    (ItemStatus.EXPIRED, lambda o, i: actions.do_update_item(o.officer, i, {"title": "新"})),
    (ItemStatus.REVIEW, lambda o, i: actions.do_update_item(o.officer, i, {"title": "新"})),
])
def test_illegal_transitions_are_conflicts(lib, status, action):
    item = make_item(lib, status)
    before = AuditLog.objects.count()
    with pytest.raises(Conflict) as info:
        action(lib, item)
    assert has_chinese(info.value.message)
    item.refresh_from_db()
    assert item.status == status and AuditLog.objects.count() == before


def test_publishing_after_the_window_closed_is_refused(lib):
    item = make_item(lib, ItemStatus.REVIEW, window_end=(timezone.localdate() - dt.timedelta(days=1)).isoformat())
    with pytest.raises(Conflict, match="已过"):
        actions.do_review_item(lib.leader, item, True)


def test_suspend_needs_reason_and_resume_requeues(lib, django_capture_on_commit_callbacks):
    item = make_item(lib, ItemStatus.PUBLISHED)
    with pytest.raises(ValidationFailed):
        actions.do_suspend_item(lib.officer, item, "")
    item = actions.do_suspend_item(lib.leader, item, "预算用完")
    assert item.status == ItemStatus.SUSPENDED
    with django_capture_on_commit_callbacks(execute=True):
        item = actions.do_resume_item(lib.officer, item)
    assert item.status == ItemStatus.PUBLISHED and lib.enqueued == [("policies.match_item", item.pk, "change")]


# ---------------------------------------------------------------- updates and revisions
def test_rule_change_bumps_revision_and_rematches_published_item(lib, django_capture_on_commit_callbacks):
    item = make_item(lib, ItemStatus.PUBLISHED)
    with django_capture_on_commit_callbacks(execute=True):
        item = actions.do_update_item(lib.officer, item, {"title": "研发费用加计扣除补贴(2025年版)"})
    assert item.revision == 1 and lib.enqueued == []
    assert "2025" in item.search_text
    new_rule = {"field": "employees", "op": ">=", "value": 20}
    with django_capture_on_commit_callbacks(execute=True):
        item = actions.do_update_item(lib.officer, item, {"rule": new_rule, "amount_cap": "500000"})
    assert item.revision == 2 and item.rule == new_rule
    assert lib.enqueued == [("policies.match_item", item.pk, "change")]
    change = audit_of(item, AuditAction.UPDATE)[0].changes
    assert change["revision"] == [1, 2] and "rule" in change and "amount_cap" in change


def test_draft_rule_change_bumps_revision_without_matching(lib, django_capture_on_commit_callbacks):
    item = make_item(lib)
    with django_capture_on_commit_callbacks(execute=True):
        item = actions.do_update_item(lib.officer, item, {"params": {}, "amount_formula": "rd_expense * 1000"})
    assert item.revision == 2 and lib.enqueued == []


def test_an_unchanged_update_writes_nothing(lib):
    item = make_item(lib)
    before = AuditLog.objects.count()
    item = actions.do_update_item(lib.officer, item, {"title": item.title, "rule": RULE})
    assert item.revision == 1 and AuditLog.objects.count() == before


# ---------------------------------------------------------------- expiry
def test_expire_items_closes_past_windows_and_expired_documents_once(lib):
    today = timezone.localdate()
    past = make_item(lib, ItemStatus.PUBLISHED, title="过期事项")
    PolicyItem.objects.filter(pk=past.pk).update(window_end=today - dt.timedelta(days=1))
    live = make_item(lib, ItemStatus.PUBLISHED, title="有效事项", window_end=today.isoformat())
    draft = make_item(lib, title="草稿", window_end=(today + dt.timedelta(days=3)).isoformat())
    assert actions.do_expire_items(today) == 1
    assert actions.do_expire_items(today) == 0  # a second run changes nothing
    statuses = dict(PolicyItem.objects.values_list("pk", "status"))
    assert statuses == {past.pk: "expired", live.pk: "published", draft.pk: "draft"}
    assert audit_of(past, AuditAction.TRANSITION)[0].changes["status"] == ["published", "expired"]
    actions.do_update_document(lib.officer, lib.doc, {"expires_on": (today - dt.timedelta(days=1)).isoformat()})
    assert actions.do_expire_items(today) == 1
    assert PolicyItem.objects.get(pk=live.pk).status == "expired"


# ---------------------------------------------------------------- documents and attachments
def test_document_validation_and_reindexing(lib):
    with pytest.raises(ValidationFailed) as info:
        actions.do_create_document(lib.officer, {"title": "", "issuers": "x", "region": "999999",
                                                 "source_url": "ftp://x", "effective_from": "2025-01-02"})
    assert {"title", "region", "source_url"} <= set(info.value.fields)
    with pytest.raises(ValidationFailed) as info:
        actions.do_create_document(lib.officer, {"title": "t", "issuers": "x", "effective_from": "2025-05-01",
                                                 "expires_on": "2025-01-01"})
    assert "expires_on" in info.value.fields
    item = make_item(lib)
    actions.do_update_document(lib.officer, lib.doc, {"doc_number": "豫政〔2025〕88号"})
    item.refresh_from_db()
    assert "88" in item.search_text.split()
    assert audit_of(lib.doc, AuditAction.UPDATE)[0].changes["doc_number"] == ["周政〔2025〕12号", "豫政〔2025〕88号"]
    with pytest.raises(PermissionDenied):
        actions.do_update_document(lib.other_officer, lib.doc, {"title": "改"})


def test_attachment_size_and_type_limits(lib, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(ValidationFailed, match="类型"):
        actions.do_add_attachment(lib.officer, lib.doc, SimpleUploadedFile("run.exe", b"MZ"))
    big = SimpleUploadedFile("big.pdf", b"0" * (actions.ATTACHMENT_MAX_BYTES + 1))
    with pytest.raises(ValidationFailed, match="过大"):
        actions.do_add_attachment(lib.officer, lib.doc, big)
    att = actions.do_add_attachment(lib.officer, lib.doc, SimpleUploadedFile("原文.pdf", b"%PDF-1.4"), "政策原文")
    assert att.name == "政策原文" and lib.doc.attachments.count() == 1
    assert audit_of(lib.doc, AuditAction.UPDATE)[0].changes["attachments"] == [None, "政策原文"]


@pytest.mark.parametrize("change", [{"mode": "auto"}, {"benefit_type": "tax"}])
def test_mode_or_benefit_type_change_rematches_a_published_item(lib, change, django_capture_on_commit_callbacks):
    # 免申即享 and payable items get redemptions from the matcher, so switching either must re-match.
    item = make_item(lib, ItemStatus.PUBLISHED)
    lib.enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        item = actions.do_update_item(lib.officer, item, change)
    key, value = next(iter(change.items()))
    assert getattr(item, key) == value and item.revision == 2
    assert lib.enqueued == [("policies.match_item", item.pk, "change")]
    assert audit_of(item, AuditAction.UPDATE)[0].changes["revision"] == [1, 2]
