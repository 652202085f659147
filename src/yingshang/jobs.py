"""Background jobs: one registry, two runners.

Functions decorated with ``@job`` (in each app's ``jobs.py``) run on Celery when
``YINGSHANG_JOBS == "celery"`` (production: ``yingshang worker``, broker in CELERY_BROKER_URL) and on an
in-process thread otherwise (the embedded default: ``yingshang demo`` starts it). With no runner at
all (tests, one-off commands) ``enqueue`` runs the job synchronously in the caller.

Rules for job authors:
- Jobs take only JSON-serialisable arguments and look up rows by key inside the job.
- Periodic jobs (``every=`` seconds) must be idempotent and safe when several workers run them at
  once — two beats by mistake, a run overlapping the previous one, a retried task after a crash
  (tasks are acknowledged late). They therefore never assume they are alone: they *claim* the rows
  they work on with a conditional UPDATE (see ``core/outbox.py``) or write with unique keys
  (see ``core/notify.py``), so running twice changes nothing the first run already did.
- A job that fails raises; the runner logs it. Retrying is the job's own business (the outbox
  reschedules its rows), so a crash never loses or duplicates work.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from django.conf import settings
from django.db import close_old_connections, transaction

log = logging.getLogger("yingshang.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[..., Any]
    every: float | None = None  # seconds between runs for periodic jobs


REGISTRY: dict[str, Job] = {}


def job(name: str | None = None, *, every: float | None = None):
    """Register a function as a background job (periodic when ``every`` is given)."""

    def wrap(func):
        job_name = name or f"{func.__module__}.{func.__name__}"
        REGISTRY[job_name] = Job(job_name, func, every)
        func.job_name = job_name
        return func

    return wrap


def discover() -> None:
    """Import every installed app's ``jobs`` module so its jobs are registered."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("jobs")


def enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Run job ``name`` in the background (immediately and synchronously when no runner is active,
    which is what tests and one-off commands get)."""
    lookup(name)  # fail early, in the caller, on a misspelt name
    if settings.YINGSHANG_JOBS == "celery":
        from yingshang.celery import app

        app.send_task(name, args=args, kwargs=kwargs)
    elif _runner is not None and _runner.is_alive():
        _runner.queue.put((name, args, kwargs))
    else:
        run_now(name, *args, **kwargs)


def enqueue_on_commit(name: str, *args: Any, **kwargs: Any) -> None:
    """Enqueue after the current transaction commits (nothing runs if it rolls back). A failure to
    enqueue (broker down) is logged, not raised: the data is committed, and periodic jobs catch up."""
    transaction.on_commit(lambda: enqueue(name, *args, **kwargs), robust=True)


def lookup(name: str) -> Job:
    """The registered job called ``name`` (apps' job modules are imported on first use)."""
    if name not in REGISTRY:
        discover()
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"未注册的后台任务:{name}") from None


def periodic_jobs() -> list[Job]:
    """Registered jobs that run on a schedule."""
    discover()
    return [entry for entry in REGISTRY.values() if entry.every]


def run_now(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run a registered job in the calling thread."""
    return lookup(name).func(*args, **kwargs)


class InProcessRunner(threading.Thread):
    """Worker thread for the embedded default: runs queued jobs and the periodic schedule."""

    def __init__(self, tick: float = 1.0):
        super().__init__(name="yingshang-jobs", daemon=True)
        self.queue: queue.Queue = queue.Queue()
        self.tick = tick
        self.stopping = threading.Event()
        self.next_run: dict[str, float] = {}

    def run(self) -> None:
        discover()
        while not self.stopping.is_set():
            self._run_due_periodic()
            try:
                name, args, kwargs = self.queue.get(timeout=self.tick)
            except queue.Empty:
                continue
            self._safely(name, args, kwargs)

    def _run_due_periodic(self) -> None:
        now = time.monotonic()
        for entry in REGISTRY.values():
            if entry.every and self.next_run.get(entry.name, 0) <= now:
                self.next_run[entry.name] = now + entry.every
                self._safely(entry.name, (), {})

    def _safely(self, name: str, args, kwargs) -> None:
        close_old_connections()
        try:
            run_now(name, *args, **kwargs)
        except Exception:  # a failing job must not kill the runner; it is logged and retried by its own logic
            log.exception("后台任务 %s 执行失败", name)
        finally:
            close_old_connections()

    def stop(self) -> None:
        self.stopping.set()


_runner: InProcessRunner | None = None


def start_inprocess_runner(tick: float = 1.0) -> InProcessRunner:
    """Start (once) the in-process job thread used by ``yingshang demo``."""
    global _runner
    if _runner is None or not _runner.is_alive():
        _runner = InProcessRunner(tick)
        _runner.start()
    return _runner


def stop_inprocess_runner() -> None:
    global _runner
    if _runner is not None:
        _runner.stop()
        _runner.join(timeout=5)
        _runner = None
