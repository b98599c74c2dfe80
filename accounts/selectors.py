"""Reads about accounts."""

from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone


def username_locked_out(*, username: str) -> bool:
    """Whether django-axes currently locks this username (the same count axes keeps)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    # Runs on every signed-in request: summed here, as Django compiles an aggregate
    # more slowly than the database runs it (there are seldom any rows).
    failures = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).values_list(
        "failures_since_start", flat=True
    )
    return sum(failures) >= settings.AXES_FAILURE_LIMIT
