"""Background jobs of the appeals app."""
from __future__ import annotations

from yingshang.appeals import escalation
from yingshang.jobs import job


@job("appeals.escalation_sweep", every=60)
def escalation_sweep(batch: int = 1000) -> int:
    """Fire every escalation step that is due (batch after batch); the number of cases processed."""
    return escalation.sweep_all(batch=batch)
