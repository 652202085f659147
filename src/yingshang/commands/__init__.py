"""CLI sub-commands. Call ``setup_django()`` inside a command's ``func`` before touching models."""
from __future__ import annotations

import os


def setup_django(mode: str | None = None) -> None:
    """Configure Django for a command; ``mode`` sets YINGSHANG_MODE unless the environment has one."""
    if mode:
        os.environ.setdefault("YINGSHANG_MODE", mode)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yingshang.settings")
    import django

    django.setup()


def migrate(verbosity: int = 0) -> None:
    """Apply migrations (creates the embedded database on first use)."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
