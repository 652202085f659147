"""Bulk insertion of column-wise rows: PostgreSQL COPY (CSV written by polars), SQLite executemany.

Columns are given by model attribute name; every concrete field not given gets its model default
(so fields other apps add later, with defaults, need no change here). Values must already be in
text-ready form: str (dates ``YYYY-MM-DD``, decimals, JSON), int or None.
"""
from __future__ import annotations

import datetime as dt
import io
import json
from contextlib import contextmanager

from django.core.management.color import no_style
from django.db import models, transaction

_NO_DEFAULT = object()


class BulkWriter:
    def __init__(self, connection):
        self.connection = connection
        self.vendor = connection.vendor
        self.now = dt.datetime.now(dt.timezone.utc)

    def write(self, model: type[models.Model], columns: dict[str, list]) -> int:
        """Insert the rows; returns how many."""
        n = len(next(iter(columns.values()))) if columns else 0
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

    @contextmanager
    def indexes_deferred(self, *model_classes):
        """On PostgreSQL, drop the secondary indexes, unique and foreign-key constraints of the tables
        for the duration of the load and recreate them afterwards (one sort per index instead of a
        million random inserts; one join per foreign key instead of a million trigger checks). Runs
        inside the caller's transaction, so a failure restores everything."""
        if self.vendor != "postgresql":
            yield
            return
        saved = []
        with self.connection.cursor() as cursor:
            # Run the deferred foreign-key checks queued so far (ALTER TABLE refuses pending events).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for model in model_classes:
                saved += self._drop_secondary(cursor, model._meta.db_table)
        yield
        with self.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for statement in [s for s in saved if "FOREIGN KEY" not in s] + [s for s in saved if "FOREIGN KEY" in s]:
                cursor.execute(statement)

    def _drop_secondary(self, cursor, table: str) -> list[str]:
        """Drop what can be rebuilt; returns the statements that rebuild it."""
        rebuild = []
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')", [table])
        for name, definition in cursor.fetchall():
            try:
                with transaction.atomic(using=self.connection.alias):  # a referenced constraint stays
                    cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            except Exception:
                continue
            rebuild.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                       "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT EXISTS "
                       "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)", [table])
        for name, definition in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
            rebuild.append(definition)
        return rebuild
