"""「我的账号」: the signed-in user's profile and scope, password change and personal API tokens.

Tokens are issued and revoked through ``core.actions`` (audited); a new token's plain text is put in
the response to the POST that created it and nowhere else — it is not stored, not even in the session.
"""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from yingshang.core.actions import do_change_password, do_issue_token, do_revoke_token
from yingshang.core.errors import DomainError
from yingshang.core.models import ApiToken
from yingshang.core.views import scope_lines

# Lifetime choices of a new token: form value → (days or None for "never", label).
EXPIRY_CHOICES = {"30": (30, "30 天"), "90": (90, "90 天"), "365": (365, "1 年"), "never": (None, "永不过期")}
DEFAULT_EXPIRY = "90"


def token_rows(user) -> list[dict]:
    """The user's tokens, newest first, with a readable state."""
    now = timezone.now()
    rows = []
    for token in ApiToken.objects.filter(user=user).order_by("-created_at", "-id"):
        if token.revoked_at:
            state, css = "已吊销", "badge-bad"
        elif token.expires_at and token.expires_at <= now:
            state, css = "已过期", "badge-warn"
        else:
            state, css = "有效", "badge-ok"
        rows.append({"token": token, "state": state, "css": css, "active": state == "有效"})
    return rows


def password_form(user, data=None) -> PasswordChangeForm:
    form = PasswordChangeForm(user, data)
    form.fields["old_password"].widget.attrs.pop("autofocus", None)  # would pop up the phone keyboard on load
    return form


def account_context(request: HttpRequest, **extra) -> dict:
    user = request.user
    ctx = {"profile": user, "scope": scope_lines(user), "tokens": token_rows(user),
           "expiry_choices": [(k, label) for k, (_, label) in EXPIRY_CHOICES.items()],
           "expiry": DEFAULT_EXPIRY, "token_name": "", "token_errors": {}, "new_token": None}
    ctx["password_form"] = password_form(user)
    ctx.update(extra)
    return ctx


def _tokens_response(request: HttpRequest, ctx: dict, status: int = 200) -> HttpResponse:
    """The tokens section alone for HTMX (always 2xx, HTMX swaps nothing else), else the whole page."""
    if request.headers.get("HX-Request") == "true":
        return render(request, "core/account_tokens.html", ctx)
    return render(request, "core/account.html", ctx, status=status)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "core/account.html", account_context(request))


@login_required
@require_POST
def account_password(request: HttpRequest) -> HttpResponse:
    """Change the own password with Django's PasswordChangeForm (old password, new password twice)."""
    form = password_form(request.user, request.POST)
    if not form.is_valid():
        return render(request, "core/account.html", account_context(request, password_form=form), status=400)
    do_change_password(request.user, form.user, form.cleaned_data["new_password1"])
    update_session_auth_hash(request, form.user)  # stay signed in on this device
    messages.success(request, "密码已修改。")
    return redirect("account")


def _expires_at(choice: str) -> dt.datetime | None:
    days = EXPIRY_CHOICES[choice][0]
    return timezone.now() + dt.timedelta(days=days) if days else None


@login_required
@require_POST
def account_token_create(request: HttpRequest) -> HttpResponse:
    """Issue a token for the signed-in user and show its plain text this once."""
    name = (request.POST.get("name") or "").strip()
    expiry = request.POST.get("expiry") or DEFAULT_EXPIRY
    errors = {}
    if len(name) > 64:
        errors["name"] = f"用途说明过长({len(name)}字),最多64字"
    if expiry not in EXPIRY_CHOICES:
        errors["expiry"] = "有效期无效,请从列表中选择"
    if not errors:
        try:
            token = do_issue_token(request.user, request.user, name=name, expires_at=_expires_at(expiry))
        except DomainError as exc:  # an inactive user or a past expiry: both belong to the lifetime choice
            errors = {"name" if k == "name" else "expiry": v for k, v in exc.fields.items()} or {"expiry": exc.message}
        else:
            return _tokens_response(request, account_context(request, new_token=token))
    ctx = account_context(request, token_name=name, expiry=expiry, token_errors=errors)
    return _tokens_response(request, ctx, status=400)


@login_required
@require_POST
def account_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own tokens (another user's token is 404, not 403: its id reveals nothing)."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    do_revoke_token(request.user, token.pk)
    if request.headers.get("HX-Request") == "true":
        return render(request, "core/account_tokens.html",
                      account_context(request, revoked=f"令牌 {token.prefix}… 已吊销,使用它的程序将无法再访问。"))
    messages.success(request, f"令牌 {token.prefix}… 已吊销。")
    return redirect("account")
