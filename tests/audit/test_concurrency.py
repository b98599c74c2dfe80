"""Concurrent writers never fork or gap the chain (PostgreSQL: real concurrent transactions).

Writers append with no lock; the sealer then chains what they committed, and the chain has
exactly their events, at consecutive positions, each linked to the one before."""

import threading
from itertools import pairwise

import pytest
from django.db import connection, connections

from audit.services import record
from audit.verify import verify_chain
from tests.audit.helpers import events_after, head_sequence, seal, seal_head_position, seals

WRITERS = 8
EVENTS_EACH = 200


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers at BEGIN IMMEDIATE; concurrent appends are PostgreSQL's",
)
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_make_one_gap_free_chain():
    seal()  # whatever earlier tests committed
    start, head = head_sequence(), seal_head_position()
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(EVENTS_EACH):
                record(request=None, action="search", criteria={"writer": n, "i": i})
        except BaseException as error:  # reported to the test below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures

    new_events = set(events_after(start).values_list("id", flat=True))
    assert len(new_events) == WRITERS * EVENTS_EACH
    assert seal() == WRITERS * EVENTS_EACH
    new = list(
        seals().filter(position__gt=head).values_list("position", "event_id", "prev_hash", "hash")
    )
    assert [row[0] for row in new] == list(range(head + 1, head + 1 + WRITERS * EVENTS_EACH))
    assert {row[1] for row in new} == new_events  # each event sealed, once
    assert len({row[2] for row in new}) == len(new)  # no two seals share a predecessor
    for (*_, previous), (_, _, prev_hash, _) in pairwise(new):
        assert prev_hash == previous
    assert verify_chain().ok
