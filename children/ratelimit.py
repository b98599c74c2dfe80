"""Anti-harvesting: how many lookups (searches and record views) a user may make in an hour.

The count comes from the audit trail itself: every lookup is an audit event, written by
whichever gunicorn worker served it, so every worker sees the same count, with nothing
extra to write and nothing that a cache flush or a restart could reset. The window
slides: the last 60 minutes, not the clock hour. See docs/decisions/0004.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from audit.selectors import lookups_since

WINDOW = timedelta(hours=1)


def lookup_allowed(*, user: User) -> bool:
    """Whether the user may make one more lookup now. Refusals are not lookups: they are
    recorded as rate_limited events and do not push the window further out."""
    limit = settings.LOOKUPS_PER_HOUR
    return lookups_since(user_id=user.pk, since=timezone.now() - WINDOW, limit=limit) < limit
