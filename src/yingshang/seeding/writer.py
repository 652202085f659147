"""Bulk insertion of column-wise rows: PostgreSQL COPY (CSV written by polars), SQLite executemany.

Columns are given by model attribute name; every concrete field not given gets its model default
(so fields other apps add later, with defaults, need no change here). Values must already be in
text-ready form: str (dates ``YYYY-MM-DD``, decimals, JSON), int or None.
"""
from __future__ import annotations

import datetime as dt
import io
import json

from django.core.management.color import no_style
from django.db import models

_NO_DEFAULT = object()


class BulkWriter:
    def __init__(self, connection):
        self.connection = connection
        self.vendor = connection.vendor
        self.now = dt.datetime.now(dt.timezone.utc)

    def write(self, model: type[models.Model], columns: dict[str, list]) -> int:
        """Insert the rows; returns how many."""
        n = len(next(iter(columns.values())))
        if n == 0:
            return 0
        names, values = self._complete(model, columns, n)
        if self.vendor == "postgresql":
            self._copy(model._meta.db_table, names, values)
        else:
            self._executemany(model._meta.db_table, names, values)
        return n

    def _complete(self, model, columns: dict[str, list], n: int) -> tuple[list[str], list[list]]:
        names, values = [], []
        for field in model._meta.concrete_fields:
            if field.attname in columns:
                column = columns[field.attname]
            elif field.primary_key:
                continue  # assigned by the database
            else:
                column = [self._constant(field)] * n
            names.append(field.column)
            values.append(column)
        return names, values

    def _constant(self, field: models.Field):
        """The model default of ``field`` in text-ready form."""
        if not field.has_default():
            if field.null:
                return None
            if isinstance(field, models.CharField):
                return ""
            raise ValueError(f"{field.model.__name__}.{field.name} 没有默认值,批量写入时必须提供")
        value = field.get_default()
        if isinstance(field, models.JSONField):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, dt.datetime):
            return value.isoformat() if self.vendor == "postgresql" else self.connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, bool):
            return ("t" if value else "f") if self.vendor == "postgresql" else int(value)
        return value

    def _copy(self, table: str, names: list[str], values: list[list]) -> None:
        import polars as pl

        frame = pl.DataFrame({name: column for name, column in zip(names, values)}, strict=False)
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False)  # empty string → "", NULL → nothing (COPY csv rules)
        quoted = ", ".join(f'"{n}"' for n in names)
        with self.connection.cursor() as cursor:
            with cursor.cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN WITH (FORMAT csv)') as copy:
                view = buffer.getbuffer()
                for offset in range(0, len(view), 1 << 22):
                    copy.write(view[offset:offset + (1 << 22)])

    def _executemany(self, table: str, names: list[str], values: list[list]) -> None:
        quoted = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" for _ in names)
        raw = self.connection.connection  # sqlite3.Connection; Django's atomic() owns the transaction
        raw.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', zip(*values))

    def reset_sequences(self, *model_classes) -> None:
        """Move id sequences past explicitly inserted ids (PostgreSQL; SQLite tracks this itself)."""
        statements = self.connection.ops.sequence_reset_sql(no_style(), list(model_classes))
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def analyze(self, *model_classes) -> None:
        """Refresh planner statistics after a bulk load."""
        with self.connection.cursor() as cursor:
            for model in model_classes:
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
