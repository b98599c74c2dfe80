"""The audit trail's monthly partitions (PostgreSQL): made ahead, append-only each one, out of
the app role's reach, and the reports read only the months they need."""

import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import partitions
from audit.oversight.selectors import EventFilter, events_matching
from audit.partitions import SCHEMA, TABLES, Month, ensure_partitions, missing_ahead
from audit.services import AuditWriteError, record
from tests.audit.helpers import make_app_role, seal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite keeps the trail in single tables"
    ),
]


def partition_tables(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE i.inhparent = %s::regclass ORDER BY 1",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def triggers_of(qualified: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [qualified],
        )
        return {row[0] for row in cursor.fetchall()}


def this_month() -> Month:
    return Month.of(timezone.now())


def test_the_months_around_now_have_partitions_in_their_own_schema():
    for table in TABLES:
        names = partition_tables(table)
        for month in (this_month(), this_month().next(), this_month().plus(3)):
            assert f"{SCHEMA}.{table}_{month.suffix()}" in names
        assert all(name.startswith(f"{SCHEMA}.") for name in names)
    assert missing_ahead() == []


def test_every_partition_refuses_update_delete_and_truncate_itself():
    record(request=None, action="search", children=["7KQ-4M2-PX9"])
    seal()
    for table in TABLES:
        partition = f"{SCHEMA}.{table}_{this_month().suffix()}"
        assert {f"{table}_no_change", f"{table}_{this_month().suffix()}_no_truncate"} <= (
            triggers_of(partition)
        )
        for statement in (
            f"UPDATE {partition} SET occurred_at = occurred_at",  # noqa: S608 (our names)
            f"DELETE FROM {partition}",  # noqa: S608
            f"TRUNCATE {partition} CASCADE",
        ):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                # TRUNCATE refuses to run while foreign-key checks wait.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(statement)


def test_partitions_made_later_are_append_only_too():
    far = this_month().plus(9)
    assert ensure_partitions(ahead=9) >= 3  # rolled back with the test
    assert ensure_partitions(ahead=9) == 0  # made once
    partition = f"{SCHEMA}.audit_auditevent_{far.suffix()}"
    assert triggers_of(partition) == {
        "audit_auditevent_no_change",
        f"audit_auditevent_{far.suffix()}_no_truncate",
    }
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {partition} CASCADE")


def test_an_event_in_a_month_without_a_partition_is_refused_and_the_lookup_fails_closed():
    long_ago = datetime(2011, 3, 1, 12, 0, tzinfo=UTC)
    with (
        mock.patch.object(timezone, "now", return_value=long_ago),
        pytest.raises(AuditWriteError),
        transaction.atomic(),
    ):
        record(request=None, action="search", children=["7KQ-4M2-PX9"])


def test_health_warns_when_next_month_has_no_partition(client):
    assert client.get("/healthz").json()["status"] == "ok"
    next_month = this_month().next()
    partitions.detach_and_drop(next_month)  # empty; made again as the test rolls back
    assert missing_ahead() == [next_month]
    answer = client.get("/healthz").json()
    assert answer["status"] == "warning" and answer["audit_partitions"] == "missing"


def test_the_sealer_makes_the_missing_months_ahead_when_it_takes_its_lock(monkeypatch):
    from audit.sealer import seal_follow

    next_month = this_month().next()
    partitions.detach_and_drop(next_month)  # made again as the test rolls back
    stop = threading.Event()

    def one_batch(*, limit):
        stop.set()
        return 0

    monkeypatch.setattr("audit.sealer.seal_pending", one_batch)
    seal_follow(stop=stop, interval=0.001)
    assert missing_ahead() == []
    assert next_month in partitions.months()


def test_the_app_role_reaches_the_months_only_through_the_parent_tables():
    record(request=None, action="search", children=["7KQ-4M2-PX9"])
    seal()
    partition = f"{SCHEMA}.audit_auditevent_{this_month().suffix()}"
    with connection.cursor() as cursor:
        app_role = make_app_role(cursor)  # rolled back with the test
        cursor.execute(f"SET ROLE {app_role}")
        try:
            cursor.execute("SELECT count(*) FROM audit_auditevent")
            assert cursor.fetchone()[0] >= 1
            for statement in (
                f"SELECT count(*) FROM {partition}",  # noqa: S608 (our names)
                f"DELETE FROM {partition}",  # noqa: S608
                f"TRUNCATE {partition}",
                f"ALTER TABLE audit_auditevent DETACH PARTITION {partition}",
                f"DROP TABLE {partition}",
            ):
                with pytest.raises(DatabaseError), transaction.atomic():
                    cursor.execute(statement)
            # ... but it may have the months ahead made (the sealer runs as it).
            cursor.execute(
                "SELECT audit_make_partitions(%s, %s)",
                [this_month().start.date(), this_month().plus(10).start.date()],
            )
            assert cursor.fetchone()[0] >= 3
        finally:
            cursor.execute("RESET ROLE")


def test_the_event_list_of_a_date_range_reads_only_those_months():
    ensure_partitions(first=Month(2025, 1))
    start = this_month().previous().start.date()
    end = (this_month().start - timedelta(days=1)).date()
    plan = events_matching(criteria=EventFilter(date_from=start, date_to=end))[:50].explain()
    previous = this_month().previous().suffix()
    assert f"audit_auditevent_{previous}" in plan, plan
    others = [m for m in partitions.months() if m != this_month().previous()]
    # The range is in local days: its last day may run an hour into this month (summer
    # time), never into any other.
    for month in others:
        if month != this_month():
            assert f"audit_auditevent_{month.suffix()} " not in plan, (month, plan)
