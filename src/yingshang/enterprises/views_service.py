"""Small forms on the enterprise page: credit-list records (列入/移出) and the steward (服务管家).

Each view parses the form, calls ONE action and answers with the refreshed section (HTMX) or a
redirect to the enterprise page with a message. A client's mistake comes back as a Chinese message in
the section (status 200 for HTMX, which swaps only 2xx answers); nothing is written then.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from yingshang.core.errors import DomainError
from yingshang.enterprises.actions_credit import do_add_credit_listing, do_remove_credit_listing
from yingshang.enterprises.actions_steward import do_assign_steward
from yingshang.enterprises.models import CreditListing, Enterprise
from yingshang.enterprises.validation import Context, Invalid, check_steward
from yingshang.enterprises.views import _load, credit_context, steward_context


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _message(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    return str(exc) or "无权执行此操作"


def _back(request: HttpRequest, ent: Enterprise, anchor: str, ok: str = "", error: str = "") -> HttpResponse:
    (messages.success if ok else messages.error)(request, ok or error)
    return redirect(reverse("enterprises:detail", args=[ent.uscc]) + f"#{anchor}")


def _credit_answer(request, ent: Enterprise, *, ok: str = "", error: str = "", form: dict | None = None):
    if not _htmx(request):
        return _back(request, ent, "credit", ok, error)
    ent = Enterprise.objects.get(pk=ent.pk)
    ctx = {"ent": ent, **credit_context(request.user, ent, timezone.localdate(), error=error, form=form)}
    return render(request, "enterprises/_credit.html", ctx)


@login_required
@require_POST
def credit_add(request: HttpRequest, uscc: str) -> HttpResponse:
    """Record that the enterprise was put on a credit list."""
    ent = _load(request.user, uscc)
    post = request.POST
    form = {k: post.get(k, "").strip() for k in ("kind", "listed_on", "authority", "reason")}
    try:
        listing = do_add_credit_listing(request.user, ent, form["kind"], form["listed_on"], form["authority"],
                                        form["reason"])
    except (DomainError, PermissionDenied) as exc:
        return _credit_answer(request, ent, error=f"未记录:{_message(exc)}", form=form)
    return _credit_answer(request, ent, ok=f"已记录列入{listing.get_kind_display()}({listing.listed_on})。")


@login_required
@require_POST
def credit_remove(request: HttpRequest, uscc: str, pk: int) -> HttpResponse:
    """Record that the enterprise was removed from a credit list."""
    ent = _load(request.user, uscc)
    listing = CreditListing.objects.filter(pk=pk, enterprise=ent).first()
    if listing is None:
        raise Http404("该企业没有这条信用名单记录")
    try:
        listing = do_remove_credit_listing(request.user, listing, request.POST.get("removed_on", "").strip())
    except (DomainError, PermissionDenied) as exc:
        return _credit_answer(request, ent, error=f"未记录移出:{_message(exc)}")
    return _credit_answer(request, ent, ok=f"已记录移出{listing.get_kind_display()}({listing.removed_on})。")


@login_required
@require_POST
def steward_assign(request: HttpRequest, uscc: str) -> HttpResponse:
    """Assign (or clear) the enterprise's steward."""
    ent = _load(request.user, uscc)
    key = request.POST.get("steward", "").strip()
    try:
        steward = check_steward(key, Context()) if key else None
        ent = do_assign_steward(request.user, ent, steward)
    except Invalid as exc:
        return _steward_answer(request, ent, error=str(exc))
    except (DomainError, PermissionDenied) as exc:
        return _steward_answer(request, ent, error=_message(exc))
    name = f"服务管家已设为 {ent.steward}" if ent.steward_id else "已取消服务管家"
    return _steward_answer(request, ent, ok=name + "。")


def _steward_answer(request, ent: Enterprise, *, ok: str = "", error: str = ""):
    if not _htmx(request):
        return _back(request, ent, "steward", ok, error)
    ent = Enterprise.objects.select_related("steward").get(pk=ent.pk)
    return render(request, "enterprises/_steward.html", {"ent": ent, **steward_context(request.user, ent, error)})
