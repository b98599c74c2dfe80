"""Misuse rules: which lookups, and which users' days, an auditor should look at.

Each rule is one small function that returns a Finding or None; its thresholds
are settings (FLAG_*). There are two kinds:

- lookup rules run as a lookup is recorded, in the same transaction
  (audit.oversight, before the event is appended): out of area, restricted, personal link,
  out of hours, and the absolute daily volume;
- day rules run over a whole day by `manage.py flag_events`: volume against
  the user's own 30-day median (and the absolute limit again), and fishing.

Every finding has a key, so running a rule again over the same events raises
nothing new. Flags hold figures, never a child's name.
"""

import functools
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from govuk_bank_holidays.bank_holidays import BankHolidays

from audit.models import Action, AuditEvent, Flag, Rule
from audit.selectors import LOOKUPS, lookups_since, start_of


@dataclass(frozen=True)
class Finding:
    rule: Rule
    # One flag per key. "" for a flag per lookup: its key is then the rule and the event's
    # sequence (known only once the event is appended: flags_from).
    key: str
    child_public_id: str = ""
    day: date | None = None
    detail: dict[str, Any] = field(default_factory=dict)


# --- Lookup rules: (the event about to be recorded, what is known about it) -> Finding | None
# They run before the event is appended (audit.oversight.lookup_rules); the event has no
# number (`sequence`) yet.


def out_of_area(*, event: AuditEvent, facts: Any) -> Finding | None:
    """2. A record view of a child who never lived in the viewer's local authority and with
    whom the viewer's organisation was never involved."""
    if event.action != Action.RECORD_VIEW or facts is None:
        return None
    if facts.lived_in_viewer_area or facts.served_by_viewer_organisation:
        return None
    return Finding(
        rule=Rule.OUT_OF_AREA,
        key="",
        child_public_id=_only_child(event),
    )


def restricted(*, event: AuditEvent, facts: Any) -> Finding | None:
    """3. Any attempt to open a shielded record."""
    if event.action != Action.ACCESS_DENIED or event.detail.get("why") != "shielded":
        return None
    return Finding(
        rule=Rule.RESTRICTED,
        key="",
        child_public_id=_only_child(event),
    )


def personal_link(*, event: AuditEvent, facts: Any) -> Finding | None:
    """4. A record view of a child with the viewer's own family name (any recorded name)."""
    if event.action != Action.RECORD_VIEW or facts is None:
        return None
    if not facts.shares_viewer_family_name:
        return None
    return Finding(
        rule=Rule.PERSONAL_LINK,
        key="",
        child_public_id=_only_child(event),
    )


def out_of_hours(*, event: AuditEvent, facts: Any) -> Finding | None:
    """5. A search or record view outside working hours: once per user per day, with the
    first such lookup's local time. Working hours are FLAG_WORKING_HOURS on
    FLAG_WORKING_DAYS, except on the bank holidays of England and Wales (with
    FLAG_BANK_HOLIDAYS on, the default): a lookup at 10:00 on Christmas Day is out of hours
    even on a weekday."""
    if event.action not in LOOKUPS:
        return None
    local = timezone.localtime(event.occurred_at)
    day = local.date()
    start, end = settings.FLAG_WORKING_HOURS
    working_day = local.weekday() in settings.FLAG_WORKING_DAYS and not (
        settings.FLAG_BANK_HOLIDAYS and day in bank_holidays()
    )
    if working_day and start <= local.hour < end:
        return None
    return Finding(
        rule=Rule.OUT_OF_HOURS,
        key=f"out_of_hours:user:{event.actor_id}:{day.isoformat()}",
        day=day,
        detail={"first_at": local.strftime("%H:%M"), "weekday": local.strftime("%A")},
    )


