"""Read routing: the reads of auditors' reports, exports and read-only batch jobs may go to
the streaming standby (DATABASE_REPLICA_URL); everything else stays on the primary.

Reads go to the replica only inside an explicit scope:

    with replica_reads():            # or @replica_reads() on a function
        pairs = find_pairs(register_name_records())

    rows = read_on_replica(lambda: reports.child_access_page(public_id=...))

Outside a scope every read goes to `default`, and so does every write, always, in or out of
one. Inside one, a read still goes to the primary while the primary has a transaction of
the application's open (a read that decides a write must see what that transaction
wrote). Raw SQL asks `read_connection()` for its connection.

A replica that cannot be reached, or is more than DATABASE_REPLICA_MAX_LAG_SECONDS behind,
is not used: the scope reads from the primary and a warning is logged, once, and the replica
is not tried again for REPLICA_RETRY_SECONDS, so that a dead standby costs one connect timeout
and never an error page. docs/decisions/0009 says why the auditors' reports write their own
audit event on the primary before reading here.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

REPLICA = "replica"
# After a failed check, the replica is left alone this long (each check may cost a connect
# timeout); after a good one, it is not checked again for this long.
REPLICA_RETRY_SECONDS = 30.0
REPLICA_CHECK_SECONDS = 1.0

# Where the reads of the current scope go: None outside any scope.
_reads_from: ContextVar[str | None] = ContextVar("signposting_reads_from", default=None)

# How far behind the primary the standby is, in seconds; 0 when it has replayed all it has
# received (a quiet primary sends nothing, and the last replayed commit grows old without
# the standby being behind). Null when the server is no standby (a promoted one).
LAG_SQL = (
    "SELECT pg_is_in_recovery(),"
    " CASE WHEN NOT pg_is_in_recovery() THEN NULL"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
)

# Without pg_read_all_stats a role sees pg_stat_replication's rows with their state empty.
SYNCHRONOUS_STANDBYS_SQL = (
    "SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'),"
    " (SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))"
)

T = TypeVar("T")


class ReplicaRouter:
    """Django's database router: reads to the scope's alias, writes and migrations to default."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return reads_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # One database, two servers: a row read from the standby is the primary's row.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


def reads_alias() -> str:
    """The alias a read made now goes to."""
    alias = _reads_from.get()
    if alias is None or alias == DEFAULT_DB_ALIAS or _in_primary_transaction():
        return DEFAULT_DB_ALIAS
    return alias


def read_connection() -> BaseDatabaseWrapper:
    """The connection for a raw SQL read made now (what the ORM's reads would use)."""
    return connections[reads_alias()]


@contextmanager
def replica_reads() -> Iterator[str]:
    """Reads inside go to the replica when it is configured and ready, else to the primary.
    Yields the alias chosen. Also a decorator (@replica_reads())."""
    alias = REPLICA if replica_ready() else DEFAULT_DB_ALIAS
    token = _reads_from.set(alias)
    try:
        yield alias
    finally:
        _reads_from.reset(token)


def read_on_replica(read: Callable[[], T]) -> T:
    """`read()` inside replica_reads(); if the replica fails during it (it died since it was
    checked), `read()` once more on the primary. For reads only: `read` runs twice then."""
    with replica_reads() as alias:
        if alias == DEFAULT_DB_ALIAS:
            return read()
        try:
            return read()
        except DatabaseError as error:
            # Had the primary failed instead, the read fails again below and the error
            # reaches the error page, as it would have without a replica.
            _mark_down(f"failed during a read ({type(error).__name__})")
            _discard(connections[REPLICA])
    token = _reads_from.set(DEFAULT_DB_ALIAS)
    try:
        return read()
    finally:
        _reads_from.reset(token)


def replica_configured() -> bool:
    return bool(settings.REPLICA_READS)


def replica_ready() -> bool:
    """Configured, reachable, and not too far behind (checked at most once a second)."""
    if not replica_configured():
        return False
    now = time.monotonic()
    with _state.lock:
        if now < _state.down_until:
            return False
        if now - _state.checked_at < REPLICA_CHECK_SECONDS:
            return True
    status = replica_status()
    if not status.up:
        _mark_down(f"unreachable ({status.error})")
        return False
    if status.lag_seconds is not None and status.lag_seconds > _max_lag():
        _mark_down(f"{status.lag_seconds:.1f} s behind the primary")
        return False
    with _state.lock:
        _state.checked_at = time.monotonic()
        if _state.reported_down:
            _state.reported_down = False
            logger.info("Replica: reads go to the replica again")
    return True


@dataclass(frozen=True)
class ReplicaStatus:
    up: bool
    in_recovery: bool | None = None  # a standby (False: it is a primary now, or never was)
    lag_seconds: float | None = None  # None: not a standby, or not known
    error: str = ""


def replica_status() -> ReplicaStatus:
    """Asks the replica (one query) whether it is a standby and how far behind it is."""
    replica = connections[REPLICA]
    try:
        # What Django does before a request's first query: a persistent connection that
        # no longer works is closed, and opened again below.
        replica.close_if_health_check_failed()
        with replica.cursor() as cursor:
            if replica.vendor != "postgresql":
                cursor.execute("SELECT 1")
                return ReplicaStatus(up=True)
            cursor.execute(LAG_SQL)
            in_recovery, lag = cursor.fetchone()
    except DatabaseError as error:
        _discard(replica)
        return ReplicaStatus(up=False, error=type(error).__name__)
    return ReplicaStatus(
        up=True, in_recovery=bool(in_recovery), lag_seconds=None if lag is None else float(lag)
    )


def synchronous_standbys() -> int | None:
    """How many synchronous standbys stream from the primary now; None on SQLite, or where
    the app's database role may not see them (it needs pg_read_all_stats, or pg_monitor)."""
    primary = connections[DEFAULT_DB_ALIAS]
    if primary.vendor != "postgresql":
        return None
    with primary.cursor() as cursor:
        cursor.execute(SYNCHRONOUS_STANDBYS_SQL)
        allowed, count = cursor.fetchone()
    return int(count) if allowed else None


def replica_forget() -> None:
    """Forgets what was learnt about the replica (tests; after the operator mended it)."""
    with _state.lock:
        _state.down_until = 0.0
        _state.checked_at = float("-inf")
        _state.reported_down = False


class _ReplicaState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.checked_at = float("-inf")
        self.reported_down = False


_state = _ReplicaState()


def _mark_down(reason: str) -> None:
    with _state.lock:
        _state.down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        _state.checked_at = float("-inf")
        _state.reported_down = True
    logger.warning(
        "Replica not used, reads go to the primary for %.0f s: %s", REPLICA_RETRY_SECONDS, reason
    )


def _max_lag() -> float:
    return float(getattr(settings, "DATABASE_REPLICA_MAX_LAG_SECONDS", 30.0))


def _discard(connection: BaseDatabaseWrapper) -> None:
    """Closes a connection that failed, so that the next use opens a new one."""
    with suppress(DatabaseError):
        connection.close()


def _in_primary_transaction() -> bool:
    """Whether the application has a transaction open on the primary. (Django's TestCase
    wraps each test in atomic blocks of its own, marked as such: as Django itself does for
    durable blocks, those do not count.)"""
    blocks = getattr(connections[DEFAULT_DB_ALIAS], "atomic_blocks", ())
    return any(not getattr(block, "_from_testcase", False) for block in blocks)
