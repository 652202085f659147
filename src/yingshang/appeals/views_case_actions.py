"""Pages: the action panel of a 诉求 case — which steps the current user may take now
(``available_actions``) and one POST view per step, each calling exactly one ``do_*`` action.

Success → redirect to the case page with a message. A 409 (illegal transition, overdue, window closed)
or a validation error → the case page re-rendered with the Chinese message next to the form that was
posted, nothing written. A wrong role → PermissionDenied → the 403 page.
"""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from yingshang.appeals import access, actions
from yingshang.appeals.actions_followup import CO_WORKING, OPEN_FOR_FILES
from yingshang.appeals.actions_handling import RUNNING, WORKING, reopen_days
from yingshang.appeals.actions_intake import MERGEABLE, arbitrated
from yingshang.appeals.models import (Appeal, AppealExtension, AppealReview, AppealTask, ExtensionStatus, Status,
                                      TaskRole)
from yingshang.core.errors import DomainError, ValidationFailed

# Steps of each role, in the order the panel shows them.
DISPATCH_STEPS = ("grade", "dispatch", "arbitrate", "refer", "merge", "approve_extension", "reject_extension",
                  "close", "review")
LEAD_STEPS = ("sign", "contact", "pause", "resume", "request_extension", "reply", "return")
CO_STEPS = ("sign_task", "reply_task")
APPELLANT_STEPS = ("rate", "reopen")


def _passes(check, user, appeal) -> bool:
    try:
        check(user, appeal)
    except PermissionDenied:
        return False
    return True


def _pending_extension(appeal: Appeal) -> AppealExtension | None:
    return appeal.extensions.filter(round=appeal.round, status=ExtensionStatus.PENDING).first()


def _reviewed(appeal: Appeal) -> bool:
    return AppealReview.objects.filter(appeal=appeal, round=appeal.round, checked_at__isnull=False).exists()


def _dispatch_steps(appeal: Appeal) -> list[str]:
    s = appeal.status
    ok = {"grade": s in (Status.SUBMITTED, Status.GRADED), "dispatch": s in (Status.GRADED, Status.RETURNED),
          "arbitrate": s == Status.RETURNED, "refer": s in (Status.SUBMITTED, Status.GRADED, Status.RETURNED),
          "merge": s in MERGEABLE, "close": s == Status.REPLIED,
          "review": s == Status.CLOSED and not _reviewed(appeal)}
    decide = s in RUNNING and _pending_extension(appeal) is not None
    ok["approve_extension"] = ok["reject_extension"] = decide
    return [name for name in DISPATCH_STEPS if ok[name]]


def _may_extend(appeal: Appeal) -> bool:
    if appeal.status not in (Status.DISPATCHED, *WORKING):
        return False
    if appeal.due_at is not None and timezone.now() >= appeal.due_at:
        return False  # only before the deadline (the action refuses it too)
    return _pending_extension(appeal) is None


def _lead_steps(appeal: Appeal) -> list[str]:
    s = appeal.status
    ok = {"sign": s == Status.DISPATCHED, "return": s == Status.DISPATCHED and not arbitrated(appeal),
          "contact": s in WORKING, "pause": s in WORKING, "reply": s in WORKING, "resume": s == Status.PAUSED,
          "request_extension": _may_extend(appeal)}
    return [name for name in LEAD_STEPS if ok[name]]


def co_task(user, appeal: Appeal) -> AppealTask | None:
    """The open co-handling task of the user's department in the current round, if any."""
    if not _passes(access.access_co_handle, user, appeal):
        return None
    return AppealTask.objects.filter(appeal=appeal, round=appeal.round, role=TaskRole.CO,
                                     department_id=user.department_id, returned_at__isnull=True).first()


def _co_steps(user, appeal: Appeal) -> list[str]:
    task = co_task(user, appeal) if appeal.status in CO_WORKING else None
    if task is None:
        return []
    ok = {"sign_task": task.signed_at is None, "reply_task": task.replied_at is None}
    return [name for name in CO_STEPS if ok[name]]


def reopen_window_end(appeal: Appeal) -> dt.datetime | None:
    """The last moment the appellant may reopen the closed case (None when it is not closed)."""
    if appeal.status != Status.CLOSED or appeal.closed_at is None:
        return None
    return appeal.closed_at + dt.timedelta(days=reopen_days())


def _appellant_steps(appeal: Appeal) -> list[str]:
    if appeal.status == Status.REPLIED:
        return ["rate"]
    end = reopen_window_end(appeal)
    return ["reopen"] if end is not None and timezone.now() <= end else []


