"""Authentication backend: demo accounts may log in only while the platform runs in demo mode."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class ModeAwareBackend(ModelBackend):
    def user_can_authenticate(self, user) -> bool:
        if getattr(user, "is_demo", False) and not settings.DEMO_MODE:
            return False
        return super().user_can_authenticate(user)
