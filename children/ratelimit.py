"""Anti-harvesting: how many lookups (searches and record views) a user may make in an hour.

The count comes from the audit trail itself: every lookup is an audit event, written by
whichever gunicorn worker served it, so every worker sees the same count, with nothing
extra to write and nothing that a cache flush or a restart could reset. The window
slides: the last 60 minutes, not the clock hour. See docs/decisions/0004.

Counting and appending are serialised per user: on PostgreSQL the count first takes a
transaction-level advisory lock on the user's id, held until the lookup's transaction
(audit.lookup.audited_lookup) commits with its audit event, so the next lookup of the same
user counts it; SQLite's write lock, taken when the transaction begins (IMMEDIATE), already
does the same. Without it, 30 concurrent requests of one user all counted 59.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import User
from audit.selectors import lookup_times_since, lookups_since

WINDOW = timedelta(hours=1)
# The first key of pg_advisory_xact_lock(int, int) for "one user's lookups"; the second is
# the user's id. (The audit sealer's locks use the one-key form: the two never collide.)
USER_LOOKUPS_LOCK = 0x6C6B7570  # "lkup"


class NotInLookupTransaction(RuntimeError):
    """lookup_allowed was asked outside the lookup's transaction: the lock would not hold."""


def lookup_allowed(*, user: User) -> bool:
    """Whether the user may make one more lookup now. Call it inside the lookup's
    transaction, before its audit event is recorded. Refusals are not lookups: they are
    recorded as rate_limited events and do not push the window further out."""
    limit = settings.LOOKUPS_PER_HOUR
    if connection.vendor == "postgresql":
        if not connection.in_atomic_block:
            raise NotInLookupTransaction("lookup_allowed needs the lookup's transaction")
        with connection.cursor() as cursor:
            # A statement of its own: the count below must see what the previous holder of
            # the lock committed, and a statement's snapshot is taken when it starts.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [USER_LOOKUPS_LOCK, user.pk])
    return lookups_since(user_id=user.pk, since=timezone.now() - WINDOW, limit=limit) < limit


def next_lookup_at(*, user: User) -> datetime | None:
    """When the user may make their next lookup: once enough of the last hour's lookups are
    more than an hour old to bring the count under the limit (the window slides). None when
    the limit allows no lookups at all."""
    if settings.LOOKUPS_PER_HOUR <= 0:
        return None
    now = timezone.now()
    times = lookup_times_since(user_id=user.pk, since=now - WINDOW)
    over = len(times) - settings.LOOKUPS_PER_HOUR
    if over < 0:
        return now
    return times[over] + WINDOW
