"""Test helper: do to the audit tables what a database superuser could, triggers off."""

from contextlib import contextmanager

from django.db import connection

TABLES = ("audit_auditevent", "audit_auditeventchild")


@contextmanager
def triggers_disabled():
    """Inside the test's transaction, so everything is rolled back (triggers included)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Run the deferred foreign-key checks now: ALTER TABLE refuses to
            # run while a table has pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield cursor
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                TABLES,
            )
            saved = cursor.fetchall()
            for name, _ in saved:
                cursor.execute(f'DROP TRIGGER "{name}"')
            yield cursor
            for _, sql in saved:
                cursor.execute(sql)
