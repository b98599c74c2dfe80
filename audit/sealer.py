"""The sealer: gives committed events their place in the hash chain, in batches, after commit.

record() inserts an event, on PostgreSQL, with no lock and a row in the sealer's queue
(UnsealedEvent), all in the lookup's transaction; the queue row becomes visible here only
once that transaction has committed. Each batch, in one transaction of its own:

1. takes the chain's transaction-level advisory lock, so that two batches never run at once
   (whoever runs them: `seal_audit --follow`, `seal_audit` by hand, a test);
2. reads up to `limit` of the queue's committed rows with their events, in event-number
   order;
3. reads the chain's head, and links each event after it (audit.chain) on the values as
   read back from the database, as verify_audit reads them;
4. inserts the seals and deletes those queue rows; commits.

A crash anywhere before the commit loses nothing: the queue rows stay until their seals
commit. An event that commits after events with higher numbers were sealed (a long lookup)
is simply sealed in a later batch, at the next position.

`seal_follow` (the worker, `manage.py seal_audit --follow`) runs batches while it holds a
session-level advisory lock, so that one sealer works at a time across every app instance;
the others wait as hot spares, trying for the lock every interval, and one takes over when
the holder's session ends. On SQLite record() seals each event as it appends it, so the
queue stays empty. docs/decisions/0010.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import chain, partitions
from audit.models import GENESIS_HASH, AuditEvent, AuditSeal, UnsealedEvent

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key held by each batch ("audit" in hex: the key the appends held
# while they were chained in the lookup's transaction).
CHAIN_LOCK_KEY = 0x6175646974
# pg_try_advisory_lock key, session-level, held by the one working `seal_audit --follow`
# ("sealer" in hex); the nightly run's is another.
SEALER_LOCK_KEY = 0x7365616C6572
BATCH = 1000
# How often the working sealer makes the trail's partitions ahead (audit.partitions).
PARTITIONS_EVERY_SECONDS = 3600

_COLUMNS = ("id", "sequence", *chain.HASHED_FIELDS)


@dataclass(frozen=True)
class Head:
    position: int
    hash: str


def seal_head() -> Head | None:
    """The chain's newest seal."""
    head = AuditSeal.objects.order_by("-position").values_list("position", "hash").first()
    return Head(*head) if head else None


