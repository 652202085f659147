"""Background jobs of the core app. Both are periodic and safe to run in several workers at once:
delivery claims rows (see outbox.py), so two runs never send the same message."""
from __future__ import annotations

from yingshang.jobs import job

DELIVERY_PERIOD = 10  # seconds


@job("core.deliver_outbox", every=DELIVERY_PERIOD)
def deliver_outbox(batch: int = 200) -> dict:
    """Send due e-mail and SMS messages from the outbox; returns counts of this run."""
    from yingshang.core import outbox

    return outbox.deliver(batch).as_dict()
