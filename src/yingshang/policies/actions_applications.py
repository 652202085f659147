"""申报 / 即申即享 applications: submit with materials, withdraw, review within the budget, payout, receipt.

即申即享 items use the same flow; the department simply approves as soon as the application arrives.
Approving commits money against the item's budget under the same item-row lock as redemption
confirmation (``actions_redemption.lock_item``), so the two can never overspend together.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from yingshang.core import audit
from yingshang.core.uploads import MAX_FILE_BYTES, SIGNATURES, check_upload  # noqa: F401 (re-exported)
from yingshang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yingshang.core.models import AuditAction, Role
from yingshang.policies import actions_redemption as reds
from yingshang.policies.actions_redemption import (MAX_REF, access_enterprise_user, access_manage,
                                                   department_officers, lock_item, remaining_budget)
from yingshang.policies.models import (Application, ApplicationFile, ApplicationStatus as AS, ItemStatus, Mode,
                                       PolicyItem)

MAX_NOTE = 2000
MAX_REASON = 500
MAX_AMOUNT = Decimal("1000000000000")  # 1 万亿元: anything above is a typo, not a subsidy
OPEN_STATUSES = (AS.SUBMITTED, AS.APPROVED, AS.PAID, AS.RECEIVED)
APPLICATION_LINK = "/policies/redemption/mine/"


# ---------------------------------------------------------------- submission checks
def _check_applicant(actor) -> None:
    if not getattr(actor, "is_authenticated", False) or actor.role != Role.ENTERPRISE or not actor.enterprise_id:
        raise Forbidden("只有企业用户可以提交政策申报")


def check_item_open(item: PolicyItem) -> None:
    """Raise Conflict unless ``item`` takes applications today (published, not 免申即享, window open)."""
    if item.mode == Mode.AUTO:
        raise Conflict(f"「{item.title}」为免申即享事项,无需申报,符合条件后将直接兑现")
    if item.status != ItemStatus.PUBLISHED:
        raise Conflict(f"「{item.title}」当前状态为「{item.get_status_display()}」,不接受申报")
    today = timezone.localdate()
    if item.window_start and today < item.window_start:
        raise Conflict(f"「{item.title}」申报尚未开始(申报期 {item.window_start:%Y-%m-%d} 起)")
    if item.window_end and today > item.window_end:
        raise Conflict(f"「{item.title}」申报已截止(截止日期 {item.window_end:%Y-%m-%d})")


def required_materials(item: PolicyItem) -> list[str]:
    """Names of the materials an application for ``item`` must include."""
    return [m["name"] for m in (item.materials or []) if isinstance(m, dict) and m.get("required")]


def _check_file(name: str, upload) -> None:
    check_upload(f"材料「{name}」", f"材料:{name}", upload)


def _check_files(item: PolicyItem, files: dict) -> None:
    known = {m["name"] for m in (item.materials or []) if isinstance(m, dict)}
    unknown = [n for n in files if n not in known]
    if unknown:
        raise ValidationFailed(f"「{unknown[0]}」不是该事项要求的申报材料", fields={f"材料:{unknown[0]}": "不是该事项的材料"})
    missing = [n for n in required_materials(item) if not files.get(n)]
    if missing:
        raise ValidationFailed(f"缺少必需的申报材料:{'、'.join(missing)}",
                               fields={f"材料:{n}": "必须上传" for n in missing})
    for name, upload in files.items():
        if upload:
            _check_file(name, upload)


def collect_files(item: PolicyItem, uploads) -> dict:
    """{material name: UploadedFile} from a request's FILES: each field named after a material, or
    ``material_<n>`` for the n-th material (0-based) of ``item.materials``."""
    names = [m.get("name") for m in (item.materials or []) if isinstance(m, dict)]
    out = {}
    for field in uploads:
        files = uploads.getlist(field) if hasattr(uploads, "getlist") else [uploads[field]]
        name = field
        if field.startswith("material_") and field[9:].isdigit() and int(field[9:]) < len(names):
            name = names[int(field[9:])]
        if len(files) > 1 or name in out:
            raise ValidationFailed(f"材料「{name}」只能上传一个文件", fields={f"材料:{name}": "只能上传一个文件"})
        out[name] = files[0]
    return out


def _check_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(f"申请说明不能超过 {MAX_NOTE} 个字符", fields={"note": "过长"})
    return note


# ---------------------------------------------------------------- notifications
def _notify_enterprise(app: Application, stage: str, title: str, body: str = "") -> None:
    from yingshang.core.notify import do_notify
    from yingshang.core.models import User

    users = User.objects.filter(role=Role.ENTERPRISE, enterprise_id=app.enterprise_id)
    do_notify(users, key=f"application:{app.pk}:{stage}", title=title, body=body,
              link=f"/policies/applications/{app.pk}/", category="policy")


def _notify_department(app: Application, stage: str, title: str) -> None:
    from yingshang.core.notify import do_notify

    do_notify(department_officers(app.item), key=f"application:{app.pk}:{stage}:dept", title=title,
              link=f"/policies/applications/{app.pk}/", category="policy")


# ---------------------------------------------------------------- actions
def _create(actor, item: PolicyItem, note: str, files: dict) -> Application:
    if Application.objects.filter(item=item, enterprise_id=actor.enterprise_id, status__in=OPEN_STATUSES).exists():
        raise Conflict(f"本企业已有「{item.title}」的申报在办理中,不能重复申报")
    app = Application(item=item, enterprise_id=actor.enterprise_id, applicant=actor, note=note,
                      amount_estimated=reds.estimate_amount(item, actor.enterprise))
    try:
        with transaction.atomic():  # a savepoint: a concurrent duplicate must not poison the outer transaction
            app.save(force_insert=True)
    except IntegrityError:
        raise Conflict(f"本企业已有「{item.title}」的申报在办理中,不能重复申报") from None
    for name, upload in files.items():
        if upload:
            ApplicationFile.objects.create(application=app, material=name, file=upload)
    return app


def do_submit_application(actor, item: PolicyItem, note: str, files: dict) -> Application:
    """An enterprise user applies for a 申报/即申即享 item with its materials ({material name: UploadedFile})."""
    _check_applicant(actor)
    check_item_open(item)
    note = _check_note(note)
    files = dict(files or {})
    _check_files(item, files)
    with transaction.atomic():
        app = _create(actor, item, note, files)
        audit.record(actor, AuditAction.CREATE, app, changes={
            "status": [None, AS.SUBMITTED.value], "materials": [None, sorted(n for n, f in files.items() if f)],
            "amount_estimated": [None, None if app.amount_estimated is None else str(app.amount_estimated)]})
        _notify_department(app, "submitted", f"{actor.enterprise.name} 申报「{item.title}」,请审核")
        _notify_enterprise(app, "submitted", f"「{item.title}」申报已提交", "请留意审核结果。")
    return app


def _locked(application: Application) -> Application:
    return Application.objects.select_for_update().select_related("item", "enterprise").get(pk=application.pk)


def _move(actor, app: Application, allowed, new_status: str, reason: str = "", **values) -> Application:
    """Change a locked application's status (audited); Conflict when its current status does not allow it."""
    if app.status not in allowed:
        raise Conflict(f"申报当前状态为「{app.get_status_display()}」,不能改为「{AS(new_status).label}」")
    before = audit.snapshot(app, ["status", *values])
    for name, value in values.items():
        setattr(app, name, value)
    app.status = new_status
    changes = audit.diff(before, audit.snapshot(app, ["status", *values]))
    app.save(update_fields=["status", *values])
    audit.record(actor, AuditAction.TRANSITION, app, changes=changes, reason=reason)
    return app


