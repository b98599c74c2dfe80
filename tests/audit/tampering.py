"""Test helper: do to the audit tables what a database superuser could, triggers off."""

from contextlib import contextmanager

from django.db import connection

TABLES = ("audit_auditevent", "audit_auditeventchild", "audit_auditseal")


@contextmanager
def triggers_disabled():
    """Inside the test's transaction, so everything is rolled back (triggers included).

    Foreign keys stay on, checked when the block ends (PostgreSQL) or at the test's end
    (SQLite): put back whatever a tampering left pointing at nothing before then."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Run the deferred foreign-key checks now: ALTER TABLE refuses to
            # run while a table has pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield cursor
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            placeholders = ", ".join(["%s"] * len(TABLES))
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "  # noqa: S608 (placeholders only)
                f"WHERE type = 'trigger' AND tbl_name IN ({placeholders})",
                TABLES,
            )
            saved = cursor.fetchall()
            for name, _ in saved:
                cursor.execute(f'DROP TRIGGER "{name}"')
            yield cursor
            for _, sql in saved:
                cursor.execute(sql)
