"""Reads for the auditor's reports: who touched a child's record, and what a user looked up.

Both reports are built from the audit trail alone, so they still answer for a
purged child or a deleted user: events keep the child's public id and the
actor's details as they were at the time. Nothing here reads or returns search
criteria (they may name other children) or anything from a child's record.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, F, JSONField, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Role, User
from audit.models import Action, AuditEvent
from audit.oversight.paging import by_time_then_sequence, keyset_page, time_of
from audit.oversight.selectors import EventPage
from children.forms import Reason
from children.merged import merged_into
from children.models import Child
from signposting.db_router import read_connection

PAGE_SIZE = 100
LOOKUPS = (Action.SEARCH, Action.RECORD_VIEW)
REFUSALS = (Action.ACCESS_DENIED, Action.RATE_LIMITED)
# Never loaded for a report: the criteria of a search may name other children. (The hashes
# are the verifier's business, and live on the seals.)
_NOT_READ = ("criteria",)


# --- A child's access report -----------------------------------------------------------

# Newest first by time, then sequence; the key passed between pages is a sequence number.
_CHILD_KEYS = by_time_then_sequence("child_links__occurred_at")


def _touching(public_id: str, bound: Q | None = None) -> QuerySet[AuditEvent]:
    # Driven by the link table's index (child_public_id, occurred_at), read newest first, so
    # a page costs the same for a child with 20 events or 20,000: no sort of them all. The
    # bound goes in the same filter() so that it applies to the same link row.
    return (
        AuditEvent.objects.filter(
            bound or Q(),
            child_links__child_public_id=public_id,
            # The event in the link's month (PostgreSQL looks in one partition per link).
            child_links__occurred_at=F("occurred_at"),
        )
        .defer(*_NOT_READ)
        .order_by(*_CHILD_KEYS.ordering)
    )


def child_access_events(
    *, public_id: str, before: int | None = None, limit: int = 100
) -> list[AuditEvent]:
    """Every event touching the child, newest first; only those older than event `before`
    (a sequence number) when it is given.

    Newest first is by time, then sequence: the same order as sequence alone, except for
    two events stamped a moment apart by concurrent requests, whose numbers (given as each
    was inserted) may be the other way round.

    Plain SQL (the same query as `_touching`): the ORM took longer to build the query and
    the 100 events than PostgreSQL took to find them (p95 4.7-8.0 ms -> 2.3 ms).
    """
    # Raw SQL: the connection the ORM's reads would use now (the replica in a report's
    # replica_reads scope: signposting.db_router).
    connection = read_connection()
    params: list[Any] = [public_id]
    bound = ""
    if before is not None:
        at = time_of(before)
        if at is None:
            bound, params = " AND e.sequence < %s", [*params, before]
        else:
            bound = " AND (l.occurred_at < %s OR (l.occurred_at = %s AND e.sequence < %s))"
            # As the ORM would pass it (SQLite compares times as text).
            at = connection.ops.adapt_datetimefield_value(at)
            params = [*params, at, at, before]
    with connection.cursor() as cursor:
        cursor.execute(_CHILD_EVENTS_SQL.format(bound=bound), [*params, limit])
        rows = cursor.fetchall()
    return [_event_from_row(row, alias=connection.alias) for row in rows]


# The columns a report reads, in the model's order (from_db needs it), the criteria left.
_REPORT_COLUMNS = [
    field.attname for field in AuditEvent._meta.concrete_fields if field.attname not in _NOT_READ
]
_CHILD_EVENTS_SQL = (
    "SELECT "  # noqa: S608 (column names from the model; values are parameters)
    + ", ".join(f"e.{column}" for column in _REPORT_COLUMNS)
    + " FROM audit_auditeventchild l"
    " JOIN audit_auditevent e ON e.id = l.event_id AND e.occurred_at = l.occurred_at"
    " WHERE l.child_public_id = %s{bound}"
    " ORDER BY l.occurred_at DESC, e.sequence DESC LIMIT %s"
)
_JSON_COLUMNS = {
    index
    for index, column in enumerate(_REPORT_COLUMNS)
    if isinstance(AuditEvent._meta.get_field(column), JSONField)
}
_TIME_COLUMN = _REPORT_COLUMNS.index("occurred_at")


def _event_from_row(row: tuple, *, alias: str) -> AuditEvent:
    """An event as the ORM would build it, from a row of _REPORT_COLUMNS (both databases:
    JSON arrives as text, and SQLite gives times as text)."""
    values = list(row)
    for index in _JSON_COLUMNS:
        if isinstance(values[index], str):
            values[index] = json.loads(values[index])
    when = values[_TIME_COLUMN]
    if isinstance(when, str):
        when = parse_datetime(when)
    if when is not None and timezone.is_naive(when):
        when = timezone.make_aware(when, UTC)
    values[_TIME_COLUMN] = when
    return AuditEvent.from_db(alias, _REPORT_COLUMNS, values)


def child_access_page(
    *, public_id: str, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> EventPage:
    """One page of the child's events, with where the pages before and after it start."""
    if after is None:
        # Going back (or the first page): child_access_events, one past the page to know
        # whether there is an older one.
        found = child_access_events(public_id=public_id, before=before, limit=size + 1)
        page = found[:size]
        has_newer = (
            before is not None
            and bool(page)
            and _touching(public_id, _CHILD_KEYS.newer(page[0].sequence)).exists()
        )
        return EventPage(
            events=page,
            newer_than=page[0].sequence if page and has_newer else None,
            older_than=page[-1].sequence if len(found) > size else None,
        )
    page, newer_than, older_than = keyset_page(
        lambda bound: _touching(public_id, bound),
        _CHILD_KEYS,
        before=before,
        after=after,
        size=size,
    )
    return EventPage(events=page, newer_than=newer_than, older_than=older_than)


