"""SMS delivery through a provider interface. The provider is chosen by
``settings.YINGSHANG_SMS_PROVIDER`` (a dotted path); the default writes messages to the log, so a
platform without an SMS contract still records what would have been sent."""
from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("yingshang.sms")


class SmsError(Exception):
    """A failed send that may succeed later (network, provider busy): the outbox retries it."""


class PermanentSmsError(SmsError):
    """A send that can never succeed (invalid number, rejected content): the outbox gives up at once."""


class SmsProvider:
    """Interface of an SMS gateway. ``send`` returns normally on success and raises ``SmsError``
    (or any exception) on failure."""

    def send(self, phone: str, text: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class LogSmsProvider(SmsProvider):
    """Default provider: writes each message to the ``yingshang.sms`` log instead of sending it."""

    def send(self, phone: str, text: str) -> None:
        log.info("短信 → %s:%s", phone, text)


@lru_cache(maxsize=8)
def _load(path: str) -> SmsProvider:
    try:
        provider = import_string(path)()
    except ImportError as exc:
        raise RuntimeError(f"YINGSHANG_SMS_PROVIDER 配置有误:无法加载 {path}") from exc
    if not hasattr(provider, "send"):
        raise RuntimeError(f"YINGSHANG_SMS_PROVIDER 配置有误:{path} 没有 send(phone, text) 方法")
    return provider


def get_provider() -> SmsProvider:
    """The configured provider (one instance per configured path)."""
    return _load(settings.YINGSHANG_SMS_PROVIDER)
