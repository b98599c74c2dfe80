"""Reads about accounts."""

from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.utils import timezone

# The table's name comes from the model; the values are parameters.
_FAILURES_SQL = (
    "SELECT COALESCE(SUM(failures_since_start), 0) FROM "  # noqa: S608
    + AccessAttempt._meta.db_table
    + " WHERE username = %s AND attempt_time >= %s"
)


def username_locked_out(*, username: str) -> bool:
    """Whether django-axes currently locks this username (the same count axes keeps)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    # Runs on every signed-in request: plain SQL, as Django takes longer to compile the
    # query than the database takes to run it (there are seldom any rows).
    with connection.cursor() as cursor:
        cursor.execute(_FAILURES_SQL, [username, since])
        failures = cursor.fetchone()[0]
    return failures >= settings.AXES_FAILURE_LIMIT
