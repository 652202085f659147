"""Tells other apps that enterprise data changed (figures, status, region, certificates, tags, credit lists).

The policy matcher listens to re-evaluate just those enterprises. Sent after the writing transaction
commits, so listeners read committed data; ``ids`` may be large after an import.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

# Receivers get ``ids`` (a list of Enterprise primary keys).
enterprises_changed = Signal()


def changed_on_commit(ids: Iterable[int]) -> None:
    """Announce, once the current transaction commits, that these enterprises changed."""
    ids = sorted(set(ids))
    if ids:
        transaction.on_commit(lambda: enterprises_changed.send(sender=None, ids=ids))
