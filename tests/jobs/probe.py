"""Jobs used only by the job-runner tests; importing this module registers them."""
from __future__ import annotations

import threading
from pathlib import Path

from yingshang.jobs import job

CALLS: list[tuple] = []
RAN = threading.Event()


@job("tests.record")
def record(*args, **kwargs):
    CALLS.append((threading.current_thread().name, args, kwargs))
    RAN.set()


@job("tests.tick", every=0.05)
def tick():
    CALLS.append(("tick",))


@job("tests.explode")
def explode():
    raise RuntimeError("boom")


@job("tests.write_file")
def write_file(path: str, text: str):
    """Run by a real Celery worker subprocess: leaves evidence the test process can see."""
    Path(path).write_text(text, encoding="utf-8")
