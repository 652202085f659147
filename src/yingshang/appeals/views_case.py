"""Pages: submitting a 诉求 (anonymous public too) with live duplicate suggestions, the confirmation, and
the case page — status, countdown, departments and tasks, redacted content with the audited reveal,
attachments, timeline, extensions, rating and the action panel (``views_case_actions``).

The case is presented through ``api.appeal_out`` so the page masks exactly what the API masks: staff see
contact data masked and free text redacted until they reveal it (``do_reveal_contact``, audited).
"""
from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from yingshang.appeals import access, actions, public
from yingshang.appeals.actions_followup import MAX_ATTACHMENTS
from yingshang.appeals.api import BASE, appeal_out
from yingshang.appeals.models import (OPEN_STATUSES, Appeal, Category, Channel, EscalationLevel,
                                      ExtensionStatus, FactorKind, Grade, Result, Satisfaction, Status)
from yingshang.appeals.queries import STATUS_CSS, countdown, department_groups, department_options, is_overdue
from yingshang.appeals.similar import Candidate, SimilarIndex
from yingshang.appeals.views_case_actions import available_actions, co_task, reopen_window_end
from yingshang.core.errors import DomainError
from yingshang.core.models import AuditAction, AuditLog, Region, RegionLevel, Role
from yingshang.core.uploads import ACCEPT, ALLOWED_TEXT

SUBMIT_FIELDS = ("title", "content", "category", "factor_kind", "region_code", "enterprise_uscc", "contact_name",
                 "contact_phone", "channel", "external_ref")
# Channels a member of staff usually enters for their own role (they may pick another).
DEFAULT_CHANNEL = {Role.SUPERVISOR: Channel.SUPERVISOR, Role.STEWARD: Channel.STEWARD}
SIMILAR_POOL = 500  # the most recent open cases a suggestion is scored against (one index per request)
SESSION_KEY = "appeals_submitted"
# Timeline steps the model's labels do not name (co-handling, files).
EXTRA_LABELS = {"sign_task": "协办签收", "reply_task": "协办意见", "attach": "上传附件"}
def _user(request: HttpRequest):
    """The logged-in user, or None for an anonymous member of the public."""
    return request.user if request.user.is_authenticated else None


# ---------------------------------------------------------------- the submission form
def _regions() -> list[dict]:
    """Counties with their towns/streets, for the grouped region select."""
    rows = Region.objects.filter(level__in=[RegionLevel.COUNTY, RegionLevel.STREET]).order_by("code")
    groups: dict[str, dict] = {}
    for r in rows:
        if r.level == RegionLevel.COUNTY:
            groups[r.code] = {"county": r, "towns": []}
        elif r.parent_id in groups:
            groups[r.parent_id]["towns"].append(r)
    return list(groups.values())


def _defaults(user) -> dict:
    values = {name: "" for name in SUBMIT_FIELDS} | {"disclose": False}
    if user is None:
        return values | {"channel": Channel.PORTAL}
    values["channel"] = DEFAULT_CHANNEL.get(user.role, Channel.PORTAL)
    if user.role == Role.ENTERPRISE and user.enterprise_id:
        values.update(enterprise_uscc=user.enterprise.uscc, region_code=user.enterprise.region_id)
    return values


def _posted(request: HttpRequest, user) -> dict:
    values = {name: request.POST.get(name, "").strip() for name in SUBMIT_FIELDS}
    values["disclose"] = request.POST.get("disclose") == "on"
    if user is not None and user.role == Role.ENTERPRISE:
        values["enterprise_uscc"] = user.enterprise.uscc if user.enterprise_id else ""  # fixed: own enterprise
    if user is None or user.role == Role.ENTERPRISE:
        values["channel"], values["external_ref"] = Channel.PORTAL, ""
    return values


def _idempotency_key(request: HttpRequest) -> str:
    """The form's key (one per rendered form), or a fresh one when a client sent none."""
    key = request.POST.get("idempotency_key", "").strip()
    return key[:80] if key else uuid.uuid4().hex


def _submit(user, values: dict, key: str, files) -> Appeal:
    """Create the case with its files (one action: if a file is refused, no case is left behind)."""
    return actions.do_submit_appeal_with_files(user, values, files, key)


def _form_context(user, values: dict, key: str, error: DomainError | None = None) -> dict:
    staff = user is not None and user.role != Role.ENTERPRISE
    return {"values": values, "key": key, "error": error.plain_message if error else "",
            "errors": error.fields if error else {}, "regions": _regions(), "categories": Category.choices,
            "factor_kinds": FactorKind.choices, "channels": Channel.choices, "pick_channel": staff,
            "fixed_enterprise": user is not None and user.role == Role.ENTERPRISE, "anonymous": user is None,
            "registrar": user is not None and (user.is_superuser or user.role in (Role.DISPATCHER, Role.ADMIN)),
            "accept": ACCEPT, "allowed": ALLOWED_TEXT, "max_files": MAX_ATTACHMENTS}


