"""Reads of the trail itself that the lookups need: the user's latest search (a record
opens only from it; "Back to results"), their lookups in the last hour (the rate limit), and
the trail's figures for monitoring (signposting.metrics, the health check).
The auditor's reads are audit.oversight.selectors."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.models import (
    Action,
    AuditArchive,
    AuditEvent,
    AuditEventChild,
    AuditSeal,
    Flag,
    UnsealedEvent,
)


def start_of(day: date) -> datetime:
    """The first moment of a UK local day."""
    return timezone.make_aware(datetime.combine(day, time.min))


def latest_search_results(*, user_id: int) -> list[str]:
    """The public ids the user's latest search showed, from the trail itself: a record opens
    only from there, so every record view follows a recorded search. (A search whose audit
    write failed showed nothing and opens nothing.)"""
    children = _searches_latest_first(user_id).values_list("children", flat=True).first()
    return list(children or [])


def _searches_latest_first(user_id: int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(actor_id=user_id, action=Action.SEARCH).order_by(
        "-occurred_at", "-sequence"
    )


@dataclass(frozen=True)
class LatestSearch:
    occurred_at: datetime
    sequence: int
    criteria: dict
    public_ids: list[str]
    outcome: str
    detail: dict


def latest_search(*, user_id: int, since: datetime) -> LatestSearch | None:
    """The user's latest search, if it was made since `since`: what was asked and what it
    showed, as the trail holds it."""
    found = (
        _searches_latest_first(user_id)
        .values_list("occurred_at", "sequence", "criteria", "children", "outcome", "detail")
        .first()
    )
    if found is None or found[0] < since:
        return None
    occurred_at, sequence, criteria, children, outcome, detail = found
    return LatestSearch(
        occurred_at=occurred_at,
        sequence=sequence,
        criteria=dict(criteria or {}),
        public_ids=list(children or []),
        outcome=outcome,
        detail=dict(detail or {}),
    )


LOOKUPS = (Action.SEARCH, Action.RECORD_VIEW)
_LOOKUPS_SQL = (
    "SELECT COUNT(*) FROM (SELECT 1 FROM audit_auditevent WHERE actor_id = %s"
    " AND occurred_at >= %s AND action IN ('search', 'record_view') LIMIT %s) AS recent"
)


def lookup_times_since(*, user_id: int, since: datetime) -> list[datetime]:
    """When the user's searches and record views since `since` were made, oldest first."""
    return list(
        AuditEvent.objects.filter(actor_id=user_id, occurred_at__gte=since, action__in=LOOKUPS)
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
    )


def lookups_since(*, user_id: int, since: datetime, limit: int) -> int:
    """How many searches and record views the user has made since `since`, counted up to
    `limit` (the index on actor and time makes this a short range scan)."""
    if limit <= 0:
        return 0
    # Plain SQL on every lookup: Django takes longer to compile this than the database
    # takes to run it. The action list matches the partial index audit_lookups_by_actor.
    with connection.cursor() as cursor:
        cursor.execute(_LOOKUPS_SQL, [user_id, since, limit])
        return cursor.fetchone()[0]


# --- Flags ------------------------------------------------------------------------------------


# --- Figures for monitoring (signposting.metrics) --------------------------------------------


@dataclass(frozen=True)
class EventCount:
    action: str
    outcome: str
    last_hour: int
    last_day: int
    # The events' result counts added up (an import's rows); 0 where there are none.
    results_last_hour: int
    results_last_day: int


@dataclass(frozen=True)
class FlagCount:
    rule: str
    open: int
    decided: int
    raised_last_hour: int
    raised_last_day: int


@dataclass(frozen=True)
class TrailFigures:
    events: list[EventCount]
    # The chain's head: the newest seal's position, and when its event occurred.
    head_sequence: int | None
    head_occurred_at: datetime | None
    purged_last_hour: int
    purged_last_day: int
    flags: list[FlagCount]


