"""Anti-harvesting: how many lookups (searches and record views) a user may make in an hour."""

import time

from django.conf import settings
from django.core.cache import cache

from accounts.models import User

WINDOW_SECONDS = 60 * 60


def lookup_allowed(*, user: User) -> bool:
    """Counts one lookup for the user and says whether it is within the hourly limit.

    Counters live in the shared cache (database or Redis), one per user per
    clock hour, so every worker sees the same count. The count goes up even
    when the answer is no: hammering does not reset anything.
    """
    window = int(time.time() // WINDOW_SECONDS)
    key = f"lookups:{user.pk}:{window}"
    try:
        count = cache.incr(key)
    except ValueError:  # the first lookup of the hour (or the counter expired)
        # 1 if this worker added it, else another worker added it first: count on top.
        count = 1 if cache.add(key, 1, timeout=WINDOW_SECONDS + 60) else cache.incr(key)
    return count <= settings.LOOKUPS_PER_HOUR
