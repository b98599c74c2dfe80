"""Recomputes the hash chain, finds the first place it breaks, and any event left unsealed."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from audit import chain
from audit.archive import Head, archived_head
from audit.models import AuditEvent, AuditSeal

# A seal and its event, as the walk reads them (the event's columns by their own names).
_SEALED = {
    "position": "position",
    "prev_hash": "prev_hash",
    "hash": "hash",
    "id": "event__id",
    "sequence": "event__sequence",
    **{name: f"event__{name}" for name in chain.HASHED_FIELDS},
}
# Each event's child links, in the order of its seal.
_LINKS_SQL = (
    "SELECT s.position, l.child_public_id FROM audit_auditeventchild l"
    " JOIN audit_auditseal s ON s.event_id = l.event_id AND s.occurred_at = l.occurred_at"
    " ORDER BY s.position"
)
CHUNK = 10_000


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at a moment: the newest seal's position and hash. (A checkpoint
    file names the position "sequence": the name it had when events were their own
    positions; audit.checkpoints.)"""

    position: int
    hash: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    events: int  # sealed events walked
    head: Checkpoint | None
    broken_position: int | None = None
    broken_event: int | None = None  # the event's number, where known
    problem: str = ""
    # Events younger than AUDIT_SEAL_DELAY_SECONDS not yet sealed: not a fault.
    awaiting_seal: int = 0

    @property
    def broken_at(self) -> str:
        if self.broken_position and self.broken_event:
            return f"at position {self.broken_position} (event {self.broken_event})"
        if self.broken_position:
            return f"at position {self.broken_position}"
        if self.broken_event:
            return f"at event {self.broken_event}"
        return "at the end"


def chain_head() -> Checkpoint | None:
    """The newest seal: the head of the chain."""
    head = AuditSeal.objects.order_by("-position").values_list("position", "hash").first()
    return Checkpoint(*head) if head else None


def verify_chain(*, checkpoint: Checkpoint | None = None, now: datetime | None = None) -> Verdict:
    """Walks every seal in position order and checks it against the seal before it and
    against its event, then checks that every event older than AUDIT_SEAL_DELAY_SECONDS
    has a seal.

    Detects an edited event (hash mismatch), an event renumbered (its number is hashed), a
    deleted event or seal (a missing position), reordered or forged seals (broken links),
    a seal moved to another event, children removed from the lookup table, an event left
    unsealed (its queue row deleted, or no sealer running), and, with a checkpoint kept off
    the host, a truncated or rewritten tail.
    """
    now = now or timezone.now()
    # After an archive (audit.archive), the walk starts from the archived head, and steps
    # over the archived seals above it (events of an archived month sealed after later ones).
    archived = archived_head()
    expected, prev_hash = archived.position + 1, archived.hash
    beyond = {run.first: run for run in archived.beyond}
    count = 0
    checkpoint_seen = checkpoint is None or _checkpoint_archived(checkpoint, archived)
    if isinstance(checkpoint_seen, str):
        return _broken(0, checkpoint.position, None, checkpoint_seen)
    links = _child_links()
    pending_link = next(links, None)
    for row in _sealed(after=archived.position):
        count += 1
        position, number = row["position"], row["sequence"]
        while position > expected and expected in beyond:
            run = beyond.pop(expected)
            if run.first_prev != prev_hash:
                return _broken(
                    count, expected, None, "archived seal does not follow the seal before it"
                )
            expected, prev_hash = run.last + 1, run.last_hash
        if position != expected:
            return _missing(count, expected)
        if row["prev_hash"] != prev_hash:
            return _broken(count, position, number, "does not follow the seal before it")
        computed = chain.link(
            prev_hash=prev_hash, position=position, number=number, content=chain.body(row)
        )
        if computed != row["hash"]:
            return _broken(count, position, number, "content does not match its hash")
        linked: list[str] = []
        while pending_link is not None and pending_link[0] == position:
            linked.append(pending_link[1])
            pending_link = next(links, None)
        if sorted(linked) != sorted(row["children"]):
            return _broken(count, position, number, "children lookup rows do not match the event")
        if checkpoint is not None and position == checkpoint.position:
            if row["hash"] != checkpoint.hash:
                return _broken(
                    count, position, number, "differs from the checkpoint kept off the host"
                )
            checkpoint_seen = True
        expected, prev_hash = position + 1, row["hash"]
    while expected in beyond:  # archived seals above the last one in the database
        run = beyond.pop(expected)
        if run.first_prev != prev_hash:
            return _broken(
                count, expected, None, "archived seal does not follow the seal before it"
            )
        expected, prev_hash = run.last + 1, run.last_hash
    head = chain_head()
    if head is not None and head.position >= expected:
        # A seal beyond the last one walked: its event is gone.
        return _missing(count, expected)
    if not checkpoint_seen:
        return _broken(
            count,
            expected,
            None,
            f"chain ends before checkpoint position {checkpoint.position}: seals were removed",
        )
    delay = settings.AUDIT_SEAL_DELAY_SECONDS
    awaiting = 0
    for number, occurred_at in _unsealed():
        if occurred_at < now - timedelta(seconds=delay):
            return _broken(count, None, number, f"has no seal {delay:g} s after it occurred")
        awaiting += 1
    head = Checkpoint(expected - 1, prev_hash) if expected > 1 else None
    return Verdict(ok=True, events=count, head=head, awaiting_seal=awaiting)


def _checkpoint_archived(checkpoint: Checkpoint, archived: Head) -> bool | str:
    """True if the checkpoint's position is archived and its hash, where the database still
    knows it (the archived head, the last of a run above it), agrees; a problem if it
    disagrees; False if the walk must find it."""
    position = checkpoint.position
    runs = [run for run in archived.beyond if run.first <= position <= run.last]
    if position > archived.position and not runs:
        return False
    known = {archived.position: archived.hash, **{run.last: run.last_hash for run in runs}}
    if position in known and known[position] != checkpoint.hash:
        return "differs from the checkpoint kept off the host (at the archived head)"
    return True


def _broken(count: int, position: int | None, number: int | None, problem: str) -> Verdict:
    return Verdict(
        ok=False,
        events=count,
        head=None,
        broken_position=position,
        broken_event=number,
        problem=problem,
    )


def _missing(count: int, position: int) -> Verdict:
    """The walk found no seal at `position`: either the seal is gone, or its event is."""
    if AuditSeal.objects.filter(position=position).exists():
        return _broken(count, position, None, "the event it seals is missing")
    return _broken(count, position, None, f"seal {position} is missing")


def _sealed(*, after: int = 0) -> Iterator[dict[str, Any]]:
    names = tuple(_SEALED)
    # Each seal's event in the seal's month: on PostgreSQL one partition per seal. (A seal
    # whose event is elsewhere, or gone, is not walked: the walk reports its position.)
    queryset = (
        AuditSeal.objects.filter(event__occurred_at=F("occurred_at"), position__gt=after)
        .order_by("position")
        .values_list(*_SEALED.values())
    )
    for values in queryset.iterator(chunk_size=CHUNK):
        yield dict(zip(names, values, strict=True))


def _child_links() -> Iterator[tuple[int, str]]:
    """(position, child public id) of every sealed event's child links, in position order."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(_LINKS_SQL)
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


def _unsealed() -> Iterator[tuple[int, datetime]]:
    """(number, occurred_at) of every event without a seal, lowest number first."""
    queryset = (
        AuditEvent.objects.filter(seal__isnull=True)
        .order_by("sequence")
        .values_list("sequence", "occurred_at")
    )
    yield from queryset.iterator(chunk_size=CHUNK)