def do_withdraw_application(actor, application: Application) -> Application:
    """The enterprise withdraws an application not yet reviewed."""
    access_enterprise_user(actor, application, "撤回申报")
    with transaction.atomic():
        app = _move(actor, _locked(application), (AS.SUBMITTED,), AS.WITHDRAWN)
        _notify_department(app, "withdrawn", f"{app.enterprise.name} 撤回了「{app.item.title}」的申报")
    return app


def _parse_amount(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed("核定金额应为数字", fields={"amount": "应为数字"}) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationFailed("核定金额不能为负数", fields={"amount": "不能为负数"})
    if amount > MAX_AMOUNT:
        raise ValidationFailed("核定金额不能超过 1,000,000,000,000.00 元", fields={"amount": "金额过大"})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("核定金额最多两位小数", fields={"amount": "最多两位小数"})
    return amount.quantize(Decimal("0.01"))


def check_cap(item: PolicyItem, amount: Decimal | None) -> None:
    """Refuse an amount above the item's per-enterprise cap (when the item has one)."""
    if amount is not None and item.amount_cap is not None and amount > item.amount_cap:
        raise ValidationFailed(f"核定金额 {amount:,.2f} 元超过该事项的金额上限 {item.amount_cap:,.2f} 元",
                               fields={"amount": f"不能超过金额上限 {item.amount_cap:,.2f} 元"})


def _approval_amount(app: Application, item: PolicyItem, amount) -> Decimal | None:
    amount = _parse_amount(amount)
    if amount is None:
        amount = app.amount_estimated
    if amount is None and item.budget is not None:
        raise ValidationFailed("该申报无测算金额,请填写核定金额", fields={"amount": "请填写核定金额"})
    check_cap(item, amount)
    remaining = remaining_budget(item)
    if amount is not None and remaining is not None and amount > remaining:
        raise Conflict(f"预算不足:事项「{item.title}」剩余预算 {remaining:,.2f} 元,核定金额 {amount:,.2f} 元,不能批准")
    return amount


def do_review_application(actor, application: Application, approve: bool, reason: str = "",
                          amount_approved=None) -> Application:
    """The department approves (amount defaults to the estimate; never beyond the budget) or rejects with a reason."""
    access_manage(actor, application.item)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"审核意见不能超过 {MAX_REASON} 个字符", fields={"reason": "过长"})
    if not approve and not reason:
        raise ValidationFailed("不予通过时必须填写审核意见(理由)", fields={"reason": "不能为空"})
    with transaction.atomic():
        item = lock_item(application.item)
        app = _locked(application)
        if app.status != AS.SUBMITTED:
            raise Conflict(f"申报当前状态为「{app.get_status_display()}」,不能重复审核")
        values = {"reviewed_by": actor, "reviewed_at": timezone.now(), "review_reason": reason}
        if approve:
            values["amount_approved"] = _approval_amount(app, item, amount_approved)
        app = _move(actor, app, (AS.SUBMITTED,), AS.APPROVED if approve else AS.REJECTED, reason=reason, **values)
        if approve:
            money = f"核定金额 {app.amount_approved:,.2f} 元。" if app.amount_approved is not None else ""
            _notify_enterprise(app, "approved", f"「{item.title}」申报已通过", money + "资金拨付后请确认到账。")
        else:
            _notify_enterprise(app, "rejected", f"「{item.title}」申报未通过", f"理由:{reason}")
    return app