def trail_figures(*, now: datetime) -> TrailFigures:
    """The trail's own figures over the last hour and day, in four small queries, each over
    an indexed time range (the events and child links of the last day) or a small table
    (the flags), so that a scrape stays cheap however long the trail grows."""
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
    in_hour = Q(occurred_at__gte=hour_ago)
    events = [
        EventCount(**row)
        for row in AuditEvent.objects.filter(occurred_at__gte=day_ago)
        .values("action", "outcome")
        .annotate(
            last_hour=Count("pk", filter=in_hour),
            last_day=Count("pk"),
            results_last_hour=Coalesce(Sum("result_count", filter=in_hour), 0),
            results_last_day=Coalesce(Sum("result_count"), 0),
        )
        .order_by("action", "outcome")
    ]
    head = AuditSeal.objects.order_by("-position").values_list("position", "occurred_at").first()
    purged = AuditEventChild.objects.filter(
        occurred_at__gte=day_ago,
        event__action=Action.RECORD_PURGE,
        event__occurred_at=F("occurred_at"),
    ).aggregate(last_hour=Count("pk", filter=in_hour), last_day=Count("pk"))
    in_hour_raised = Q(raised_at__gte=hour_ago)
    in_day_raised = Q(raised_at__gte=day_ago)
    flags = [
        FlagCount(**row)
        for row in Flag.objects.values("rule")
        .annotate(
            open=Count("pk", filter=Q(outcome__isnull=True)),
            decided=Count("pk", filter=Q(outcome__isnull=False)),
            raised_last_hour=Count("pk", filter=in_hour_raised),
            raised_last_day=Count("pk", filter=in_day_raised),
        )
        .order_by("rule")
    ]
    return TrailFigures(
        events=events,
        head_sequence=head[0] if head else None,
        head_occurred_at=head[1] if head else None,
        purged_last_hour=purged["last_hour"],
        purged_last_day=purged["last_day"],
        flags=flags,
    )


@dataclass(frozen=True)
class Unsealed:
    """Committed events waiting for the sealer (its queue; always empty on SQLite)."""

    count: int
    oldest_occurred_at: datetime | None  # when the oldest of them occurred

    def oldest_seconds(self, *, now: datetime) -> float:
        if self.oldest_occurred_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_occurred_at).total_seconds())


# A stalled sealer leaves the queue growing by every lookup: past this, it is counted no
# further, so that a scrape stays cheap however far behind sealing is.
UNSEALED_COUNTED_UP_TO = 100_000


def unsealed_figures() -> Unsealed:
    """How many events wait to be sealed (up to UNSEALED_COUNTED_UP_TO), and when the oldest
    occurred."""
    oldest = _oldest_unsealed()
    if oldest is None:
        return Unsealed(count=0, oldest_occurred_at=None)
    count = UnsealedEvent.objects.all()[:UNSEALED_COUNTED_UP_TO].count()
    return Unsealed(count=count, oldest_occurred_at=oldest)


def sealing_behind(*, now: datetime, delay_seconds: float) -> bool:
    """Whether an event waiting for its seal occurred more than `delay_seconds` ago: cheap
    enough for every health check."""
    oldest = _oldest_unsealed()
    return oldest is not None and (now - oldest).total_seconds() > delay_seconds


def _oldest_unsealed() -> datetime | None:
    # The queue's lowest event id is the earliest inserted of the events waiting (ids come
    # from a sequence as events are inserted): one index read and one lookup of its event.
    return (
        UnsealedEvent.objects.order_by("event_id")
        .values_list("event__occurred_at", flat=True)
        .first()
    )


@dataclass(frozen=True)
class Archived:
    """The months of the trail moved to the archive (audit.archive): events before `before`
    are there, not in the database."""

    first_month: str  # "YYYY-MM"
    last_month: str
    before: datetime  # the first instant (UTC) after the newest archived month


def trail_archived() -> Archived | None:
    """Which months of the trail are archived, if any: reports say so."""
    months = list(AuditArchive.objects.order_by("month").values_list("month", flat=True))
    if not months:
        return None
    year, month = (int(part) for part in months[-1].split("-"))
    after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return Archived(first_month=months[0], last_month=months[-1], before=after)
