"""Read secrets from the environment or from a file named by ``<NAME>_FILE`` (Docker/K8s secrets)."""
from __future__ import annotations

import os
from pathlib import Path


def read_secret(name: str) -> str | None:
    """Return the value of ``name`` from the environment, or from the file ``$NAME_FILE`` points to."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return None