def new(request: HttpRequest) -> HttpResponse:
    """提交诉求: anonymous public, enterprises (own USCC fixed) and staff (any channel)."""
    user = _user(request)
    access.access_submit(user)
    if request.method != "POST":
        return render(request, "appeals/case/new.html", _form_context(user, _defaults(user), uuid.uuid4().hex))
    values, key = _posted(request, user), _idempotency_key(request)
    try:
        appeal = _submit(user, values, key, request.FILES.getlist("files"))
    except DomainError as exc:
        return render(request, "appeals/case/new.html", _form_context(user, values, key, exc), status=exc.status)
    request.session[SESSION_KEY] = appeal.number
    return redirect("appeals:submitted")


def submitted(request: HttpRequest) -> HttpResponse:
    """The confirmation with the case number (kept in the submitter's session only)."""
    number = request.session.get(SESSION_KEY)
    appeal = Appeal.objects.filter(number=number).first() if number else None
    if appeal is None:
        return redirect("appeals:new")
    user = _user(request)
    readable = user is not None and access.can_read(user, appeal)
    return render(request, "appeals/case/submitted.html", {
        "appeal": appeal, "readable": readable, "on_board": public.public_qs().filter(pk=appeal.pk).exists()})


# ---------------------------------------------------------------- live duplicate suggestions
def _candidate(a: Appeal, own: bool) -> Candidate:
    # A public case is compared as the public sees it — redacted text, no enterprise — so that typing a
    # contact name, phone or company name cannot find whose case it is.
    if own:
        return Candidate(a.pk, a.enterprise_id, a.region_id, a.category, a.title, a.content, a.created_at)
    scrub = public.scrubber(a)
    return Candidate(a.pk, None, a.region_id, a.category, scrub(a.title), scrub(a.content), a.created_at)


def _pool(user, statuses, with_public: bool) -> tuple[dict, set]:
    """Recent cases to compare with: those the user may read in full, plus disclosed ones (shown redacted)."""
    own = access.visible_appeals(user, Appeal.objects.filter(status__in=statuses)) if user else Appeal.objects.none()
    own_rows = list(own.select_related("region").order_by("-created_at", "-id")[:SIMILAR_POOL])
    shown = public.public_qs().filter(status__in=statuses).order_by("-created_at", "-id")[:SIMILAR_POOL] \
        if with_public else []
    cases = {a.pk: a for a in shown} | {a.pk: a for a in own_rows}
    return cases, {a.pk for a in own_rows}


def suggestions(user, query: Candidate, *, limit: int = 5, with_public: bool = True) -> list[dict]:
    """Likely duplicates of ``query`` among the open cases the user may see, as rows for the template."""
    if len((query.title + query.content).strip()) < 4:
        return []
    cases, own = _pool(user, OPEN_STATUSES, with_public)
    if not cases:
        return []
    index = SimilarIndex(_candidate(a, a.pk in own) for a in cases.values())
    rows = []
    for s in index.suggest(query, limit=limit):
        a = cases[s.case_id]
        title = a.title if s.case_id in own else public.scrubber(a)(a.title)
        rows.append({"appeal": a, "own": s.case_id in own, "title": title, "score": round(s.score * 100),
                     "reasons": s.reasons, "status": a.get_status_display()})
    return rows


def _query_enterprise(user, uscc: str) -> int | None:
    if user is None:
        return None
    if user.role == Role.ENTERPRISE:
        return user.enterprise_id
    from yingshang.enterprises.models import Enterprise

    return Enterprise.objects.filter(uscc=uscc.strip().upper()[:18]).values_list("pk", flat=True).first()


@require_POST
def similar(request: HttpRequest) -> HttpResponse:
    """HTMX partial: similar open cases for the title/content being typed (read-only; POST because the
    content may be far longer than a URL may be)."""
    user, g = _user(request), request.POST
    query = Candidate(None, _query_enterprise(user, g.get("enterprise_uscc", "")), g.get("region_code", "")[:12],
                      g.get("category", "")[:20], g.get("title", "")[:200], g.get("content", "")[:5000])
    return render(request, "appeals/case/_similar.html", {"rows": suggestions(user, query)})


# ---------------------------------------------------------------- the case page
def _load(pk: int) -> Appeal:
    return get_object_or_404(Appeal.objects.select_related(*BASE), pk=pk)


def _readable(request: HttpRequest, pk: int) -> Appeal:
    appeal = _load(pk)
    access.access_appeal_read(request.user, appeal)
    return appeal


def clock_view(appeal: Appeal) -> dict:
    """The countdown as the page shows it: working days left, overdue days, frozen, provisional."""
    left = countdown(appeal)
    overdue = is_overdue(appeal, timezone.now()) or (left is not None and left < 0)
    return {"due_date": appeal.due_date, "due_at": appeal.due_at, "left": left, "overdue": overdue,
            "overdue_days": -left if left is not None and left < 0 else 0, "paused": appeal.status == Status.PAUSED,
            "provisional": appeal.due_provisional, "year": appeal.due_date.year if appeal.due_date else None,
            "running": left is not None}


