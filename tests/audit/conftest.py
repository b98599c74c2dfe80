"""A PostgreSQL database of a test's own, to migrate step by step with `manage.py`
(tests.audit.databases): for the migrations that move or rebuild the trail, which cannot be
tried inside a test's transaction (they build indexes CONCURRENTLY, or replace the tables)."""

import uuid

import psycopg
import pytest
from django.conf import settings


@pytest.fixture
def database():
    """An empty database of its own (its URL), dropped afterwards."""
    config = settings.DATABASES["default"]
    name = f"signposting_migration_{uuid.uuid4().hex[:8]}"
    server = psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    server.execute(f'CREATE DATABASE "{name}"')
    url = (
        f"postgres://{config['USER']}"
        + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
        + f"@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{name}"
    )
    try:
        yield url
    finally:
        server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        server.close()
