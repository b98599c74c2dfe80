"""Read routing (signposting.db_router): reads go to the replica only inside an explicit
scope, never inside a transaction of the primary's, never when it is down or behind; writes
and migrations always go to the primary."""

import logging

import pytest
from django.db import OperationalError, connections, router, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Organisation
from children.matching import training
from signposting import db_router
from signposting.db_router import (
    REPLICA,
    ReplicaStatus,
    read_connection,
    read_on_replica,
    reads_alias,
    replica_reads,
)
from tests.factories import make_area, make_child

pytestmark = pytest.mark.django_db


def test_without_a_replica_a_scope_reads_from_the_primary(settings):
    settings.REPLICA_READS = False
    with replica_reads() as alias:
        assert alias == "default"
        assert router.db_for_read(Organisation) == "default"


def test_in_a_scope_reads_go_to_the_replica_and_writes_to_the_primary(replica):
    area = make_area()
    primary = connections["default"]
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(primary) as on_primary,
        replica_reads() as alias,
    ):
        assert alias == REPLICA
        assert router.db_for_read(Organisation) == REPLICA
        assert read_connection() is replica
        found = Organisation.objects.get(pk=area.pk)
        found.name = "Renamed"
        found.save()
        assert router.db_for_write(Organisation) == "default"
    read = [query["sql"] for query in on_replica.captured_queries]
    written = [query["sql"] for query in on_primary.captured_queries]
    assert any("SELECT" in sql and "accounts_organisation" in sql for sql in read)
    assert not any(sql.startswith(("UPDATE", "INSERT")) for sql in read)
    assert any(sql.startswith("UPDATE") and "accounts_organisation" in sql for sql in written)
    assert Organisation.objects.get(pk=area.pk).name == "Renamed"


def test_out_of_a_scope_reads_go_to_the_primary_even_with_a_replica(replica):
    area = make_area()
    with replica_reads():
        pass
    with CaptureQueriesContext(replica) as on_replica:
        assert Organisation.objects.get(pk=area.pk) == area
        assert reads_alias() == "default"
        assert router.db_for_read(Organisation) == "default"
    assert on_replica.captured_queries == []


def test_inside_a_transaction_of_the_primary_reads_stay_on_the_primary(replica):
    # A read that decides a write must see what its transaction wrote (the audit trail's own
    # reads inside record(), the rate limit's count...).
    with replica_reads(), transaction.atomic():
        assert router.db_for_read(Organisation) == "default"
        assert read_connection() is connections["default"]


def test_scopes_nest_and_end_where_they_began(replica):
    with replica_reads():
        with replica_reads():
            assert reads_alias() == REPLICA
        assert reads_alias() == REPLICA
    assert reads_alias() == "default"


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate("default", "audit") is True
    assert router.allow_migrate(REPLICA, "audit") is False


def test_a_replica_that_cannot_be_reached_is_left_for_the_primary_with_one_warning(
    unreachable_replica, caplog
):
    caplog.set_level(logging.WARNING, logger="signposting.db_router")
    with replica_reads() as alias:
        assert alias == "default"
        assert Organisation.objects.count() == 0
    # Not tried again for a while: one connect timeout, one warning.
    with replica_reads() as alias:
        assert alias == "default"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "reads go to the primary" in warnings[0] and "unreachable" in warnings[0]


def test_a_replica_too_far_behind_is_not_read_from(replica, settings, monkeypatch, caplog):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 30
    behind = ReplicaStatus(up=True, in_recovery=True, lag_seconds=95)
    monkeypatch.setattr(db_router, "replica_status", lambda: behind)
    caplog.set_level(logging.WARNING, logger="signposting.db_router")
    with replica_reads() as alias:
        assert alias == "default"
    assert "95.0 s behind the primary" in caplog.text


def test_a_replica_that_fails_during_a_read_is_read_again_from_the_primary(replica, caplog):
    caplog.set_level(logging.WARNING, logger="signposting.db_router")
    tried = []

    def read():
        tried.append(reads_alias())
        if reads_alias() == REPLICA:
            raise OperationalError("server closed the connection unexpectedly")
        return Organisation.objects.count()

    assert read_on_replica(read) == 0
    assert tried == [REPLICA, "default"]
    assert "failed during a read" in caplog.text
    # And the replica is left alone for a while.
    assert read_on_replica(lambda: reads_alias()) == "default"


def test_the_replicas_status_says_whether_it_is_a_standby(replica):
    status = db_router.replica_status()
    assert status.up
    if replica.vendor == "postgresql":
        # The test database is a primary: no standby, no lag to speak of.
        assert (status.in_recovery, status.lag_seconds) == (False, None)


def test_the_match_models_training_reads_the_register_from_the_replica(replica):
    make_child()
    with CaptureQueriesContext(replica) as on_replica:
        records = read_on_replica(lambda: training.register_records())
    assert len(records) == 1
    assert any("children_child" in query["sql"] for query in on_replica.captured_queries)
