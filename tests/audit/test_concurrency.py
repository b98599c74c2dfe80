"""Concurrent writers never fork or gap the chain (PostgreSQL: real concurrent transactions)."""

import threading
from itertools import pairwise

import pytest
from django.db import connection, connections

from audit.services import record
from audit.verify import verify_chain
from tests.audit.helpers import events, head_sequence

WRITERS = 8
EVENTS_EACH = 200


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers at BEGIN IMMEDIATE; the advisory lock is PostgreSQL's",
)
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_make_one_gap_free_chain():
    start = head_sequence()
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

    new = list(events().filter(sequence__gt=start).values_list("sequence", "prev_hash", "hash"))
    assert len(new) == WRITERS * EVENTS_EACH
    sequences = [row[0] for row in new]
    assert sequences == list(range(start + 1, start + 1 + WRITERS * EVENTS_EACH))
    assert len({row[1] for row in new}) == len(new)  # no two events share a predecessor
    for (_, _, previous), (_, prev_hash, _) in pairwise(new):
        assert prev_hash == previous
    assert verify_chain().ok
