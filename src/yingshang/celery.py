"""The Celery application for production (``yingshang worker``): every registered job becomes a task
of the same name, and periodic jobs go into the beat schedule."""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yingshang.settings")

app = Celery("yingshang")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_finalize.connect
def _register_jobs(sender, **kwargs):
    import django

    django.setup()
    from yingshang import jobs

    jobs.discover()
    for entry in jobs.REGISTRY.values():
        sender.task(name=entry.name, acks_late=True)(entry.func)
        if entry.every:
            sender.conf.beat_schedule[entry.name] = {"task": entry.name, "schedule": entry.every}
