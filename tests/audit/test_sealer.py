"""The sealer chains committed events after commit: in batches, lowest number first, with no
gap in positions, losing nothing to a crash, one sealer at a time, and an event that commits
late (with a lower number) sealed at the next position."""

import io
import os
import signal
import subprocess
import sys
import threading
import time
from itertools import pairwise
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from audit.models import UnsealedEvent  # noqa: TID251 (the sealer's own tables)
from audit.sealer import SEALER_LOCK_KEY, seal_all, seal_follow, seal_pending
from audit.services import record
from audit.verify import verify_chain
from tests.audit.helpers import seal, seal_head_position, seals

ROOT = Path(__file__).resolve().parents[2]
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite seals each event as record() appends it: there is no queue to seal from",
)
# Tests that commit for real (other connections must see what they write); the audit app's
# tables are never flushed (the trail is append-only), the rest is as after any test.
committing = pytest.mark.django_db(transaction=True)


def new_events(count: int, **fields) -> list[int]:
    return [record(request=None, action="search", **fields).sequence for _ in range(count)]


def sealed_numbers(head: int) -> list[int]:
    """The numbers of the events sealed after position `head`, in position order."""
    return list(seals().filter(position__gt=head).values_list("event__sequence", flat=True))


def assert_one_chain_from(head: int, expected: int) -> None:
    """`expected` new seals after `head`, consecutive, each linked to the one before and
    each of another event; and the whole chain verifies."""
    new = list(
        seals().filter(position__gt=head).values_list("position", "event_id", "prev_hash", "hash")
    )
    assert [row[0] for row in new] == list(range(head + 1, head + 1 + expected))
    assert len({row[1] for row in new}) == expected
    for (*_, previous), (_, _, prev_hash, _) in pairwise(new):
        assert prev_hash == previous
    verdict = verify_chain()
    assert verdict.ok, verdict.problem


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def queue_empty() -> bool:
    return not UnsealedEvent.objects.exists()


def sealer_lock_holders() -> list[int]:
    """The backend pids holding the sealer's session lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 1",
            [SEALER_LOCK_KEY >> 32, SEALER_LOCK_KEY & 0xFFFFFFFF],
        )
        return [row[0] for row in cursor.fetchall()]


# --- Batches --------------------------------------------------------------------------------


@postgres_only
@pytest.mark.django_db
def test_a_batch_seals_at_most_its_limit_lowest_number_first_and_positions_run_on():
    seal()
    head = seal_head_position()
    numbers = new_events(5)
    assert UnsealedEvent.objects.count() == 5
    assert seal_pending(limit=2) == 2
    assert sealed_numbers(head) == numbers[:2]
    assert seal_pending(limit=2) == 2
    assert seal_pending(limit=2) == 1
    assert seal_pending(limit=2) == 0
    assert sealed_numbers(head) == numbers
    assert queue_empty()
    assert_one_chain_from(head, 5)


@postgres_only
@pytest.mark.django_db
def test_seal_all_runs_batch_after_batch_until_nothing_waits():
    seal()
    head = seal_head_position()
    numbers = new_events(7)
    assert seal_all(limit=3) == 7
    assert sealed_numbers(head) == numbers
    assert_one_chain_from(head, 7)


@pytest.mark.django_db
def test_on_sqlite_record_seals_as_it_appends():
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL seals after commit")
    head = seal_head_position()
    event = record(request=None, action="search")
    assert seals().get(event=event).position == head + 1
    assert not UnsealedEvent.objects.exists()
    out = io.StringIO()
    call_command("seal_audit", stdout=out)
    assert "SQLite: record() seals each event as it appends it" in out.getvalue()
    assert "Sealed 0 waiting event(s)." in out.getvalue()


@postgres_only
@pytest.mark.django_db
def test_seal_audit_seals_what_waits_once():
    seal()
    new_events(3)
    out = io.StringIO()
    call_command("seal_audit", stdout=out)
    assert out.getvalue().strip() == "Sealed 3 event(s)."
    assert queue_empty()


# --- A crash --------------------------------------------------------------------------------


@postgres_only
@committing
def test_a_crash_between_batches_loses_nothing_and_the_next_run_carries_on():
    seal()
    head = seal_head_position()
    numbers = new_events(6)
    assert seal_pending(limit=2) == 2  # committed

    def connection_lost_at_the_dequeue(execute, sql, params, many, context):
        if "DELETE FROM" in sql and "audit_unsealedevent" in sql:
            raise DatabaseError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    # The next batch dies after inserting its seals, before taking its events off the queue
    # and committing: none of it stays.
    with (
        connection.execute_wrapper(connection_lost_at_the_dequeue),
        pytest.raises(DatabaseError),
    ):
        seal_pending(limit=2)
    assert seal_head_position() == head + 2
    assert UnsealedEvent.objects.count() == 4

    # A new sealer (its own connection, as after a restart) carries on where the chain ends.
    connection.close()
    assert seal_all(limit=2) == 4
    assert sealed_numbers(head) == numbers
    assert_one_chain_from(head, 6)


# --- Two sealers ----------------------------------------------------------------------------


class Sealer(threading.Thread):
    """`seal_audit --follow` in a thread: its own database connection and stop switch."""

    def __init__(self, name: str, start_together: threading.Barrier):
        super().__init__(name=name)
        self.stop = threading.Event()
        self.start_together = start_together
        self.pid: int | None = None
        self.sealed = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            connection.ensure_connection()
            self.pid = connection.connection.info.backend_pid
            self.start_together.wait(10)
            self.sealed = seal_follow(stop=self.stop, interval=0.02, limit=50)
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            connections.close_all()


@postgres_only
@committing
def test_two_sealers_started_at_once_one_seals_and_the_other_takes_over(caplog):
    seal()
    head = seal_head_position()
    caplog.set_level("INFO", logger="audit.sealer")
    together = threading.Barrier(2)
    sealers = [Sealer("sealer-a", together), Sealer("sealer-b", together)]
    for sealer in sealers:
        sealer.start()
    first_batch = new_events(120)
    wait_until(queue_empty)
    (holder_pid,) = sealer_lock_holders()
    holder = next(sealer for sealer in sealers if sealer.pid == holder_pid)
    spare = next(sealer for sealer in sealers if sealer is not holder)
    assert [r.threadName for r in caplog.records if "took the sealer lock" in r.message] == [
        holder.name
    ]

    # The holder stops (its session ends, the lock goes); the spare takes over.
    holder.stop.set()
    holder.join(10)
    second_batch = new_events(80)
    wait_until(queue_empty)
    assert sealer_lock_holders() == [spare.pid]
    spare.stop.set()
    spare.join(10)
    assert not holder.error and not spare.error, (holder.error, spare.error)
    assert holder.sealed >= len(first_batch)
    assert spare.sealed >= len(second_batch)
    assert holder.sealed + spare.sealed == len(first_batch) + len(second_batch)
    assert [r.threadName for r in caplog.records if "took the sealer lock" in r.message] == [
        holder.name,
        spare.name,
    ]
    assert sorted(sealed_numbers(head)) == sorted(first_batch + second_batch)
    assert_one_chain_from(head, 200)
    assert sealer_lock_holders() == []


@postgres_only
@committing
def test_batches_run_at_once_without_the_session_lock_queue_on_the_chain_lock():
    """Two `seal_audit` runs by hand (no session lock), on many writers' events."""
    seal()
    head = seal_head_position()
    numbers = new_events(300)
    errors: list[BaseException] = []
    together = threading.Barrier(3)

    def run_by_hand() -> None:
        try:
            together.wait(10)
            while seal_pending(limit=7):
                pass
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_by_hand) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(sealed_numbers(head)) == numbers
    assert_one_chain_from(head, 300)