def available_actions(user, appeal: Appeal) -> list[str]:
    """The steps ``user`` may take on ``appeal`` in its current status (the panel shows exactly these);
    "attach" when they may upload files."""
    if not getattr(user, "is_authenticated", False):
        return []
    found: list[str] = []
    if _passes(access.access_dispatch, user, appeal):
        found += _dispatch_steps(appeal)
    if _passes(access.access_handle, user, appeal):
        found += _lead_steps(appeal)
    found += _co_steps(user, appeal)
    if access.is_appellant(user, appeal):
        found += _appellant_steps(appeal)
    if appeal.status in OPEN_FOR_FILES and _passes(access.access_attach, user, appeal):
        found.append("attach")
    return found


# ---------------------------------------------------------------- running one step
def _case(pk: int) -> Appeal:
    return get_object_or_404(Appeal, pk=pk)


def run_step(request: HttpRequest, appeal: Appeal, name: str, call, success: str) -> HttpResponse:
    """Call the step; on success redirect with ``success``, on a domain error re-render the case page
    with the message next to the form ``name`` (status 400 / 404 / 409), nothing written."""
    try:
        call()
    except DomainError as exc:
        from yingshang.appeals.views_case import render_case  # lazily: views_case imports this module

        access.access_appeal_read(request.user, appeal)  # the error page shows the case: readers only
        error = {"action": name, "message": exc.message, "fields": exc.fields}
        return render_case(request, appeal, error=error, posted=request.POST, status=exc.status)
    messages.success(request, success)
    return redirect("appeals:detail", pk=appeal.pk)


def _post(request: HttpRequest, key: str) -> str:
    return request.POST.get(key, "")


def _yes_no(value: str) -> bool | None:
    """The form's 是/否 radio as a bool; anything else None (the action then names the field)."""
    return {"yes": True, "no": False}.get(value)


def _small_int(value: str) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None


def _extension_id(request: HttpRequest, appeal: Appeal) -> int:
    ext_id = _big_id(_post(request, "extension_id"))
    if ext_id is None or not appeal.extensions.filter(pk=ext_id).exists():
        raise ValidationFailed("extension_id: 该诉求没有这项延期申请", fields={"extension_id": "延期申请不存在"})
    return ext_id


