"""Keeps the current request's client IP in a context variable so the audit log can record it."""
from __future__ import annotations

import contextvars

_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("yingshang_ip", default=None)


def current_ip() -> str | None:
    return _ip.get()


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            _ip.reset(token)
