"""Database triggers that make the audit tables append-only, on PostgreSQL and SQLite.

UPDATE and DELETE are rejected row by row; on PostgreSQL TRUNCATE too. In
production the app's database role also lacks UPDATE, DELETE and TRUNCATE on
these tables (manage.py audit_db_roles).

Beware: on SQLite, Django alters a table by rebuilding it, which drops its
triggers. A later migration that alters an audit table must create these
triggers again (tests/audit/test_append_only.py fails if it does not).
"""

from django.db import migrations

# django-auditlog's change history (audit_changerecord) is protected by the app role's
# privileges only: Django's test flush must be able to cascade into it.
TABLES = ["audit_auditevent", "audit_auditeventchild"]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # params=None: plpgsql's % placeholders must reach PostgreSQL untouched.
        schema_editor.execute(PG_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
                params=None,
            )
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
                params=None,
            )
    elif vendor == "sqlite":
        for table in TABLES:
            for operation in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'audit tables are append-only: {operation} on "
                    f"{table} refused'); END",
                    params=None,
                )
    else:
        raise NotImplementedError(f"No append-only triggers for {vendor}")


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}", params=None
            )
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}", params=None
            )
        else:
            for operation in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}", params=None)
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_append_only()", params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_trail")]

    operations = [migrations.RunPython(add_triggers, remove_triggers, elidable=False)]