def do_record_application_payout(actor, application: Application, payout_ref: str) -> Application:
    """Record the payout of an approved application (→ paid); asks the enterprise to confirm receipt."""
    access_manage(actor, application.item)
    ref = (payout_ref or "").strip()
    if not ref or len(ref) > MAX_REF:
        raise ValidationFailed(f"请填写拨付凭证号(1–{MAX_REF} 个字符)", fields={"payout_ref": "不能为空或过长"})
    with transaction.atomic():
        app = _move(actor, _locked(application), (AS.APPROVED,), AS.PAID, paid_at=timezone.now(), payout_ref=ref)
        _notify_enterprise(app, "paid", f"「{app.item.title}」资金已拨付,请确认到账", f"凭证号 {ref}。")
    return app


def do_confirm_application_receipt(actor, application: Application) -> Application:
    """The enterprise confirms the money arrived (paid → received)."""
    access_enterprise_user(actor, application, "确认到账")
    with transaction.atomic():
        app = _move(actor, _locked(application), (AS.PAID,), AS.RECEIVED, received_at=timezone.now())
        _notify_department(app, "received", f"{app.enterprise.name} 已确认「{app.item.title}」资金到账")
        _notify_enterprise(app, "received", f"「{app.item.title}」已确认到账", "办理完毕,感谢配合。")
    return app


def do_read_material(actor, application: Application, file_id: int) -> ApplicationFile:
    """One uploaded material of an application for download; staff downloads are audited (materials may
    hold personal data such as ID cards)."""
    reds.access_record_read(actor, application)
    f = application.files.filter(pk=file_id).first()
    if f is None:
        raise NotFound(f"申报 {application.pk} 没有编号为 {file_id} 的材料")
    if actor.role != Role.ENTERPRISE:
        with transaction.atomic():
            audit.record(actor, AuditAction.READ_PERSONAL, application, reason=f"下载申报材料「{f.material}」")
    return f


__all__ = ["do_submit_application", "do_withdraw_application", "do_review_application",
           "do_record_application_payout", "do_confirm_application_receipt", "required_materials", "collect_files",
           "do_read_material"]
