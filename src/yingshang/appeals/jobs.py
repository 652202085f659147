"""Background jobs of the appeals app."""
from __future__ import annotations

from yingshang.appeals import escalation
from yingshang.jobs import job


@job("appeals.escalation_sweep", every=60)
def escalation_sweep(batch: int = 1000) -> int:
    """Fire every escalation step that is due (batch after batch); the number of cases processed."""
    return escalation.sweep_all(batch=batch)


@job("appeals.deliver_12345", every=60)
def deliver_12345(batch: int = 100) -> int:
    """Report replies, ratings and closures of 12345 work orders back (retried with back-off)."""
    from yingshang.appeals import hotline

    return hotline.deliver_due(batch=batch)


@job("appeals.close_unrated", every=3600)
def close_unrated() -> int:
    """Close replied cases whose rating window ran out (the configured default rating applies)."""
    from yingshang.appeals.actions_followup import close_unrated_due

    total = 0
    while (closed := close_unrated_due()) > 0:
        total += closed
    return total


@job("appeals.sample_reviews", every=86400)
def sample_reviews() -> int:
    """Pick the closed cases for 回头看 (all doubtful closures plus a sampled share of the rest)."""
    from yingshang.appeals.actions_followup import sample_reviews as sample

    return sample()
