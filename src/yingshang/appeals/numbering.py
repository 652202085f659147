"""Case numbers: ``SQ<yyyymmdd>-<serial>`` (serial per local day, 4 digits, growing past 9999 if needed).

The serial comes from the day's ``AppealDaySerial`` row, incremented in one statement (INSERT … ON
CONFLICT DO UPDATE … RETURNING): concurrent submissions queue on that row instead of racing for the same
number, and a rolled-back submission rolls its increment back too (no gaps). The row starts from the
highest number already committed that day, so numbers written before the counter existed (or by an
import) are never handed out twice; the caller still retries on the unique constraint as a safety net.
"""
from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models.functions import Length

PREFIX = "SQ"
WIDTH = 4
MAX_ATTEMPTS = 8


def day_prefix(day: dt.date) -> str:
    return f"{PREFIX}{day:%Y%m%d}-"


def format_number(day: dt.date, serial: int) -> str:
    return f"{day_prefix(day)}{serial:0{WIDTH}d}"


def highest_serial(day: dt.date) -> int:
    """The highest serial of ``day`` among the committed cases (0 when none)."""
    from yingshang.appeals.models import Appeal

    prefix = day_prefix(day)
    # Range on the unique index; longest first so serial 10000 sorts after 9999.
    last = (Appeal.objects.filter(number__gte=prefix, number__lt=prefix + "~")
            .order_by(Length("number").desc(), "-number").values_list("number", flat=True).first())
    return int(last[len(prefix):]) if last and last[len(prefix):].isdigit() else 0


def next_number(day: dt.date) -> str:
    """The next number of ``day`` (call inside the submitting transaction: the day's row stays locked)."""
    from yingshang.appeals.models import AppealDaySerial

    table = connection.ops.quote_name(AppealDaySerial._meta.db_table)
    floor = highest_serial(day) + 1
    sql = (f"INSERT INTO {table} (day, last) VALUES (%s, %s) ON CONFLICT (day) DO UPDATE SET last = "
           f"CASE WHEN {table}.last + 1 > excluded.last THEN {table}.last + 1 ELSE excluded.last END RETURNING last")
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datefield_value(day), floor])
        return format_number(day, cursor.fetchone()[0])
