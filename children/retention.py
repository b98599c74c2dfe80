"""When a child's record must go: the retention rule in one place."""

from collections.abc import Iterable
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings


def retention_ends_on(
    *, date_of_birth: date, involvement_periods: Iterable[tuple[date, date | None]]
) -> date:
    """The last day a child's record may be kept.

    RETENTION_MONTHS after the last involvement ends; while any involvement is
    open, until the 18th birthday plus that period, which also caps the first
    rule. A child with no involvement at all is due at once (kept until today
    is never later than yesterday).
    """
    period = relativedelta(months=settings.RETENTION_MONTHS)
    adulthood_cap = date_of_birth + relativedelta(years=18) + period
    periods = list(involvement_periods)
    if not periods:
        return date.min
    if any(ended_on is None for _, ended_on in periods):
        return adulthood_cap
    last_end = max(ended_on for _, ended_on in periods)
    return min(last_end + period, adulthood_cap)
