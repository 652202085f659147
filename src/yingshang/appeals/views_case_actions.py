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
from yingshang.appeals.actions_handling import EXTENDABLE, WORKING, reopen_days
from yingshang.appeals.actions_intake import MERGEABLE, arbitrated
from yingshang.appeals.models import (Appeal, AppealExtension, AppealReview, AppealTask, ExtensionStatus, Status,
                                      TaskRole)
from yingshang.appeals.queries import parse_id
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
    decide = s in EXTENDABLE and _pending_extension(appeal) is not None
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
        error = {"action": name, "message": exc.plain_message, "fields": exc.fields}
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
    ext_id = parse_id(_post(request, "extension_id"))
    if ext_id is None or not appeal.extensions.filter(pk=ext_id).exists():
        raise ValidationFailed("extension_id: 该诉求没有这项延期申请", fields={"extension_id": "延期申请不存在"})
    return ext_id


def _merge_target(request: HttpRequest) -> int:
    number = _post(request, "into").strip()
    target = Appeal.objects.filter(number=number[:24]).values_list("pk", flat=True).first() if number else None
    if target is None:
        reason = "请填写要合并至的诉求编号" if not number else f"诉求编号「{number[:24]}」不存在"
        raise ValidationFailed(f"into: {reason}", fields={"into": reason})
    return target


# ---------------------------------------------------------------- the steps
def _co(r, a) -> list[str]:
    return [c for c in r.POST.getlist("co_departments") if c]


# step → (call(request, case), success message). Each call is ONE do_* action; arguments are parsed
# here (numbers, yes/no, ids) and validated by the action itself.
STEP_CALLS = {
    "grade": (lambda r, a: actions.do_grade(r.user, a, _post(r, "grade")), "已定级"),
    "dispatch": (lambda r, a: actions.do_dispatch(r.user, a, _post(r, "department"), _co(r, a)),
                 "已交办,已通知承办单位"),
    "arbitrate": (lambda r, a: actions.do_arbitrate(r.user, a, _post(r, "department"), _post(r, "reason")),
                  "已裁定交办"),
    "refer": (lambda r, a: actions.do_refer(r.user, a, _post(r, "reason")), "已转出"),
    "merge": (lambda r, a: actions.do_merge(r.user, a, _merge_target(r), _post(r, "reason")), "已合并"),
    "approve_extension": (lambda r, a: actions.do_approve_extension(r.user, _extension_id(r, a), _post(r, "reason")),
                          "已批准延期,期限已顺延"),
    "reject_extension": (lambda r, a: actions.do_reject_extension(r.user, _extension_id(r, a), _post(r, "reason")),
                         "已驳回延期申请"),
    "close": (lambda r, a: actions.do_close(r.user, a, _post(r, "reason")), "已办结(未评价,按默认评价)"),
    "review": (lambda r, a: actions.do_review(r.user, a, _yes_no(_post(r, "passed")), _post(r, "note")),
               "回头看已记录"),
    "sign": (lambda r, a: actions.do_sign(r.user, a), "已签收"),
    "return": (lambda r, a: actions.do_return(r.user, a, _post(r, "reason")), "已退单,已通知营商办"),
    "contact": (lambda r, a: actions.do_contact(r.user, a, _post(r, "note")), "已记录联系情况"),
    "pause": (lambda r, a: actions.do_pause(r.user, a, _post(r, "reason")), "已暂停办理,期限冻结"),
    "resume": (lambda r, a: actions.do_resume(r.user, a), "已恢复办理,期限已顺延"),
    "request_extension": (lambda r, a: actions.do_request_extension(
        r.user, a, _small_int(_post(r, "days")), _post(r, "reason")), "延期申请已提交,等待营商办审批"),
    "reply": (lambda r, a: actions.do_reply(r.user, a, _post(r, "result"), _post(r, "content")),
              "已答复,已通知企业评价"),
    "sign_task": (lambda r, a: actions.do_sign_task(r.user, a), "已签收协办任务"),
    "reply_task": (lambda r, a: actions.do_reply_task(r.user, a, _post(r, "content")), "协办意见已提交主办单位"),
    "rate": (lambda r, a: actions.do_rate(r.user, a, _yes_no(_post(r, "resolved")), _post(r, "satisfaction"),
                                          _post(r, "comment")), "感谢评价,诉求已办结"),
    "reopen": (lambda r, a: actions.do_reopen(r.user, a, _post(r, "reason")), "已申请重办,诉求已重新交办原承办单位"),
    "attach": (lambda r, a: actions.do_attach(r.user, a, r.FILES.getlist("files")), "附件已上传"),
}


def _success(name: str, request: HttpRequest) -> str:
    if name == "review" and _yes_no(_post(request, "passed")) is False:
        return "回头看未通过,诉求已重新交办"
    if name == "attach":
        return f"已上传 {len(request.FILES.getlist('files'))} 个附件"
    return STEP_CALLS[name][1]


@login_required
@require_POST
def step(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One life-cycle step posted from the case page's action panel."""
    a = _case(pk)
    call = STEP_CALLS[name][0]
    return run_step(request, a, name, lambda: call(request, a), _success(name, request))