@dataclass(frozen=True)
class ExportRows:
    rows: list["AccessRow"]
    capped: bool  # there were more events than the limit: the oldest are left out


def child_access_rows_for_export(*, public_id: str, limit: int) -> ExportRows:
    """The child's events for the printable report or the CSV, newest first, up to `limit`."""
    # Plain values, not model instances: an export may run to tens of thousands of rows.
    values = _touching(public_id).values_list(*_ROW_FIELDS)[: limit + 1]
    rows = [_row(**dict(zip(_ROW_FIELDS, row, strict=True))) for row in values]
    return ExportRows(rows=rows[:limit], capped=len(rows) > limit)


@dataclass(frozen=True)
class RecordStatus:
    held: bool  # the register holds a record with this public id now
    merged_into: str | None  # the public id it was merged into, if it was


def record_status(*, public_id: str) -> RecordStatus:
    """Whether the register still holds the child: from the register's ids only, no record data."""
    return RecordStatus(
        held=Child.objects.filter(public_id=public_id).exists(),
        merged_into=merged_into(public_id),
    )


# --- A user's activity -----------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    searches: int = 0
    record_views: int = 0
    refused: int = 0  # access denied and rate limited

    @property
    def lookups(self) -> int:
        return self.searches + self.record_views


@dataclass(frozen=True)
class DayCount(Counts):
    day: date = date.min


@dataclass(frozen=True)
class UserActivity:
    user_id: int
    date_from: date
    date_to: date
    days: list[DayCount]  # every day of the range, in order, days with nothing included
    totals: Counts


def user_activity(*, user_id: int, date_from: date, date_to: date) -> UserActivity:
    """The user's searches, record views and refusals on each local (UK) day of the range."""
    start, end = local_day_bounds(date_from=date_from, date_to=date_to)
    # One grouped query over the index on (actor_id, occurred_at); local days, so an
    # event at 23:30 UTC in summer counts on the next day, as the user saw it.
    rows = (
        AuditEvent.objects.filter(
            actor_id=user_id,
            occurred_at__gte=start,
            occurred_at__lt=end,
            action__in=[*LOOKUPS, *REFUSALS],
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_default_timezone()))
        .values_list("day", "action")
        # COUNT(*), not COUNT(id): with the index covering actor, time and action, PostgreSQL
        # then counts from the index alone (an index-only scan), never visiting the rows.
        .annotate(n=Count("*"))
        .order_by()
    )
    counted: dict[date, dict[str, int]] = {}
    for day, action, n in rows:
        counted.setdefault(day, {})[action] = n
    days = []
    for offset in range((date_to - date_from).days + 1):
        day = date_from + timedelta(days=offset)
        found = counted.get(day, {})
        days.append(
            DayCount(
                day=day,
                searches=found.get(Action.SEARCH, 0),
                record_views=found.get(Action.RECORD_VIEW, 0),
                refused=sum(found.get(action, 0) for action in REFUSALS),
            )
        )
    totals = Counts(
        searches=sum(day.searches for day in days),
        record_views=sum(day.record_views for day in days),
        refused=sum(day.refused for day in days),
    )
    return UserActivity(
        user_id=user_id, date_from=date_from, date_to=date_to, days=days, totals=totals
    )


