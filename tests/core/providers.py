"""SMS providers used by the outbox tests (configured through settings.YINGSHANG_SMS_PROVIDER)."""
from __future__ import annotations

import threading
import time

from yingshang.core.sms import PermanentSmsError, SmsError, SmsProvider


class FailingProvider(SmsProvider):
    def send(self, phone: str, text: str) -> None:
        raise SmsError("网关超时")


class RejectingProvider(SmsProvider):
    def send(self, phone: str, text: str) -> None:
        raise PermanentSmsError("号码已停机")


class RecordingProvider(SmsProvider):
    """Records every send; the short pause widens the window in which two workers could collide."""

    sent: list[tuple[str, str]] = []
    lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        time.sleep(0.002)
        with self.lock:
            RecordingProvider.sent.append((phone, text))
