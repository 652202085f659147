"""The Celery application for production (``yingshang worker``): every registered job becomes a task
of the same name, and periodic jobs go into the beat schedule."""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yingshang.settings")

app = Celery("yingshang")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Keep retrying the broker while it starts (systemd may start Redis and the worker together), and
# give a publisher a bounded wait when the broker is down instead of blocking a request for long.
app.conf.broker_connection_retry_on_startup = True
app.conf.task_publish_retry_policy = {"max_retries": 3, "interval_start": 0, "interval_step": 0.5,
                                      "interval_max": 2}


@app.on_after_finalize.connect
def _register_jobs(sender, **kwargs):
    import django

    django.setup()
    from yingshang import jobs

    jobs.discover()
    for entry in jobs.REGISTRY.values():
        sender.task(name=entry.name, acks_late=True)(entry.func)
        if entry.every:
            # A periodic run still queued when the next one is due is dropped (``expires``): piling
            # them up behind a slow worker would only repeat the same idempotent work.
            sender.conf.beat_schedule[entry.name] = {"task": entry.name, "schedule": entry.every,
                                                     "options": {"expires": entry.every}}