_USER_KEYS = by_time_then_sequence("occurred_at")


def _by_user(
    *,
    user_id: int,
    date_from: date,
    date_to: date,
    bound: Q | None = None,
) -> QuerySet[AuditEvent]:
    # Read newest first along the index on (actor_id, occurred_at): a page is a short scan.
    start, end = local_day_bounds(date_from=date_from, date_to=date_to)
    return (
        AuditEvent.objects.filter(
            bound or Q(), actor_id=user_id, occurred_at__gte=start, occurred_at__lt=end
        )
        .defer(*_NOT_READ)
        .order_by(*_USER_KEYS.ordering)
    )


def user_events(
    *,
    user_id: int,
    date_from: date,
    date_to: date,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[AuditEvent]:
    """Everything the user did in the range (UK days), newest first as child_access_events."""
    bound = _USER_KEYS.older(before) if before is not None else Q()
    events = _by_user(user_id=user_id, date_from=date_from, date_to=date_to, bound=bound)
    return list(events[:limit])


def user_events_page(
    *,
    user_id: int,
    date_from: date,
    date_to: date,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    page, newer_than, older_than = keyset_page(
        lambda bound: _by_user(user_id=user_id, date_from=date_from, date_to=date_to, bound=bound),
        _USER_KEYS,
        before=before,
        after=after,
        size=size,
    )
    return EventPage(events=page, newer_than=newer_than, older_than=older_than)


@dataclass(frozen=True)
class ReportSubject:
    """Who a user activity report is about: the user as now, or as last recorded."""

    user_id: int
    username: str
    full_name: str
    role: str  # its label
    organisation: str
    exists: bool  # False: the account has been deleted; the rest is from the trail
    is_active: bool | None  # None when the account no longer exists
    recorded_at: datetime | None = None  # when the trail last recorded them, if deleted


def report_subject(*, user_id: int) -> ReportSubject | None:
    """The user as they are now, else as their latest event recorded them; None if neither."""
    user = User.objects.select_related("organisation").filter(pk=user_id).first()
    if user is not None:
        return ReportSubject(
            user_id=user.pk,
            username=user.get_username(),
            full_name=user.get_full_name(),
            role=role_label(user.role or ("operator" if user.is_superuser else "")),
            organisation=user.organisation.name if user.organisation else "",
            exists=True,
            is_active=user.is_active,
        )
    latest = (
        AuditEvent.objects.filter(actor_id=user_id)
        .order_by("-occurred_at")  # the index on (actor_id, occurred_at), read backwards
        .values("actor_username", "actor_name", "actor_role", "actor_organisation", "occurred_at")
        .first()
    )
    if latest is None:
        return None
    return ReportSubject(
        user_id=user_id,
        username=latest["actor_username"],
        full_name=latest["actor_name"],
        role=role_label(latest["actor_role"]),
        organisation=latest["actor_organisation"],
        exists=False,
        is_active=None,
        recorded_at=latest["occurred_at"],
    )


def local_day_bounds(*, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The instants at which the first local day starts and the day after the last starts."""
    zone = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.combine(date_from, time.min), zone)
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), zone)
    return start, end


# --- Rows as the reports show them -----------------------------------------------------


@dataclass(frozen=True)
class AccessRow:
    """One event in words, for the screen, the printable report and the CSV alike."""

    sequence: int
    occurred_at: datetime
    # UK local time: "2026-11-24 14:03:12", "24 Nov 2026 14:03:12", "2026-11-24T14:03:12+00:00".
    when: str
    when_text: str
    when_iso: str
    action: str
    actor_name: str
    actor_username: str
    actor_role: str
    actor_organisation: str
    reason: str
    reason_text: str
    outcome: str
    children: tuple[str, ...]

    @property
    def signed_in(self) -> bool:
        return bool(self.actor_username)


def access_rows(events: Iterable[AuditEvent]) -> list[AccessRow]:
    return [access_row(event) for event in events]


def access_row(event: AuditEvent) -> AccessRow:
    return _row(**{name: getattr(event, name) for name in _ROW_FIELDS})


# What a row is made of: never the criteria, hashes or client IP.
_ROW_FIELDS = (
    "sequence",
    "occurred_at",
    "action",
    "actor_name",
    "actor_username",
    "actor_role",
    "actor_organisation",
    "reason_code",
    "reason_text",
    "outcome",
    "result_count",
    "detail",
    "children",
)


def _row(
    *,
    sequence: int,
    occurred_at: datetime,
    action: str,
    actor_name: str,
    actor_username: str,
    actor_role: str,
    actor_organisation: str,
    reason_code: str,
    reason_text: str,
    outcome: str,
    result_count: int | None,
    detail: Any,
    children: Any,
) -> AccessRow:
    local = timezone.localtime(occurred_at)
    return AccessRow(
        sequence=sequence,
        occurred_at=occurred_at,
        when=local.strftime("%Y-%m-%d %H:%M:%S"),
        when_text=f"{local.day} {local:%b %Y %H:%M:%S}",
        when_iso=local.isoformat(timespec="seconds"),
        action=_ACTIONS.get(action, action),
        actor_name=actor_name,
        actor_username=actor_username,
        actor_role=role_label(actor_role),
        actor_organisation=actor_organisation,
        reason=_REASONS.get(reason_code, reason_code),
        reason_text=reason_text,
        outcome=outcome_text(
            action=action, outcome=outcome, result_count=result_count, detail=detail
        ),
        children=tuple(children or ()),
    )


# Labels by stored value; a value no longer among the choices is shown as it was stored.
_ACTIONS = {value: str(label) for value, label in Action.choices}
_REASONS = {value: str(label) for value, label in Reason.choices}
_ROLES = {value: str(label) for value, label in Role.choices} | {"operator": "Platform operator"}


def role_label(role: str) -> str:
    return _ROLES.get(role, role)


def reason_label(reason_code: str) -> str:
    return _REASONS.get(reason_code, reason_code)


_OUTCOMES = {
    "allowed": "Allowed",
    "denied": "Refused",
    "refused": "Refused",
    "no_reason": "Refused: no reason given",  # events written before reason_missing
    "asked_again": "Asked again: no reason given yet",
    "too_many": "Too many matches: none shown",
    "invalid": "Not valid: nothing shown",
}
# Why a lookup was refused (detail["why"] of access_denied events).
_WHY = {
    "not_in_search_results": "not from the user's latest search",
    "no_such_record": "no such record",
    "shielded": "restricted record",
    "not_in_area": "outside the user's area",
}


def outcome_text(*, action: str, outcome: str, result_count: int | None, detail: Any) -> str:
    """What came of an event, in words; why, for a refusal; how many results, for a search."""
    if action == Action.RATE_LIMITED:
        return "Refused: over the hourly limit of lookups"
    text = _OUTCOMES.get(outcome) or outcome.replace("_", " ").capitalize()
    why = detail.get("why") if isinstance(detail, dict) else None
    if why and outcome in ("denied", "refused"):
        text = f"{text}: {_WHY.get(str(why), str(why).replace('_', ' '))}"
    if action == Action.SEARCH and result_count is not None:
        text = f"{text} ({result_count} result{'' if result_count == 1 else 's'})"
    return text


@dataclass(frozen=True)
class ActivityReport:
    """A user's activity over a range, and one page of their events in it."""

    date_from: date
    date_to: date
    activity: UserActivity
    page: EventPage


def user_activity_report(
    *,
    user_id: int,
    date_range: tuple[date, date],
    before: int | None,
    after: int | None,
    size: int,
) -> ActivityReport:
    """A user's activity over the range (first and last day), and the page of their events
    asked for."""
    date_from, date_to = date_range
    return ActivityReport(
        date_from=date_from,
        date_to=date_to,
        activity=user_activity(user_id=user_id, date_from=date_from, date_to=date_to),
        page=user_events_page(
            user_id=user_id,
            date_from=date_from,
            date_to=date_to,
            before=before,
            after=after,
            size=size,
        ),
    )
