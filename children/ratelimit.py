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
    cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS + 60)
        count = 1
    return count <= settings.LOOKUPS_PER_HOUR
