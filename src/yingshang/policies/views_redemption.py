"""Pages of 申报与兑现: the department's 兑现 workbench, the application queue and detail (materials
download), the enterprise's 我的申报与兑现, the application form and the 兑现 statistics.

Views parse input, check access and call one action; a DomainError becomes a message on the page.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from yingshang.core.access import access_role, access_staff, scope_prefix
from yingshang.core.errors import DomainError
from yingshang.core.models import Role
from yingshang.policies import actions_applications as apps, actions_redemption as reds, stats
from yingshang.policies.models import (Application, ApplicationStatus as AS, ItemStatus, Mode, PolicyItem,
                                       Redemption, RedemptionStatus as RS)

PER_PAGE = 50
DESK_ROLES = (Role.ADMIN, Role.POLICY_OFFICER, Role.HANDLER, Role.DEPT_LEADER)


def _desk_items(user, mode_in) -> list[PolicyItem]:
    """Items whose 兑现 the user handles (admins: all), of the given modes, published ones first."""
    access_role(user, *DESK_ROLES)
    qs = PolicyItem.objects.filter(mode__in=mode_in).exclude(status__in=[ItemStatus.DRAFT, ItemStatus.REVIEW])
    if not (user.is_superuser or user.role == Role.ADMIN):
        qs = qs.filter(department_id=user.department_id)
    return list(qs.select_related("department").order_by("status", "-published_at", "-id"))


def _int(value, default=None):
    """A positive 64-bit id from a query parameter, else ``default`` (a huge number must not reach the DB)."""
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19 or not 1 <= int(text) <= reds.MAX_ID:
        return default
    return int(text)


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/policies/") else fallback)


def _run(request: HttpRequest, action, success) -> bool:
    """Call ``action()``; a DomainError becomes an error message. Returns True on success."""
    try:
        result = action()
    except DomainError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success(result) if callable(success) else success)
    return True


# ---------------------------------------------------------------- the 兑现 workbench
def _item_counts(items) -> dict:
    rows = Redemption.objects.filter(item__in=items).order_by().values("item_id").annotate(
        pending=Count("id", filter=Q(status=RS.PENDING)), short=Count("id", filter=Q(status=RS.SHORT)),
        confirmed=Count("id", filter=Q(status=RS.CONFIRMED)),
        paid=Count("id", filter=Q(status__in=[RS.PAID, RS.RECEIVED])))
    return {r["item_id"]: r for r in rows}


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    """Per 免申即享 item: pending list with checkboxes, bulk confirm, budget bar, SHORT rows, payout."""
    items = _desk_items(request.user, [Mode.AUTO])
    counts = _item_counts(items)
    for it in items:
        it.counts = counts.get(it.pk, {})
    item = next((i for i in items if i.pk == _int(request.GET.get("item"))), items[0] if items else None)
    ctx = {"items": items, "item": item, "statuses": RS.choices}
    if item is not None:
        reds.access_manage(request.user, item)
        status = request.GET.get("status", "") if request.GET.get("status", "") in RS.values else ""
        qs = Redemption.objects.filter(item=item).select_related("enterprise").order_by("eligible_at", "id")
        page = Paginator(qs.filter(status=status) if status else qs, PER_PAGE).get_page(request.GET.get("page"))
        _flag_self_reported(item, page)
        ctx.update(page=page, status=status, budget=reds.budget_summary(item), query=f"item={item.pk}&status={status}",
                   here=f"{reverse('policies:redemption_workbench')}?item={item.pk}&status={status}"
                        f"&page={page.number}")
    return render(request, "policies/redemption/workbench.html", ctx)


def _flag_self_reported(item: PolicyItem, page) -> None:
    """Mark the rows whose amount or eligibility rests on figures the enterprise reported itself (the
    enterprises come with the page's one query), so the clerk verifies them before confirming."""
    figures = reds.item_figures(item)
    for r in page:
        r.self_reported = reds.self_reported_figures(figures, r.enterprise.figure_sources) if figures else []


def _managed_item(request: HttpRequest, pk: int) -> PolicyItem:
    item = get_object_or_404(PolicyItem, pk=pk)
    reds.access_manage(request.user, item)
    return item


def _workbench_url(item: PolicyItem) -> str:
    return f"{reverse('policies:redemption_workbench')}?item={item.pk}"


def _confirm_message(res) -> str:
    text = f"已确认 {res.confirmed} 条,共 {res.amount:,.2f} 元"
    if res.reduced:
        text += f";预算不足,{res.reduced} 条按比例核减"
    if res.short:
        text += f";预算不足,{res.short} 条暂缓(待追加预算)"
    if res.skipped:
        text += f";{res.skipped} 条此前已确认,已跳过"
    return text + (f"。剩余预算 {res.remaining:,.2f} 元" if res.remaining is not None else "。")


@login_required
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    item = _managed_item(request, pk)
    ids = request.POST.getlist("ids")
    _run(request, lambda: reds.do_confirm_redemptions(request.user, item, ids), _confirm_message)
    return _back(request, _workbench_url(item))


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    item = _managed_item(request, pk)
    _run(request, lambda: reds.do_release_short(request.user, item), _confirm_message)
    return _back(request, _workbench_url(item))


@login_required
@require_POST
def payout(request: HttpRequest, pk: int) -> HttpResponse:
    item = _managed_item(request, pk)
    ids = request.POST.getlist("ids")
    _run(request, lambda: reds.do_record_payout(request.user, ids, request.POST.get("payout_ref", "")),
         lambda n: f"已登记 {n} 条拨付,已通知企业确认到账")
    return _back(request, _workbench_url(item))


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    r = get_object_or_404(Redemption.objects.select_related("item"), pk=pk)
    _run(request, lambda: reds.do_cancel_redemption(request.user, r, request.POST.get("reason", "")),
         f"兑现记录 #{r.pk} 已取消")
    return _back(request, _workbench_url(r.item))


@login_required
@require_POST
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    r = get_object_or_404(Redemption.objects.select_related("item", "enterprise"), pk=pk)
    reds.access_record_read(request.user, r)
    _run(request, lambda: reds.do_confirm_receipt(request.user, r), "已确认到账,谢谢!")
    return redirect("policies:redemption_mine")


# ---------------------------------------------------------------- the enterprise's page
def _redemption_steps(r: Redemption) -> list[dict]:
    return [{"label": "符合条件", "at": r.eligible_at, "done": True},
            {"label": "部门确认", "at": r.confirmed_at, "done": r.status in (RS.CONFIRMED, RS.PAID, RS.RECEIVED)},
            {"label": "资金拨付", "at": r.paid_at, "done": r.status in (RS.PAID, RS.RECEIVED)},
            {"label": "确认到账", "at": r.received_at, "done": r.status == RS.RECEIVED}]


def _application_steps(a: Application) -> list[dict]:
    reviewed = a.status in (AS.APPROVED, AS.PAID, AS.RECEIVED, AS.REJECTED)
    return [{"label": "提交申报", "at": a.submitted_at, "done": True},
            {"label": "未通过" if a.status == AS.REJECTED else "审核通过", "at": a.reviewed_at, "done": reviewed},
            {"label": "资金拨付", "at": a.paid_at, "done": a.status in (AS.PAID, AS.RECEIVED)},
            {"label": "确认到账", "at": a.received_at, "done": a.status == AS.RECEIVED}]


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """我的申报与兑现: the enterprise's applications and 免申即享 redemptions with their timelines."""
    access_role(request.user, Role.ENTERPRISE)
    ent = request.user.enterprise_id
    redemptions = list(Redemption.objects.filter(enterprise_id=ent).select_related("item")
                       .order_by("-eligible_at")[:200])
    applications = list(Application.objects.filter(enterprise_id=ent).select_related("item")
                        .prefetch_related("files").order_by("-submitted_at")[:200])
    for r in redemptions:
        r.steps = _redemption_steps(r)
    for a in applications:
        a.steps = _application_steps(a)
    return render(request, "policies/redemption/mine.html", {"redemptions": redemptions, "applications": applications})


# ---------------------------------------------------------------- applications: queue, detail, actions
@login_required
def application_queue(request: HttpRequest) -> HttpResponse:
    """The department's queue of applications (submitted first), filterable by item and status."""
    items = _desk_items(request.user, [Mode.APPLY, Mode.INSTANT])
    qs = Application.objects.filter(item__in=items).select_related("item", "enterprise")
    status = request.GET.get("status", AS.SUBMITTED)
    status = status if status in AS.values else ""
    item_id = _int(request.GET.get("item"))
    if status:
        qs = qs.filter(status=status)
    if item_id:
        qs = qs.filter(item_id=item_id)
    page = Paginator(qs.order_by("submitted_at", "id"), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "policies/redemption/queue.html", {
        "items": items, "page": page, "status": status, "item_id": item_id, "statuses": AS.choices,
        "query": f"status={status}&item={item_id or ''}"})


def _application(request: HttpRequest, pk: int) -> Application:
    app = get_object_or_404(Application.objects.select_related("item", "enterprise", "reviewed_by"), pk=pk)
    reds.access_record_read(request.user, app)
    return app


@login_required
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One application: materials (download), timeline, review/payout (department) or receipt (enterprise)."""
    app = _application(request, pk)
    manage = reds.can_manage(request.user, app.item)
    own = request.user.role == Role.ENTERPRISE and request.user.enterprise_id == app.enterprise_id
    ctx = {"app": app, "files": list(app.files.all()), "steps": _application_steps(app), "manage": manage,
           "own": own, "remaining": reds.remaining_budget(app.item) if manage else None}
    return render(request, "policies/redemption/application.html", ctx)


@login_required
def application_file(request: HttpRequest, pk: int, fid: int) -> HttpResponse:
    from yingshang.policies.api_redemption import material_response

    app = _application(request, pk)
    try:
        return material_response(request.user, app, fid)
    except DomainError as exc:
        raise Http404(exc.message) from None


def _app_action(request: HttpRequest, pk: int, action, success: str) -> HttpResponse:
    app = _application(request, pk)
    _run(request, lambda: action(app), success)
    return redirect("policies:application_detail", pk=app.pk)


@login_required
@require_POST
def application_review(request: HttpRequest, pk: int) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    return _app_action(request, pk, lambda a: apps.do_review_application(
        request.user, a, approve, request.POST.get("reason", ""), request.POST.get("amount", "").strip() or None),
        "已审核通过,已通知企业" if approve else "已退回,已通知企业")


@login_required
@require_POST
def application_payout(request: HttpRequest, pk: int) -> HttpResponse:
    return _app_action(request, pk, lambda a: apps.do_record_application_payout(
        request.user, a, request.POST.get("payout_ref", "")), "已登记拨付,已通知企业确认到账")


@login_required
@require_POST
def application_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    return _app_action(request, pk, lambda a: apps.do_confirm_application_receipt(request.user, a), "已确认到账")


@login_required
@require_POST
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _app_action(request, pk, lambda a: apps.do_withdraw_application(request.user, a), "申报已撤回")


# ---------------------------------------------------------------- the application form
@login_required
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    """The application form of a 申报/即申即享 item: note and one upload per material."""
    access_role(request.user, Role.ENTERPRISE)
    item = get_object_or_404(PolicyItem.objects.select_related("department", "document"), pk=pk,
                             status=ItemStatus.PUBLISHED)
    error, fields, closed = "", {}, ""
    existing = _open_application(item, request.user)
    try:
        apps.check_item_open(item)
    except DomainError as exc:
        closed = exc.message
    if request.method == "POST" and not closed and existing is None:
        try:
            files = apps.collect_files(item, request.FILES)
            app = apps.do_submit_application(request.user, item, request.POST.get("note", ""), files)
        except DomainError as exc:
            error, fields = exc.message, exc.fields
        else:
            messages.success(request, "申报已提交,请留意审核结果")
            return redirect("policies:application_detail", pk=app.pk)
    materials = [{"index": i, "name": m.get("name", ""), "required": bool(m.get("required")),
                  "error": fields.get(f"材料:{m.get('name', '')}", "")}
                 for i, m in enumerate(item.materials or []) if isinstance(m, dict)]
    ctx = {"item": item, "materials": materials, "error": error, "closed": closed, "existing": existing,
           "note": request.POST.get("note", ""),
           "today": timezone.localdate(), "accept": ",".join(apps.SIGNATURES)}
    blocked = (closed or existing is not None) and request.method == "POST"
    status = 400 if error else 409 if blocked else 200
    return render(request, "policies/redemption/apply.html", ctx, status=status)


def _open_application(item: PolicyItem, user) -> Application | None:
    """The enterprise's application for this item that is still open (at most one: application_one_open)."""
    if not user.enterprise_id:
        return None
    return (Application.objects.filter(item=item, enterprise_id=user.enterprise_id)
            .exclude(status__in=[AS.REJECTED, AS.WITHDRAWN]).order_by("-submitted_at").first())


# ---------------------------------------------------------------- statistics
def _chart_rows(rows: list[dict]) -> list[dict]:
    return [{"name": str(r["label"]), "rate": round(r["rate"] * 100, 1)} for r in rows if r["rate"] is not None][:30]


@login_required
def stats_page(request: HttpRequest) -> HttpResponse:
    """Figures per item, department and county, with an ECharts bar of 兑现率 per item."""
    access_staff(request.user)
    prefix = scope_prefix(request.user)
    tables = [("按政策事项", stats.item_figures(prefix=prefix)), ("按责任单位", stats.by_department(prefix=prefix)),
              ("按县区", stats.by_county(prefix=prefix))]
    for _, rows in tables:
        for r in rows:
            r["rate_pct"] = None if r["rate"] is None else round(r["rate"] * 100, 1)
    chart = {"items": _chart_rows(tables[0][1]), "counties": _chart_rows(tables[2][1])}
    total = stats.totals(prefix=prefix)
    total["rate_pct"] = None if total["rate"] is None else round(total["rate"] * 100, 1)
    return render(request, "policies/redemption/stats.html", {
        "tables": tables, "total": total, "chart": chart,
        "has_chart": bool(chart["items"] or chart["counties"])})

