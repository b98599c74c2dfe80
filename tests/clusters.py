"""What the tests that start PostgreSQL clusters of their own share (tests/test_cluster.py,
tests/test_failover.py)."""

import os
import socket

import pytest
from django.conf import settings

from bench.cluster import binaries_missing, server_user_exists

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def free_ports(count: int) -> list[int]:
    """`count` TCP ports free on the loopback now (each test's cluster and servers its own)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def skip_unless_a_cluster_can_run() -> None:
    """Skips the test where no cluster can start: on SQLite (the replication is
    PostgreSQL's), without the server binaries, or as root with no user to run them as."""
    if not ON_POSTGRESQL:
        pytest.skip("PostgreSQL only: the cluster is PostgreSQL's own replication")
    if missing := binaries_missing():
        pytest.skip(f"The PostgreSQL server binaries are not installed ({', '.join(missing)})")
    if os.geteuid() == 0 and not server_user_exists(os.environ.get("CLUSTER_RUN_AS", "postgres")):
        pytest.skip("Running as root with no postgres user to run the servers as")
