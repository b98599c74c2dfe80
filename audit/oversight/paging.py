"""The one keyset pager of the auditor's lists: pages newest first without counting the rows,
as fast at page 1,000 as at page 1. A page is found from the key of the row it starts after
(`before`, going to older rows) or ends before (`after`, going to newer ones)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from audit.models import AuditEvent


@dataclass(frozen=True)
class Keys:
    """How a list is ordered: the rows older and newer than the row with a key, and the
    attribute of a row that is its key (a unique integer)."""

    older: Callable[[int], Q]
    newer: Callable[[int], Q]
    key: str
    ordering: tuple[str, ...]  # order_by() of the list, newest first


def by_field(field: str) -> Keys:
    """Newest first by one unique integer field (the event list by sequence, flags by id)."""
    return Keys(
        older=lambda key: Q(**{f"{field}__lt": key}),
        newer=lambda key: Q(**{f"{field}__gt": key}),
        key=field,
        ordering=(f"-{field}",),
    )


def by_time_then_sequence(when: str, number: str = "sequence") -> Keys:
    """Newest first by (time, sequence), the order the indexes on (child, time) and (actor,
    time) give; the key is an event's sequence, whose time the unique index on sequence finds."""

    def older(sequence: int) -> Q:
        at = time_of(sequence)
        if at is None:  # no such event: by sequence alone
            return Q(**{f"{number}__lt": sequence})
        return Q(**{f"{when}__lte": at}) & (
            Q(**{f"{when}__lt": at}) | Q(**{f"{number}__lt": sequence})
        )

    def newer(sequence: int) -> Q:
        at = time_of(sequence)
        if at is None:
            return Q(**{f"{number}__gt": sequence})
        return Q(**{f"{when}__gte": at}) & (
            Q(**{f"{when}__gt": at}) | Q(**{f"{number}__gt": sequence})
        )

    return Keys(older=older, newer=newer, key="sequence", ordering=(f"-{when}", f"-{number}"))


def time_of(sequence: int) -> datetime | None:
    """When the event with this sequence happened (None if there is none)."""
    return (
        AuditEvent.objects.filter(sequence=sequence).values_list("occurred_at", flat=True).first()
    )


def keyset_page(
    rows: Callable[[Q], QuerySet],
    keys: Keys,
    *,
    before: int | None,
    after: int | None,
    size: int,
) -> tuple[list, int | None, int | None]:
    """A page of the rows, newest first: (the page, the key to pass as `after` for the newer
    page, the key to pass as `before` for the older one), None where there is no such page.
    `rows(bound)` gives the rows within a bound, newest first."""
    if after is not None:
        found = list(rows(keys.newer(after)).reverse()[: size + 1])
        has_newer = len(found) > size
        page = list(reversed(found[:size]))
        has_older = bool(page) and rows(keys.older(getattr(page[-1], keys.key))).exists()
    else:
        found = list(rows(keys.older(before) if before is not None else Q())[: size + 1])
        has_older = len(found) > size
        page = found[:size]
        has_newer = (
            before is not None
            and bool(page)
            and rows(keys.newer(getattr(page[0], keys.key))).exists()
        )
    return (
        page,
        getattr(page[0], keys.key) if page and has_newer else None,
        getattr(page[-1], keys.key) if page and has_older else None,
    )
