"""Make the audit log append-only in the database itself: UPDATE is refused on every backend, DELETE
on PostgreSQL (SQLite's test flush deletes rows; TRUNCATE on PostgreSQL fires no row trigger)."""
from django.db import migrations

PG_FUNC = """
CREATE OR REPLACE FUNCTION core_auditlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '审计日志只能追加,不能修改或删除';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNC)
        schema_editor.execute(
            "CREATE TRIGGER core_auditlog_no_change BEFORE UPDATE OR DELETE ON core_auditlog "
            "FOR EACH ROW EXECUTE FUNCTION core_auditlog_append_only();")
    elif vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER core_auditlog_no_update BEFORE UPDATE ON core_auditlog "
            "BEGIN SELECT RAISE(ABORT, '审计日志只能追加,不能修改'); END;")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditlog_no_change ON core_auditlog;")
        schema_editor.execute("DROP FUNCTION IF EXISTS core_auditlog_append_only();")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditlog_no_update;")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