def _big_id(value: str) -> int | None:
    text = (value or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


def _merge_target(request: HttpRequest) -> int:
    number = _post(request, "into").strip()
    target = Appeal.objects.filter(number=number[:24]).values_list("pk", flat=True).first() if number else None
    if target is None:
        reason = "请填写要合并至的诉求编号" if not number else f"诉求编号「{number[:24]}」不存在"
        raise ValidationFailed(f"into: {reason}", fields={"into": reason})
    return target


# ---------------------------------------------------------------- the dispatcher
@login_required
@require_POST
def grade(request: HttpRequest, pk: int) -> HttpResponse:
    """定级."""
    a = _case(pk)
    return run_step(request, a, "grade", lambda: actions.do_grade(request.user, a, _post(request, "grade")), "已定级")


@login_required
@require_POST
def dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    """交办 to a lead department and optional co-handling departments."""
    a = _case(pk)
    co = [c for c in request.POST.getlist("co_departments") if c]
    return run_step(request, a, "dispatch", lambda: actions.do_dispatch(
        request.user, a, _post(request, "department"), co), "已交办,已通知承办单位")


@login_required
@require_POST
def arbitrate(request: HttpRequest, pk: int) -> HttpResponse:
    """裁定交办 after a return."""
    a = _case(pk)
    return run_step(request, a, "arbitrate", lambda: actions.do_arbitrate(
        request.user, a, _post(request, "department"), _post(request, "reason")), "已裁定交办")


@login_required
@require_POST
def refer(request: HttpRequest, pk: int) -> HttpResponse:
    """转出 (not a government matter)."""
    a = _case(pk)
    return run_step(request, a, "refer", lambda: actions.do_refer(request.user, a, _post(request, "reason")),
                    "已转出")


@login_required
@require_POST
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """合并 into another case, named by its number."""
    a = _case(pk)
    return run_step(request, a, "merge", lambda: actions.do_merge(
        request.user, a, _merge_target(request), _post(request, "reason")), "已合并")


@login_required
@require_POST
def approve_extension(request: HttpRequest, pk: int) -> HttpResponse:
    """批准延期."""
    a = _case(pk)
    return run_step(request, a, "approve_extension", lambda: actions.do_approve_extension(
        request.user, _extension_id(request, a), _post(request, "reason")), "已批准延期,期限已顺延")


@login_required
@require_POST
def reject_extension(request: HttpRequest, pk: int) -> HttpResponse:
    """驳回延期 (reason required)."""
    a = _case(pk)
    return run_step(request, a, "reject_extension", lambda: actions.do_reject_extension(
        request.user, _extension_id(request, a), _post(request, "reason")), "已驳回延期申请")


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    """办结 without a rating."""
    a = _case(pk)
    return run_step(request, a, "close", lambda: actions.do_close(request.user, a, _post(request, "reason")),
                    "已办结(未评价,按默认评价)")


@login_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """回头看: passed, or not (the case is reopened)."""
    a = _case(pk)
    passed = _yes_no(_post(request, "passed"))
    done = "回头看已记录" if passed else "回头看未通过,诉求已重新交办"
    return run_step(request, a, "review", lambda: actions.do_review(
        request.user, a, passed, _post(request, "note")), done)


# ---------------------------------------------------------------- the lead department
@login_required
@require_POST
def sign(request: HttpRequest, pk: int) -> HttpResponse:
    """签收."""
    a = _case(pk)
    return run_step(request, a, "sign", lambda: actions.do_sign(request.user, a), "已签收")


@login_required
@require_POST
def return_case(request: HttpRequest, pk: int) -> HttpResponse:
    """退单 (reason required)."""
    a = _case(pk)
    return run_step(request, a, "return", lambda: actions.do_return(request.user, a, _post(request, "reason")),
                    "已退单,已通知营商办")


@login_required
@require_POST
def contact(request: HttpRequest, pk: int) -> HttpResponse:
    """Record contact with the appellant."""
    a = _case(pk)
    return run_step(request, a, "contact", lambda: actions.do_contact(request.user, a, _post(request, "note")),
                    "已记录联系情况")


@login_required
@require_POST
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    """暂停办理 (reason required): the clock stops."""
    a = _case(pk)
    return run_step(request, a, "pause", lambda: actions.do_pause(request.user, a, _post(request, "reason")),
                    "已暂停办理,期限冻结")


@login_required
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    """恢复办理."""
    a = _case(pk)
    return run_step(request, a, "resume", lambda: actions.do_resume(request.user, a), "已恢复办理,期限已顺延")


@login_required
@require_POST
def request_extension(request: HttpRequest, pk: int) -> HttpResponse:
    """申请延期 (working days, reason)."""
    a = _case(pk)
    days = _small_int(_post(request, "days"))
    return run_step(request, a, "request_extension", lambda: actions.do_request_extension(
        request.user, a, days, _post(request, "reason")), "延期申请已提交,等待营商办审批")


@login_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    """答复 with a result."""
    a = _case(pk)
    return run_step(request, a, "reply", lambda: actions.do_reply(
        request.user, a, _post(request, "result"), _post(request, "content")), "已答复,已通知企业评价")


# ---------------------------------------------------------------- co-handling departments
@login_required
@require_POST
def sign_task(request: HttpRequest, pk: int) -> HttpResponse:
    """签收协办任务."""
    a = _case(pk)
    return run_step(request, a, "sign_task", lambda: actions.do_sign_task(request.user, a), "已签收协办任务")


@login_required
@require_POST
def reply_task(request: HttpRequest, pk: int) -> HttpResponse:
    """提交协办意见."""
    a = _case(pk)
    return run_step(request, a, "reply_task", lambda: actions.do_reply_task(
        request.user, a, _post(request, "content")), "协办意见已提交主办单位")


# ---------------------------------------------------------------- the appellant
@login_required
@require_POST
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    """评价 (closes the case)."""
    a = _case(pk)
    resolved = _yes_no(_post(request, "resolved"))
    return run_step(request, a, "rate", lambda: actions.do_rate(
        request.user, a, resolved, _post(request, "satisfaction"), _post(request, "comment")), "感谢评价,诉求已办结")


@login_required
@require_POST
def reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """重办 inside the window."""
    a = _case(pk)
    return run_step(request, a, "reopen", lambda: actions.do_reopen(request.user, a, _post(request, "reason")),
                    "已申请重办,诉求已重新交办原承办单位")


# ---------------------------------------------------------------- attachments
@login_required
@require_POST
def attach(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload files to the case (type, size and content checked by the action)."""
    a = _case(pk)
    files = request.FILES.getlist("files")
    return run_step(request, a, "attach", lambda: actions.do_attach(request.user, a, files),
                    f"已上传 {len(files)} 个附件")
