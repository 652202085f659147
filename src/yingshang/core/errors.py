"""Domain errors: raised by actions and access checks, rendered as ``{"error": {...}}`` by the API."""
from __future__ import annotations

import re

# "contact_phone: 联系电话格式不正确" — API messages lead with the field's code; pages show the field
# next to its input and want the Chinese sentence alone.
_FIELD_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*: ")


def shorten(text: str, limit: int = 40) -> str:
    """A client's value as echoed in a message, cut short: a 10,000-character value is not a message."""
    return text if len(text) <= limit else text[:limit] + "…"


class DomainError(Exception):
    """A client-facing error with a Chinese message, an HTTP status and optional per-field reasons."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    @property
    def plain_message(self) -> str:
        """The message without a leading ``field:`` code (for pages)."""
        return _FIELD_PREFIX.sub("", self.message)

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationFailed(DomainError):
    status, code = 400, "validation_failed"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Conflict(DomainError):
    status, code = 409, "conflict"
