"""On PostgreSQL, refuse UPDATE and DELETE of audit rows in the database itself.

A guard against mistakes and against code that bypasses the ORM. It is not the proof of
integrity: the table owner can disable a trigger. The hash chain (`audit_verify`) is the proof.
TRUNCATE is deliberately not blocked: Django's test runner empties tables with it between
transactional tests. SQLite gets no trigger for the same reason (it empties tables with DELETE).
"""

from django.db import migrations

TABLES = ("audit_auditentry", "audit_auditanchor")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'The audit trail is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME
            || ' is refused.',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
CREATE_TRIGGER = """
CREATE TRIGGER {table}_append_only
BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()
"""
DROP_TRIGGER = "DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
DROP_FUNCTION = "DROP FUNCTION IF EXISTS audit_refuse_change()"


def install_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(DROP_TRIGGER.format(table=table), params=None)
        schema_editor.execute(CREATE_TRIGGER.format(table=table), params=None)


def remove_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(DROP_TRIGGER.format(table=table), params=None)
    schema_editor.execute(DROP_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_anchor"),
    ]

    operations = [
        migrations.RunPython(install_triggers, remove_triggers, elidable=False),
    ]
