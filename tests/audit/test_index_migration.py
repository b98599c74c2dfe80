"""Migration 0017 builds the event list's index (upper-cased username, time, number) month by
month, CONCURRENTLY, on PostgreSQL's partitioned trail
(signposting.migration_operations.AddIndexConcurrentlyToPartitions): every month gets it, a
build stopped part way carries on when the migration runs again, and months made later get
it as they are made."""

import pytest
from django.db import connection

from tests.audit.databases import connect, manage

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps the trail in single tables"
)

COLUMNS = "(upper((actor_username)::text), occurred_at DESC, sequence DESC)"


def months(db) -> list[str]:
    rows = db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'audit_auditevent'::regclass ORDER BY 1"
    ).fetchall()
    return [name for (name,) in rows]


def indexed(db, index: str) -> dict[str, str]:
    """Month partition -> the name of its index attached to `index`."""
    rows = db.execute(
        "SELECT t.relname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_index x ON x.indexrelid = c.oid JOIN pg_class t ON t.oid = x.indrelid"
        " WHERE i.inhparent = %s::regclass",
        [index],
    ).fetchall()
    return dict(rows)


def test_every_month_gets_the_index_even_after_a_build_stopped_part_way(database):
    for target in (("children",), ("audit", "0016")):
        step = manage(database, "migrate", *target)
        assert step.returncode == 0, step.stderr
    with connect(database) as db:
        first, second, *_ = months(db)
        # A build stopped part way: the parent's index made, the first month's built and
        # attached, the second's built but never attached.
        db.execute(f"CREATE INDEX audit_username_time ON ONLY audit_auditevent {COLUMNS}")
        for partition in (first, second):
            db.execute(
                f'CREATE INDEX "{partition}_audit_username_time"'
                f" ON audit_partitions.{partition} {COLUMNS}"
            )
        db.execute(
            "ALTER INDEX audit_username_time"
            f' ATTACH PARTITION audit_partitions."{first}_audit_username_time"'
        )

    migrated = manage(database, "migrate")
    assert migrated.returncode == 0, migrated.stderr

    with connect(database) as db:
        every = months(db)
        assert indexed(db, "audit_username_time") == {
            month: f"{month}_audit_username_time" for month in every
        }
        (valid,) = db.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'audit_username_time'::regclass"
        ).fetchone()
        assert valid
        (old,) = db.execute("SELECT to_regclass('audit_username_number')").fetchone()
        assert old is None
        # A month made later gets the index as it is made.
        db.execute("SELECT audit_make_partitions('2040-01-01', '2040-02-01')")
        assert indexed(db, "audit_username_time")["audit_auditevent_2040_01"]