def seal_pending(*, limit: int = BATCH) -> int:
    """Seals up to `limit` committed events waiting in the queue (the longest waiting, by
    id), in number order, in one transaction; returns how many."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # In a statement of its own: each later statement then reads what the batch
                # before committed (READ COMMITTED takes a snapshot per statement).
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
        # Driven from the queue (the `limit` lowest ids, by its primary key), then in number
        # order: ordered by number over the join, the planner may walk the whole trail's
        # index of numbers to find the few events at its end that wait. The events' times
        # bound the months to look in (PostgreSQL's partitions).
        waiting = list(
            UnsealedEvent.objects.order_by("event_id").values_list("event_id", "occurred_at")[
                :limit
            ]
        )
        if not waiting:
            return 0
        times = [occurred_at for _, occurred_at in waiting]
        rows = list(
            AuditEvent.objects.filter(
                id__in=[event_id for event_id, _ in waiting],
                occurred_at__gte=min(times),
                occurred_at__lte=max(times),
            )
            .order_by("sequence")
            .values_list(*_COLUMNS)
        )
        if not rows:
            return 0
        head = seal_head()
        position, prev_hash = (head.position, head.hash) if head else (0, GENESIS_HASH)
        sealed_at = timezone.now()
        seals = []
        for values in rows:
            event = dict(zip(_COLUMNS, values, strict=True))
            position += 1
            hash_ = chain.link(
                prev_hash=prev_hash,
                position=position,
                number=event["sequence"],
                content=chain.body(event),
            )
            seals.append((position, event["id"], prev_hash, hash_, sealed_at, event["occurred_at"]))
            prev_hash = hash_
        # UNIQUE(position) and UNIQUE(event) refuse a batch that raced another despite the
        # lock (nothing commits; the next try starts again from the head).
        _insert_and_dequeue(seals)
    logger.debug("Sealed %d event(s), up to position %d", len(seals), position)
    return len(seals)


_INSERT_SEALS = (
    "INSERT INTO audit_auditseal (position, event_id, prev_hash, hash, sealed_at, occurred_at)"
    " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[],"
    " %s::timestamptz[], %s::timestamptz[])"
)
_DEQUEUE = "DELETE FROM audit_unsealedevent WHERE event_id = ANY(%s)"


def _insert_and_dequeue(seals: list[tuple]) -> None:
    """Inserts the seals (position, event id, prev_hash, hash, sealed_at, the event's
    occurred_at) and takes their
    events off the queue. On PostgreSQL two statements of arrays: a thousand model objects
    and a thousand parameters cost the sealer more than the database's work."""
    if connection.vendor == "postgresql":
        columns = [list(column) for column in zip(*seals, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_SEALS, columns)
            cursor.execute(_DEQUEUE, [columns[1]])
        return
    AuditSeal.objects.bulk_create(
        AuditSeal(position=p, event_id=e, prev_hash=ph, hash=h, sealed_at=at, occurred_at=oc)
        for p, e, ph, h, at, oc in seals
    )
    UnsealedEvent.objects.filter(event_id__in=[seal[1] for seal in seals]).delete()


def seal_all(*, limit: int = BATCH) -> int:
    """Seals everything waiting, batch after batch; returns how many."""
    total = 0
    while sealed := seal_pending(limit=limit):
        total += sealed
        if sealed < limit:
            break
    return total


def seal_follow(*, stop: threading.Event, interval: float, limit: int = BATCH) -> int:
    """The worker: while `stop` is not set, holds the sealer's session lock (or waits for
    it, trying every `interval` seconds) and seals, looking again every `interval` seconds
    when nothing waits. Returns how many events it sealed."""
    sealed = 0
    holding = False
    failures = 0  # database errors in a row
    partitions_due = 0.0  # time.monotonic() of the next partitions_ahead()
    while not stop.is_set():
        try:
            if not holding:
                holding = _take_the_sealer_lock()
                if not holding:
                    stop.wait(interval)
                    continue
                logger.info("Sealer: took the sealer lock; sealing the audit chain")
                partitions_due = 0.0
            if time.monotonic() >= partitions_due:
                partitions_ahead()
                partitions_due = time.monotonic() + PARTITIONS_EVERY_SECONDS
            count = seal_pending(limit=limit)
        except DatabaseError as error:
            # The session may be gone, and the lock with it: start again on a new connection.
            # The first error of a run in full; while the database stays away (a failover),
            # one line each try, never a traceback five times a second.
            state = "lost the sealer lock" if holding else "trying again"
            if failures == 0:
                logger.exception("Sealer: database error; %s", state)
            else:
                logger.warning(
                    "Sealer: database error again (%s, %d in a row); %s",
                    type(error).__name__,
                    failures + 1,
                    state,
                )
            failures += 1
            holding = False
            connection.close()
            stop.wait(interval)
            continue
        if failures:
            logger.info("Sealer: the database answers again after %d error(s)", failures)
            failures = 0
        sealed += count
        if count < limit:
            stop.wait(interval)
    if holding:
        _release_the_sealer_lock()
    return sealed


def partitions_ahead() -> None:
    """Makes the trail's monthly partitions for the months ahead (PostgreSQL), logging what
    it made. A failure is logged and left to the next hour: it concerns next month, and
    /healthz reports a missing partition for this month or the next."""
    if not partitions.partitioned():
        return
    try:
        made = partitions.ensure_partitions()
    except DatabaseError:
        logger.exception("Sealer: could not make the audit trail's partitions ahead")
        return
    if made:
        logger.info("Sealer: made %d partition table(s) of the audit trail", made)


def _take_the_sealer_lock() -> bool:
    # Never close_old_connections() here: CONN_MAX_AGE would end the session holding it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SEALER_LOCK_KEY])
        (locked,) = cursor.fetchone()
    return bool(locked)


def _release_the_sealer_lock() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SEALER_LOCK_KEY])
        logger.info("Sealer: released the sealer lock")
    except DatabaseError:
        logger.warning("Sealer: lock not released: it goes with the lost connection")
