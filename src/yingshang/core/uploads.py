"""Checks for uploaded documents (application materials, appeal attachments): allowed types, size, and
that the first bytes match the extension — a renamed executable is refused."""
from __future__ import annotations

import os

from yingshang.core.errors import ValidationFailed

MAX_FILE_BYTES = 20 * 1024 * 1024
# Allowed extensions and the first bytes their files start with.
SIGNATURES = {".pdf": (b"%PDF",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
              ".png": (b"\x89PNG\r\n\x1a\n",), ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",)}
ALLOWED_TEXT = "PDF、JPG、PNG、DOCX、XLSX"
ACCEPT = ",".join(SIGNATURES)


def check_upload(label: str, field: str, upload, *, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Raise ValidationFailed naming ``label``/``field`` unless ``upload`` is an allowed, non-empty, genuine file."""
    ext = os.path.splitext(upload.name or "")[1].lower()
    if ext not in SIGNATURES:
        raise ValidationFailed(f"{label}的文件类型不支持(只接受 {ALLOWED_TEXT})", fields={field: "文件类型不支持"})
    if upload.size == 0:
        raise ValidationFailed(f"{label}是空文件", fields={field: "空文件"})
    if upload.size > max_bytes:
        raise ValidationFailed(f"{label}超过 {max_bytes // (1024 * 1024)} MB",
                               fields={field: f"超过 {max_bytes // (1024 * 1024)} MB"})
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not any(head.startswith(sig) for sig in SIGNATURES[ext]):
        raise ValidationFailed(f"{label}的内容与扩展名 {ext} 不符,请上传真实的 {ext[1:].upper()} 文件",
                               fields={field: "文件内容与类型不符"})
