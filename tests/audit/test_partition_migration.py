"""Migration 0015 moves an existing trail into the monthly partitions (PostgreSQL): on a
database of its own, a trail of three months written by the schema before it (sealed events,
child links, an event still waiting for its seal) is migrated; every row arrives in its
month, the chain verifies unchanged, and the waiting event is sealed afterwards."""

from datetime import UTC, datetime

import psycopg
import pytest
from django.db import connection

from audit import chain
from audit.models import GENESIS_HASH
from tests.audit.databases import manage

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps the trail in single tables"
)

MONTHS = [
    datetime(2026, 8, 14, 9, 30, tzinfo=UTC),
    datetime(2026, 9, 30, 23, 59, 59, 999999, tzinfo=UTC),  # the last instant of September
    datetime(2026, 10, 1, 0, 0, tzinfo=UTC),  # the first of October
]


def write_old_trail(url: str) -> int:
    """Events through migration 0013's audit_append(), three children's links, and seals
    made as the sealer of that schema made them; the last event left in the queue. Returns
    how many events."""
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as db:
        for index, when in enumerate(MONTHS * 3):
            children = [f"7KQ-4M2-PX{index}"] if index % 2 == 0 else []
            db.execute(
                "SELECT * FROM audit_append(%s, 'search', NULL, '', '', '', '', '',"
                " %s::jsonb, '{}'::jsonb, '', '', 'allowed', 1, '{}'::jsonb, NULL, '', %s)",
                [when, psycopg.types.json.Jsonb(children), children],
            )
        rows = db.execute(
            "SELECT id, sequence, "  # noqa: S608 (column names from audit.chain)
            + ", ".join(chain.HASHED_FIELDS)
            + " FROM audit_auditevent"
            " WHERE id IN (SELECT event_id FROM audit_unsealedevent) ORDER BY sequence"
        ).fetchall()
        prev_hash = GENESIS_HASH
        for position, row in enumerate(rows[:-1], start=1):
            event = dict(zip(("id", "sequence", *chain.HASHED_FIELDS), row, strict=True))
            hash_ = chain.link(
                prev_hash=prev_hash,
                position=position,
                number=event["sequence"],
                content=chain.body(event),
            )
            db.execute(
                "INSERT INTO audit_auditseal (position, event_id, prev_hash, hash, sealed_at)"
                " VALUES (%s, %s, %s, %s, now())",
                [position, event["id"], prev_hash, hash_],
            )
            db.execute("DELETE FROM audit_unsealedevent WHERE event_id = %s", [event["id"]])
            prev_hash = hash_
    return len(rows)


def test_an_existing_trail_moves_into_its_months_and_verifies_unchanged(database):
    # The register first (post-migrate handlers read it), then the trail as it was.
    for target in (("children",), ("audit", "0014")):
        old = manage(database, "migrate", *target)
        assert old.returncode == 0, old.stderr
    count = write_old_trail(database)
    assert count == 9
    with psycopg.connect(database.replace("postgres://", "postgresql://")) as db:
        seals_before = db.execute(
            "SELECT position, event_id, prev_hash, hash FROM audit_auditseal ORDER BY 1"
        ).fetchall()
    assert len(seals_before) == 8

    migrated = manage(database, "migrate")
    assert migrated.returncode == 0, migrated.stderr

    with psycopg.connect(database.replace("postgres://", "postgresql://")) as db:
        for table, expected in (
            ("audit_auditevent", {"2026_08": 3, "2026_09": 3, "2026_10": 3}),
            ("audit_auditeventchild", {"2026_08": 2, "2026_09": 1, "2026_10": 2}),
            ("audit_auditseal", {"2026_08": 3, "2026_09": 3, "2026_10": 2}),
        ):
            for suffix, rows in expected.items():
                (found,) = db.execute(
                    f"SELECT count(*) FROM audit_partitions.{table}_{suffix}"  # noqa: S608
                ).fetchone()
                assert found == rows, (table, suffix)
        (waiting,) = db.execute("SELECT count(*) FROM audit_unsealedevent").fetchone()
        assert waiting == 1
        (kind,) = db.execute(
            "SELECT relkind FROM pg_class WHERE relname = 'audit_auditevent'"
        ).fetchone()
        assert kind == "p"  # partitioned
        seals_after = db.execute(
            "SELECT position, event_id, prev_hash, hash FROM audit_auditseal ORDER BY 1"
        ).fetchall()
    assert seals_after == seals_before
    # The event still waiting is long past the seal delay: verify_audit says so ...
    verified = manage(database, "verify_audit")
    assert verified.returncode == 1
    assert "BROKEN at event 9: has no seal" in verified.stdout + verified.stderr

    # ... until the sealer seals it, at the next position.
    assert manage(database, "seal_audit").returncode == 0
    verified = manage(database, "verify_audit")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "9 event(s)" in verified.stdout or "9 events" in verified.stdout, verified.stdout
