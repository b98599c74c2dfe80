"""The benches' audit loaders on the monthly partitions (PostgreSQL): bench/audit_queries.py's
loader and bench/scale.py's seal loader fill a database of their own over several months;
every index they dropped for the load is back on the parents and on every partition (a
partitioned table's index definition says ON ONLY, which run as it is builds the parent's
alone, invalid), the foreign keys are as migrated, and verify_audit passes
on what they loaded. About half a minute."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps the trail in single tables"
)

LOAD = """
import sys
sys.path.insert(0, "bench")
import audit_queries as trail
import scale

server, database = sys.argv[1], sys.argv[2]
trail.environment(server, database)
trail.setup_django()
trail.load(server, database, 3000, 1000, trail.SEED, span=100)
scale.load_seals(f"{server}/{database}", 1000)
"""


@pytest.fixture
def server_and_database():
    """(server URL, the name of an empty database of its own), dropped afterwards."""
    config = settings.DATABASES["default"]
    server = (
        f"postgres://{config['USER']}"
        + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
        + f"@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}"
    )
    name = f"signposting_bench_loaders_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server, name
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def run(server: str, database: str, *command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"{server}/{database}", "SIGNPOSTING_DEMO": "true"}
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_loaders_fill_several_months_and_the_chain_verifies(server_and_database):
    server, database = server_and_database
    migrated = run(server, database, "manage.py", "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    with psycopg.connect(f"{server}/{database}") as db:
        # As migrated (none on PostgreSQL: migration 0015), to compare after the load.
        keys_before = dict(
            db.execute(
                "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f'"
                " AND conparentid = 0 AND conrelid IN ('audit_auditeventchild'::regclass,"
                " 'audit_auditseal'::regclass)"
            ).fetchall()
        )
    loaded = run(server, database, "-c", LOAD, server, database)
    assert loaded.returncode == 0, loaded.stdout[-3000:] + loaded.stderr[-3000:]

    with psycopg.connect(f"{server}/{database}") as db:
        months = db.execute(
            "SELECT count(DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC'))"
            " FROM audit_auditevent"
        ).fetchone()[0]
        assert months >= 4  # 100 days back from today
        # Every index of the partitioned tables: valid, and one on each partition.
        indexes = db.execute(
            "SELECT t.relname, i.relname, x.indisvalid,"
            " (SELECT count(*) FROM pg_inherits WHERE inhparent = i.oid),"
            " (SELECT count(*) FROM pg_inherits WHERE inhparent = t.oid)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_class t ON t.oid = x.indrelid"
            " WHERE t.relname IN ('audit_auditevent', 'audit_auditeventchild', 'audit_auditseal')"
            " AND t.relnamespace = 'public'::regnamespace"
        ).fetchall()
        assert len(indexes) >= 15
        for table, index, valid, attached, partitions in indexes:
            assert valid, index
            assert attached == partitions > 0, (table, index, attached, partitions)
        keys = dict(
            db.execute(
                "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f'"
                " AND conparentid = 0 AND conrelid IN ('audit_auditeventchild'::regclass,"
                " 'audit_auditseal'::regclass)"
            ).fetchall()
        )
        assert keys == keys_before
        events, seals = db.execute(
            "SELECT (SELECT count(*) FROM audit_auditevent), (SELECT count(*) FROM audit_auditseal)"
        ).fetchone()
        assert events == seals >= 3000

    verified = run(server, database, "manage.py", "verify_audit")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{events} events" in verified.stdout, verified.stdout