def _events(case: dict) -> list[dict]:
    for e in case["events"]:
        e["action_label"] = EXTRA_LABELS.get(e["action"], e["action_label"])
    return case["events"]


def _reveals(user, appeal: Appeal) -> list:
    """Who read the contact data and when (staff only: the appellant sees their own data anyway)."""
    if access.sees_contact_plainly(user, appeal):
        return []
    return list(AuditLog.objects.for_object(appeal).filter(action=AuditAction.READ_PERSONAL)[:20])


def _action_choices(user, names: list[str], appeal: Appeal) -> dict:
    """Option lists the panel's forms need (only what is shown)."""
    out: dict = {}
    if {"grade"} & set(names):
        out["grades"] = Grade.objects.filter(is_active=True)
    if {"dispatch", "arbitrate"} & set(names):  # the case's county first, then the city's bureaus
        out["department_groups"] = department_groups(department_options(user), appeal.region_id)
    if "reply" in names:
        out["results"] = Result.choices
    if "rate" in names:
        out["satisfactions"] = Satisfaction.choices
    if {"approve_extension", "reject_extension"} & set(names):
        out["pending"] = appeal.extensions.filter(round=appeal.round, status=ExtensionStatus.PENDING)
    return out


def _co_pending(case: dict, appeal: Appeal) -> list[dict]:
    """Co-handling tasks of the current round still without their part (the lead should wait for them)."""
    return [t for t in case["tasks"] if t["role"] == "co" and t["round"] == appeal.round
            and not t["replied_at"] and not t["returned_at"]]


def case_context(request: HttpRequest, appeal: Appeal, *, revealed: bool = False) -> dict:
    """Everything the case page shows for the current user."""
    user = request.user
    case = appeal_out(user, appeal, revealed=revealed)
    names = available_actions(user, appeal)
    plain = access.sees_contact_plainly(user, appeal)
    return {"appeal": appeal, "case": case, "events": _events(case), "actions": names, "clock": clock_view(appeal),
            "panel": [n for n in names if n != "attach"],
            "status_css": STATUS_CSS.get(appeal.status, "badge-computed"), "plain": plain or revealed,
            "can_reveal": not plain and not revealed, "revealed": revealed, "reveals": _reveals(user, appeal),
            "tasks": case["tasks"], "co_task": co_task(user, appeal), "co_pending": _co_pending(case, appeal),
            "reopen_until": reopen_window_end(appeal),
            "escalation": EscalationLevel(appeal.escalation_level).label, "accept": ACCEPT, "allowed": ALLOWED_TEXT,
            "review": appeal.reviews.filter(round=appeal.round).first(), **_action_choices(user, names, appeal)}


def render_case(request: HttpRequest, appeal: Appeal, *, error: dict | None = None, posted=None,
                revealed: bool = False, status: int = 200) -> HttpResponse:
    """The case page (fresh from the database), optionally with an action's error next to its form."""
    appeal = _load(appeal.pk)
    refill = {error["action"]: posted} if error and posted is not None else {}
    ctx = case_context(request, appeal, revealed=revealed) | {"error": error or {}, "refill": refill}
    return render(request, "appeals/case/detail.html", ctx, status=status)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The case page for anyone who may read the case."""
    return render_case(request, _readable(request, pk))


@login_required
@require_POST
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """查看联系人及原文: audited read of the contact data and the unredacted text, then the page in full."""
    appeal = _readable(request, pk)
    actions.do_reveal_contact(request.user, appeal)
    if request.headers.get("HX-Request") == "true":
        ctx = case_context(request, appeal, revealed=True)
        return render(request, "appeals/case/_private.html", ctx)
    return render_case(request, appeal, revealed=True)


@login_required
def attachment(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    """Download an attachment (a staff read is audited by the action)."""
    appeal = _readable(request, pk)
    try:
        found = actions.do_read_attachment(request.user, appeal, file_id)
        handle = found.file.open("rb")
    except DomainError as exc:
        raise Http404(exc.message) from None
    except FileNotFoundError:
        raise Http404("附件文件已不存在") from None
    return FileResponse(handle, as_attachment=True, filename=found.name)


@login_required
@require_GET
def countdown_partial(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX partial: the countdown, refreshed every minute on the open page."""
    appeal = _readable(request, pk)
    return render(request, "appeals/case/_countdown.html", {"appeal": appeal, "clock": clock_view(appeal)})


@login_required
@require_GET
def merge_suggestions(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX partial for the dispatcher's merge form: likely duplicates of this case in their scope."""
    appeal = _readable(request, pk)
    if "merge" not in available_actions(request.user, appeal):
        raise PermissionDenied("只有营商办调度员可以合并诉求")
    query = _candidate(appeal, True)
    rows = [r for r in suggestions(request.user, query, limit=6, with_public=False) if r["appeal"].pk != appeal.pk]
    return render(request, "appeals/case/_merge_suggestions.html", {"rows": rows, "appeal": appeal})