@functools.cache
def bank_holidays() -> frozenset[date]:
    """England and Wales's bank holidays, from the list bundled with govuk-bank-holidays
    (never fetched: a lookup makes no outbound call), read once per process. The list runs
    a year or two ahead: upgrade the package's pin every year."""
    calendar = BankHolidays(use_cached_holidays=True)
    holidays = calendar.get_holidays(division=BankHolidays.ENGLAND_AND_WALES)
    return frozenset(holiday["date"] for holiday in holidays)


def volume_today(*, event: AuditEvent, facts: Any) -> Finding | None:
    """1. (as it happens) A user's searches and record views today, this one included, pass
    the absolute limit. Counted from the trail up to the limit: a short index scan."""
    if event.action not in LOOKUPS:
        return None
    limit = settings.FLAG_VOLUME_DAILY_LIMIT
    day = timezone.localtime(event.occurred_at).date()
    count = 1 + lookups_since(user_id=event.actor_id, since=start_of(day), limit=limit)
    if count <= limit:
        return None
    return Finding(
        rule=Rule.VOLUME,
        key=_volume_key(event.actor_id, day),
        day=day,
        detail={"lookups": count, "limit": limit},
    )


LOOKUP_RULES = (out_of_area, restricted, personal_link, out_of_hours, volume_today)


def findings_for_lookup(*, event: AuditEvent, facts: Any) -> list[Finding]:
    """What the lookup rules make of one recorded lookup. `facts` (children.selectors.
    OversightFacts) is given for record views, None otherwise."""
    found = (rule(event=event, facts=facts) for rule in LOOKUP_RULES)
    return [finding for finding in found if finding is not None]


# --- Day rules: over one user's whole day ---------------------------------------------------


@dataclass(frozen=True)
class UserDay:
    actor_id: int
    day: date
    searches: int
    record_views: int
    # Their median lookups on the days they made any, in the 30 days before; None if none.
    median: float | None

    @property
    def lookups(self) -> int:
        return self.searches + self.record_views


def volume(*, user_day: UserDay) -> Finding | None:
    """1. A day's lookups above the absolute limit, or (on a day with enough lookups to
    matter) above FLAG_VOLUME_MEDIAN_FACTOR times the user's own median day."""
    count = user_day.lookups
    above_limit = count > settings.FLAG_VOLUME_DAILY_LIMIT
    factor = settings.FLAG_VOLUME_MEDIAN_FACTOR
    above_usual = (
        count >= settings.FLAG_VOLUME_MIN_LOOKUPS
        and user_day.median is not None
        and count > factor * user_day.median
    )
    if not (above_limit or above_usual):
        return None
    detail: dict[str, Any] = {"lookups": count, "limit": settings.FLAG_VOLUME_DAILY_LIMIT}
    if user_day.median is not None:
        detail |= {"median": user_day.median, "factor": factor}
    return Finding(
        rule=Rule.VOLUME,
        key=_volume_key(user_day.actor_id, user_day.day),
        day=user_day.day,
        detail=detail,
    )


def fishing(*, user_day: UserDay) -> Finding | None:
    """6. Many searches in a day, few or none of them followed by a record view."""
    searches = user_day.searches
    if searches < settings.FLAG_FISHING_MIN_SEARCHES:
        return None
    if user_day.record_views > settings.FLAG_FISHING_MAX_VIEW_RATIO * searches:
        return None
    return Finding(
        rule=Rule.FISHING,
        key=f"fishing:user:{user_day.actor_id}:{user_day.day.isoformat()}",
        day=user_day.day,
        detail={"searches": searches, "record_views": user_day.record_views},
    )


DAY_RULES = (volume, fishing)


