"""Chinese telephone numbers as the platform accepts them everywhere (the register, appeal contacts): mobile
``1[3-9]`` + 9 digits, landlines with or without area code and extension, 400/800 service numbers."""
from __future__ import annotations

import re

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(?:0\d{2,3}-?)?[2-9]\d{6,7}(?:-\d{1,6})?$")
SERVICE = re.compile(r"^[48]00-?\d{3}-?\d{4}$")
HINT = "应为11位手机号(1[3-9]开头)或固定电话(如 0394-8888888)"


def is_phone(text: str) -> bool:
    """True for a mobile, landline or 400/800 number (spaces already removed)."""
    return bool(MOBILE.match(text) or LANDLINE.match(text) or SERVICE.match(text))
