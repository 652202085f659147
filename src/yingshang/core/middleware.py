"""Keeps the current request's client IP in a context variable so the audit log can record it."""
from __future__ import annotations

import contextvars

_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("yingshang_ip", default=None)


def current_ip() -> str | None:
    return _ip.get()


class RejectNulMiddleware:
    """Answer 400 to form and query input containing NUL: PostgreSQL text cannot hold it, and no
    legitimate field needs it. The API checks its own input and answers in its JSON error format."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            return self.get_response(request)
        field = _nul_field(request.GET) or (_nul_field(request.POST) if request.method == "POST" else None)
        if field is not None:
            from django.http import HttpResponseBadRequest

            from yingshang.core.errors import shorten

            return HttpResponseBadRequest(f"请求参数“{shorten(field)}”含有不允许的空字符(NUL),请检查输入",
                                          content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _nul_field(data) -> str | None:
    for key, values in data.lists():
        if "\x00" in key or any("\x00" in v for v in values):
            return key.replace("\x00", "")
    return None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            _ip.reset(token)
