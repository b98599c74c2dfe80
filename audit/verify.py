"""Recomputes the hash chain and finds the first place it breaks."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from audit import chain
from audit.models import GENESIS_HASH, AuditEvent, AuditEventChild

COLUMNS = ("id", "sequence", "prev_hash", "hash", *chain.HASHED_FIELDS)
CHUNK = 10_000


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    hash: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    events: int
    head: Checkpoint | None
    broken_sequence: int | None = None
    problem: str = ""

    @property
    def broken_at(self) -> str:
        return f"at sequence {self.broken_sequence}" if self.broken_sequence else "at the end"


def chain_head() -> Checkpoint | None:
    head = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    return Checkpoint(*head) if head else None


def verify_chain(*, checkpoint: Checkpoint | None = None) -> Verdict:
    """Walks every event in sequence order and checks it against its predecessor.

    Detects an edited field (hash mismatch), a deleted row (a missing
    sequence), reordered or forged rows (broken links), children removed from
    the lookup table, and, with a checkpoint kept off the host, a truncated or
    rewritten tail.
    """
    expected_sequence, prev_hash = 1, GENESIS_HASH
    count = 0
    checkpoint_seen = checkpoint is None
    links = _child_links()
    pending_link = next(links, None)
    for row in _rows():
        count += 1
        sequence = row["sequence"]
        if sequence != expected_sequence:
            return _broken(count, expected_sequence, f"event {expected_sequence} is missing")
        if row["prev_hash"] != prev_hash:
            return _broken(count, sequence, "does not follow the event before it")
        computed = chain.link(prev_hash=prev_hash, sequence=sequence, content=chain.body(row))
        if computed != row["hash"]:
            return _broken(count, sequence, "content does not match its hash")
        linked: list[str] = []
        while pending_link is not None and pending_link[0] == row["id"]:
            linked.append(pending_link[1])
            pending_link = next(links, None)
        if sorted(linked) != sorted(row["children"]):
            return _broken(count, sequence, "children lookup rows do not match the event")
        if checkpoint is not None and sequence == checkpoint.sequence:
            if row["hash"] != checkpoint.hash:
                return _broken(count, sequence, "differs from the checkpoint kept off the host")
            checkpoint_seen = True
        expected_sequence, prev_hash = sequence + 1, row["hash"]
    if pending_link is not None:
        return _broken(count, None, "children lookup rows point at no event")
    if not checkpoint_seen:
        return _broken(
            count,
            expected_sequence,
            f"chain ends before checkpoint sequence {checkpoint.sequence}: events were removed",
        )
    head = Checkpoint(expected_sequence - 1, prev_hash) if count else None
    return Verdict(ok=True, events=count, head=head)


def _broken(count: int, sequence: int | None, problem: str) -> Verdict:
    return Verdict(ok=False, events=count, head=None, broken_sequence=sequence, problem=problem)


def _rows() -> Iterator[dict[str, Any]]:
    queryset = AuditEvent.objects.order_by("sequence").values_list(*COLUMNS)
    for values in queryset.iterator(chunk_size=CHUNK):
        yield dict(zip(COLUMNS, values, strict=True))


def _child_links() -> Iterator[tuple[int, str]]:
    # Events are numbered under the chain lock, so id order is sequence order.
    queryset = AuditEventChild.objects.order_by("event_id", "child_public_id").values_list(
        "event_id", "child_public_id"
    )
    yield from queryset.iterator(chunk_size=CHUNK)
