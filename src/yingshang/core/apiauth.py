"""API authentication: hashed bearer tokens, or the browser session (with CSRF) for HTMX pages."""
from __future__ import annotations

from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer

from yingshang.core.auth import ModeAwareBackend
from yingshang.core.models import ApiToken

_backend = ModeAwareBackend()


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        row = ApiToken.objects.active().select_related("user").filter(digest=ApiToken.hash(token)).first()
        if row is None or not _backend.user_can_authenticate(row.user):
            return None
        now = timezone.now()
        # Touch last_used_at at most once a minute: a write per request would serialise SQLite.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class SessionAuth(APIKeyCookie):
    """Session cookie auth with Django's CSRF check (ninja's own django_auth, spelled out)."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


class Anonymous:
    """Stands in for ``request.auth`` on public endpoints when no credentials were sent."""

    is_authenticated = False
    is_superuser = False
    role = ""
    pk = None
    department_id = None
    enterprise_id = None

    def __bool__(self) -> bool:  # ninja accepts the first truthy auth result
        return True


def anonymous_auth(request):
    """The last resort of PUBLIC_AUTH. A request that sends a token must have a valid one: a mistyped token
    is a 401, not an anonymous call."""
    return None if request.headers.get("Authorization") else Anonymous()


# Endpoints open to the public: a valid token or session identifies the caller, no credentials = anonymous.
PUBLIC_AUTH = [BearerTokenAuth(), SessionAuth(), anonymous_auth]
