"""Login, logout and failed logins go to the audit log."""
from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from yingshang.core import audit
from yingshang.core.models import AuditAction


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit.record(user, AuditAction.LOGIN, user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(user, AuditAction.LOGOUT, user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    name = str(credentials.get("username", ""))[:150]
    audit.record(name or "匿名", AuditAction.LOGIN_FAILED, object_type="core.user", object_id=name,
                 object_repr=name)
