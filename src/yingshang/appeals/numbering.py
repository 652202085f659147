"""Case numbers: ``SQ<yyyymmdd>-<serial>`` (serial per local day, 4 digits, growing past 9999 if needed).

``next_number`` reads the day's highest serial; two concurrent submissions may read the same one, so
the caller inserts inside a savepoint and retries on the unique constraint of ``Appeal.number``
(``MAX_ATTEMPTS`` times; on PostgreSQL the losing insert waits for the winner's commit, so the retry
reads the winner's number): no lock row, no gaps from rolled-back sequences.
"""
from __future__ import annotations

import datetime as dt

from django.db.models.functions import Length

PREFIX = "SQ"
WIDTH = 4
MAX_ATTEMPTS = 8


def day_prefix(day: dt.date) -> str:
    return f"{PREFIX}{day:%Y%m%d}-"


def format_number(day: dt.date, serial: int) -> str:
    return f"{day_prefix(day)}{serial:0{WIDTH}d}"


def next_number(day: dt.date) -> str:
    """The next number of ``day`` after the highest one committed (the caller retries on a clash)."""
    from yingshang.appeals.models import Appeal

    prefix = day_prefix(day)
    # Range on the unique index; longest first so serial 10000 sorts after 9999.
    last = (Appeal.objects.filter(number__gte=prefix, number__lt=prefix + "~")
            .order_by(Length("number").desc(), "-number").values_list("number", flat=True).first())
    serial = int(last[len(prefix):]) if last and last[len(prefix):].isdigit() else 0
    return format_number(day, serial + 1)
