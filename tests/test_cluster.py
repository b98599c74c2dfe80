"""bench/cluster.py: a primary and a synchronous standby, reached by one multi-host
DATABASE_URL, and what the app's persistent connections do when the primary dies and the
standby is promoted (issue 18, part 2). PostgreSQL's own binaries, in a directory of the
test's own, on free ports: about ten seconds."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.db import DatabaseError
from django.db.utils import ConnectionHandler
from django.test import RequestFactory

from bench.cluster import Cluster, archive_command
from signposting.database_url import databases
from signposting.views import health
from tests.clusters import free_ports, skip_unless_a_cluster_can_run


@pytest.fixture(scope="module")
def cluster():
    skip_unless_a_cluster_can_run()
    # Not pytest's tmp_path: as root the servers run as `postgres`, which must reach the
    # directory, and pytest's are private to their owner.
    base = Path(tempfile.mkdtemp(prefix="signposting-cluster-"))
    base.chmod(0o755)
    made = Cluster(base / "cluster", ports=free_ports(2), database="signposting", quiet=True)
    try:
        made.start()
        yield made
    finally:
        made.destroy()
        shutil.rmtree(base, ignore_errors=True)


def _wrapper(url: str):
    """A Django connection to `url` as the settings would make it (persistent, health-checked)."""
    return ConnectionHandler({"default": databases(url=url, conn_max_age=600)["default"]})[
        "default"
    ]


def _health() -> int:
    return health(RequestFactory().get("/healthz")).status_code


def _where(wrapper) -> tuple[int, bool]:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT inet_server_port(), pg_is_in_recovery()")
        return cursor.fetchone()


def test_the_standby_streams_synchronously(cluster):
    rows = cluster.sql(
        cluster.primary(),
        "SELECT application_name, state, sync_state FROM pg_stat_replication",
    )
    assert rows == [(cluster.standby().name, "streaming", "sync")]
    assert cluster.sql(cluster.primary(), "SHOW synchronous_commit") == [("on",)]
    assert cluster.sql(cluster.standby(), "SELECT pg_is_in_recovery()") == [(True,)]


def test_a_row_committed_on_the_primary_is_on_the_standby(cluster):
    primary, standby = cluster.primary(), cluster.standby()
    cluster.sql(primary, "CREATE TABLE IF NOT EXISTS drill (note text)", dbname="signposting")
    cluster.sql(primary, "INSERT INTO drill VALUES ('committed')", dbname="signposting")
    # The commit waited for the standby to hold it (synchronous_commit = on); replaying it,
    # so that a query there sees it, follows within moments.
    deadline = time.monotonic() + 5
    while True:
        found = cluster.sql(standby, "SELECT note FROM drill", dbname="signposting")
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert found == [("committed",)]


def test_one_url_reaches_the_primary_and_after_a_failover_the_new_one(
    cluster, django_db_blocker, monkeypatch
):
    old, new = cluster.primary(), cluster.standby()
    url = cluster.database_url()
    assert url.endswith("?target_session_attrs=read-write") and f":{old.port}," in url
    with django_db_blocker.unblock():
        # Two gunicorn workers' persistent connections: one busy when the primary dies, one
        # idle.
        busy, idle, probe = _wrapper(url), _wrapper(url), _wrapper(url)
        monkeypatch.setattr("signposting.views.connection", probe)
        try:
            assert _where(busy) == (old.port, False)
            assert _where(idle) == (old.port, False)
            assert _health() == 200

            cluster.kill_primary()
            # The request in flight fails (the error page's 503: tests/test_error_pages.py).
            with pytest.raises(DatabaseError):
                _where(busy)
            # No primary: the standby is up, but takes no writes. The load balancer is told.
            probe.close()
            assert _health() == 503
            cluster.promote()
            probe.close_if_unusable_or_obsolete()
            assert _health() == 200
            assert cluster.sql(new, "SHOW synchronous_standby_names") == [("",)]

            # The next request: Django's request_started closes the connection that failed;
            # the idle one fails its health check at the first query and is opened again.
            for connection in (busy, idle):
                connection.close_if_unusable_or_obsolete()
                assert _where(connection) == (new.port, False)
        finally:
            for connection in (busy, idle, probe):
                connection.close()


def test_the_archive_never_overwrites_a_different_segment(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    segment = tmp_path / "000000010000000000000001"
    segment.write_bytes(b"first")

    def archive_it() -> int:
        command = archive_command(archive).replace("%p", str(segment)).replace("%f", segment.name)
        return subprocess.run(["sh", "-c", command], check=False).returncode  # noqa: S607

    assert archive_it() == 0
    assert (archive / segment.name).read_bytes() == b"first"
    # A retry after a crash between the copy and PostgreSQL hearing of it: the same bytes.
    assert archive_it() == 0
    segment.write_bytes(b"other")
    assert archive_it() != 0
    assert (archive / segment.name).read_bytes() == b"first"
    assert sorted(path.name for path in archive.iterdir()) == [segment.name]
