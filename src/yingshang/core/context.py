"""Template context shared by every page."""
from __future__ import annotations

from django.conf import settings


def platform(request) -> dict:
    user = getattr(request, "user", None)
    unread = 0
    if user is not None and user.is_authenticated:
        unread = user.notifications.filter(read_at__isnull=True).count()
    return {"DEMO_MODE": settings.DEMO_MODE and settings.MODE == "demo", "unread_count": unread,
            "PLATFORM_NAME": "营商通"}