def user_days(*, day: date) -> list[UserDay]:
    """Every signed-in user's lookups on a local day; medians only for those who might be
    flagged on them (the 30-day history is read for few users)."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        AuditEvent.objects.filter(
            action__in=LOOKUPS,
            occurred_at__gte=start_of(day),
            occurred_at__lt=start_of(day + timedelta(days=1)),
            actor_id__isnull=False,
        )
        .values_list("actor_id", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
    for actor_id, action, n in rows:
        counts[actor_id][action] = n
    days = []
    for actor_id, by_action in sorted(counts.items()):
        lookups = sum(by_action.values())
        median = (
            _median_day(actor_id=actor_id, before=day)
            if lookups >= settings.FLAG_VOLUME_MIN_LOOKUPS
            else None
        )
        days.append(
            UserDay(
                actor_id=actor_id,
                day=day,
                searches=by_action.get(Action.SEARCH, 0),
                record_views=by_action.get(Action.RECORD_VIEW, 0),
                median=median,
            )
        )
    return days


def findings_for_day(*, day: date) -> list[tuple[UserDay, Finding]]:
    return [
        (user_day, finding)
        for user_day in user_days(day=day)
        for rule in DAY_RULES
        if (finding := rule(user_day=user_day)) is not None
    ]


def _median_day(*, actor_id: int, before: date) -> float | None:
    per_day = (
        AuditEvent.objects.filter(
            actor_id=actor_id,
            action__in=LOOKUPS,
            occurred_at__gte=start_of(before - timedelta(days=30)),
            occurred_at__lt=start_of(before),
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
        .order_by()
    )
    counts = list(per_day)
    return float(statistics.median(counts)) if counts else None


# --- Raising flags ----------------------------------------------------------------------------


def flags_from(
    findings: list[Finding], *, actor: dict[str, Any], area_code: str, event_sequence: int | None
) -> list[Flag]:
    """Unsaved Flag rows for findings about one actor (values as at the time)."""
    now = timezone.now()
    return [
        Flag(
            rule=finding.rule,
            key=finding.key or f"{finding.rule}:event:{event_sequence}",
            raised_at=now,
            area_code=area_code,
            child_public_id=finding.child_public_id,
            event_sequence=event_sequence,
            day=finding.day,
            detail=finding.detail,
            **actor,
        )
        for finding in findings
    ]


def save_flags(flags: list[Flag]) -> None:
    """Saves new flags; one already raised under the same key is left as it is."""
    if flags:
        Flag.objects.bulk_create(flags, ignore_conflicts=True)


def actor_values(event: AuditEvent) -> dict[str, Any]:
    return {
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "actor_name": event.actor_name,
        "actor_role": event.actor_role,
        "actor_organisation": event.actor_organisation,
    }


def _only_child(event: AuditEvent) -> str:
    return event.children[0] if len(event.children) == 1 else ""


def _volume_key(actor_id: int | None, day: date) -> str:
    return f"volume:user:{actor_id}:{day.isoformat()}"


def explain(flag: Flag) -> str:
    """Why a flag was raised, in a sentence for the auditor."""
    detail = flag.detail or {}
    day = flag.day.strftime("%-d %B %Y") if flag.day else ""
    match flag.rule:
        case Rule.VOLUME:
            text = f"{detail.get('lookups', '?')} searches and record views on {day}"
            if detail.get("lookups", 0) > detail.get("limit", 0):
                return f"{text}, over the daily limit of {detail.get('limit')}."
            return (
                f"{text}, over {detail.get('factor')} times their usual "
                f"{detail.get('median')} a day."
            )
        case Rule.OUT_OF_AREA:
            return (
                "Opened the record of a child who has never lived in the user's local "
                "authority and whom the user's organisation has not worked with."
            )
        case Rule.RESTRICTED:
            return "Tried to open a shielded record."
        case Rule.PERSONAL_LINK:
            return "Opened the record of a child with the same family name as the user."
        case Rule.OUT_OF_HOURS:
            return (
                f"Searched or opened records outside working hours on {day}: first at "
                f"{detail.get('first_at', '?')} ({detail.get('weekday', '')})."
            )
        case Rule.FISHING:
            return (
                f"{detail.get('searches', '?')} searches on {day} and "
                f"{detail.get('record_views', '?')} records opened."
            )
    return ""