# --- An event committed late ----------------------------------------------------------------


@postgres_only
@committing
def test_an_event_committed_late_with_a_lower_number_is_sealed_at_the_next_position():
    seal()
    head = seal_head_position()
    inserted, release = threading.Event(), threading.Event()
    late: dict[str, int] = {}
    errors: list[BaseException] = []

    def long_lookup() -> None:
        try:
            with transaction.atomic():
                late["number"] = record(request=None, action="record_view").sequence
                inserted.set()
                release.wait(10)  # the lookup's transaction stays open
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=long_lookup)
    thread.start()
    assert inserted.wait(10)
    (early,) = new_events(1)  # committed at once
    assert early > late["number"]

    assert seal() == 1  # only what has committed
    assert sealed_numbers(head) == [early]
    assert verify_chain().ok  # the open lookup's event is not there yet, for anyone

    release.set()
    thread.join(10)
    assert not errors, errors
    assert seal() == 1
    assert sealed_numbers(head) == [early, late["number"]]
    assert seals().get(event__sequence=late["number"]).position == head + 2
    assert_one_chain_from(head, 2)


# --- The worker -----------------------------------------------------------------------------


@postgres_only
@committing
def test_the_worker_seals_as_events_commit_and_stops_cleanly_on_sigterm():
    seal()
    head = seal_head_position()
    database = connection.settings_dict  # the test database
    password = f":{quote(database['PASSWORD'], safe='')}" if database["PASSWORD"] else ""
    url = (
        f"postgres://{quote(database['USER'], safe='')}{password}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}"
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "seal_audit", "--follow"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "AUDIT_SEAL_INTERVAL_SECONDS": "0.05"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: sealer_lock_holders() != [], timeout=60)
        numbers = new_events(5)
        wait_until(queue_empty)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "Sealing the audit chain every 0.05 s until stopped" in out
    assert "Stopped; 5 event(s) sealed." in out
    assert "took the sealer lock" in err  # the JSON log lines
    assert sealed_numbers(head) == numbers
    assert sealer_lock_holders() == []


def test_while_the_database_is_away_the_sealer_logs_one_traceback_then_one_line_a_try(
    monkeypatch, caplog
):
    # A failover: the database answers nothing for a while, then answers again.
    stop = threading.Event()
    outcomes = iter([DatabaseError("gone"), DatabaseError("gone"), DatabaseError("gone"), 0])

    def batch(*, limit):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        stop.set()
        return outcome

    monkeypatch.setattr("audit.sealer._take_the_sealer_lock", lambda: True)
    monkeypatch.setattr("audit.sealer._release_the_sealer_lock", lambda: None)
    monkeypatch.setattr("audit.sealer.partitions_ahead", lambda: None)  # no database here
    monkeypatch.setattr("audit.sealer.seal_pending", batch)
    monkeypatch.setattr("audit.sealer.connection.close", lambda: None)
    with caplog.at_level("INFO", logger="audit.sealer"):
        assert seal_follow(stop=stop, interval=0.001) == 0

    errors = [r for r in caplog.records if "database error" in r.getMessage()]
    assert [bool(r.exc_info) for r in errors] == [True, False, False]
    assert "3 in a row" in errors[-1].getMessage()
    assert caplog.records[-1].getMessage() == "Sealer: the database answers again after 3 error(s)"
