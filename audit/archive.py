"""Archive before delete: whole months of the audit trail written to files, checked, and only
then removed from the database (`manage.py audit_archive`, `manage.py verify_archive`).

A month is the events that occurred in it (UTC), their child links and their seals: on
PostgreSQL its three partitions (audit.partitions). Archiving `--before` a month takes every
older month still in the database, oldest first, and for each:

1. refuses if it is within AUDIT_RETENTION_MONTHS, if an older month is still in the
   database, if any of its events waits for its seal, or if its directory already exists;
2. writes DIR/YYYY-MM.partial/: events.jsonl.gz, links.jsonl.gz and seals.jsonl.gz (one
   JSON object a line, gzip), then manifest.json: each file's rows and SHA-256, and where
   the chain stands (the month's first and last positions, the hash at its last, and the
   archived head: every position up to it is archived);
3. reads the files back and checks them as verify_archive does (digests, rows, every seal's
   hash recomputed from its event, the links against the events), and checks the month's
   seals against their neighbours still in the database; renames the directory to
   DIR/YYYY-MM;
4. in one transaction: records an `audit_archive` event, appends an AuditArchive row (the
   manifest's digest and the new head, which verify_audit starts from), and detaches and
   drops the month's partitions (SQLite: deletes its rows, the triggers lifted inside the
   transaction). If anything fails before the commit, the database keeps the month.

Events of a month may be sealed after events of the next (a lookup that committed late, or
one that began before midnight and ended after): their seals sit above the archived head.
The manifest and the AuditArchive row list them (`beyond_head`), so that verify_audit steps
over them and verify_archive checks them.
"""

import gzip
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audit import chain, partitions
from audit.models import (
    GENESIS_HASH,
    Action,
    AuditArchive,
    AuditEvent,
    AuditEventChild,
    AuditSeal,
    UnsealedEvent,
)
from audit.partitions import TABLES, Month
from audit.services import record

logger = logging.getLogger(__name__)

FORMAT = 1
EVENTS, LINKS, SEALS = "events.jsonl.gz", "links.jsonl.gz", "seals.jsonl.gz"
MANIFEST = "manifest.json"
CHUNK = 10_000
_EVENT_COLUMNS = ("id", "sequence", *chain.HASHED_FIELDS)
_LINK_COLUMNS = ("id", "event_id", "child_public_id", "occurred_at")
_SEAL_COLUMNS = ("position", "event_id", "prev_hash", "hash", "sealed_at", "occurred_at")


class ArchiveRefused(Exception):
    """The archive was not made, for the reason given; the database is as it was."""


@dataclass(frozen=True)
class Run:
    """Seals at consecutive positions, `first` to `last`: the hash the first follows and the
    hash of the last are all a walk needs to step over them."""

    first: int
    first_prev: str
    last: int
    last_hash: str

    def as_json(self) -> list[Any]:
        return [self.first, self.first_prev, self.last, self.last_hash]

    @classmethod
    def from_json(cls, value: list[Any]) -> "Run":
        first, first_prev, last, last_hash = value
        return cls(int(first), str(first_prev), int(last), str(last_hash))


@dataclass(frozen=True)
class Head:
    """Every position up to `position` is archived; `beyond` the runs of archived seals
    above it (events of archived months sealed after events of later ones)."""

    position: int
    hash: str
    beyond: tuple[Run, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "hash": self.hash,
            "beyond": [run.as_json() for run in self.beyond],
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "Head":
        return cls(
            position=int(value["position"]),
            hash=str(value["hash"]),
            beyond=tuple(Run.from_json(run) for run in value.get("beyond", [])),
        )


START = Head(position=0, hash=GENESIS_HASH)


@dataclass
class MonthArchived:
    month: Month
    directory: Path
    events: int
    links: int
    seals: int
    seconds: float


@dataclass
class MonthChecked:
    """What a month's directory holds, as verify_month found it."""

    month: Month | None
    manifest: dict[str, Any] = field(default_factory=dict)
    manifest_sha256: str = ""
    runs: list[Run] = field(default_factory=list)  # its seals' positions, in runs
    problems: list[str] = field(default_factory=list)


def archived_head() -> Head:
    """Where the chain stands after the newest archive (the start, with none)."""
    latest = AuditArchive.objects.order_by("-month").first()
    if latest is None:
        return START
    return Head(
        position=latest.head_position,
        hash=latest.head_hash,
        beyond=tuple(Run.from_json(run) for run in latest.beyond_head),
    )


def latest_month_allowed(*, now: datetime | None = None) -> Month:
    """`--before` may be at most this month: events are kept AUDIT_RETENTION_MONTHS."""
    return Month.of(now or timezone.now()).plus(-settings.AUDIT_RETENTION_MONTHS)


def months_in_database(*, before: Month) -> list[Month]:
    """The months before `before` that still have events in the database, oldest first
    (on PostgreSQL every month with a partition, empty or not)."""
    if partitions.partitioned():
        return [month for month in partitions.months() if month < before]
    first = AuditEvent.objects.order_by("occurred_at").values_list("occurred_at", flat=True)
    oldest = first.first()
    if oldest is None:
        return []
    found, month = [], Month.of(oldest)
    while month < before:
        found.append(month)
        month = month.next()
    return found


def archive_before(*, before: Month, root: Path) -> list[MonthArchived]:
    """Archives every month before `before` still in the database, oldest first."""
    allowed = latest_month_allowed()
    if before > allowed:
        raise ArchiveRefused(
            f"events are kept for {settings.AUDIT_RETENTION_MONTHS} months "
            f"(AUDIT_RETENTION_MONTHS): the latest you can archive before is {allowed}"
        )
    return [archive_month(month=month, root=root) for month in months_in_database(before=before)]


def archive_month(*, month: Month, root: Path) -> MonthArchived:
    started = time.monotonic()
    _refuse_unless_ready(month=month, root=root)
    final = root / str(month)
    partial = root / f"{month}.partial"
    if partial.exists():
        shutil.rmtree(partial)  # what a run that failed before its commit left
    partial.mkdir(parents=True)
    previous = archived_head()
    seen = _Runs()  # gathered as the seals are written; verify_month checks them from the file
    counts = {
        EVENTS: _write(partial / EVENTS, _events(month)),
        LINKS: _write(partial / LINKS, _links(month)),
        SEALS: _write(partial / SEALS, seen.passing(_seals(month))),
    }
    in_database = _counts_in_database(month)
    if in_database != counts:
        raise ArchiveRefused(
            f"{month}: the files hold {_describe(counts)} where the database holds "
            f"{_describe(in_database)} (an event without its seal?)"
        )
    runs = seen.runs
    head = _advance(previous, runs)
    manifest = {
        "format": FORMAT,
        "month": str(month),
        "from": month.start.isoformat(),
        "to": month.next().start.isoformat(),
        "archived_at": timezone.now().astimezone(UTC).isoformat(),
        "files": {
            name: {"rows": rows, "sha256": _sha256(partial / name)} for name, rows in counts.items()
        },
        "chain": {
            "first_position": runs[0].first if runs else None,
            "last_position": max(run.last for run in runs) if runs else None,
            "last_hash": max(runs, key=lambda run: run.last).last_hash if runs else None,
            "previous_head": previous.as_json(),
            "head": head.as_json(),
        },
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    _write_bytes(partial / MANIFEST, manifest_bytes)
    checked = verify_month(partial, expect=month)
    problems = checked.problems + _against_neighbours(runs, previous)
    if problems:
        raise ArchiveRefused(f"the files written for {month} did not check: " + "; ".join(problems))
    partial.rename(final)
    _fsync_directory(root)
    with transaction.atomic():
        event = record(
            request=None,
            action=Action.AUDIT_ARCHIVE,
            detail={
                "month": str(month),
                "events": counts[EVENTS],
                "links": counts[LINKS],
                "seals": counts[SEALS],
                "manifest_sha256": checked.manifest_sha256,
                "head_position": head.position,
            },
        )
        AuditArchive.objects.create(
            month=str(month),
            location=str(root.resolve()),
            manifest_sha256=checked.manifest_sha256,
            events=counts[EVENTS],
            links=counts[LINKS],
            seals=counts[SEALS],
            head_position=head.position,
            head_hash=head.hash,
            beyond_head=[run.as_json() for run in head.beyond],
            event_sequence=event.sequence,
        )
        _remove(month)
    seconds = time.monotonic() - started
    logger.info("Audit trail of %s archived in %.1f s", month, seconds)
    return MonthArchived(
        month=month,
        directory=final,
        events=counts[EVENTS],
        links=counts[LINKS],
        seals=counts[SEALS],
        seconds=seconds,
    )


def _describe(counts: dict[str, int]) -> str:
    return f"{counts[EVENTS]} events, {counts[LINKS]} links and {counts[SEALS]} seals"


def _refuse_unless_ready(*, month: Month, root: Path) -> None:
    if AuditArchive.objects.filter(month=str(month)).exists():
        raise ArchiveRefused(f"{month} is archived already")
    if (root / str(month)).exists():
        raise ArchiveRefused(f"{root / str(month)} exists already: move it away first")
    older = months_in_database(before=month)
    if older and (
        partitions.partitioned() or AuditEvent.objects.filter(**_in_month(older[0])).exists()
    ):
        raise ArchiveRefused(f"archive {older[0]} first: months go oldest first")
    waiting = UnsealedEvent.objects.filter(**_in_month(month)).count()
    if waiting:
        raise ArchiveRefused(
            f"{waiting} event(s) of {month} wait for their seal: is the sealer running?"
        )


def _in_month(month: Month) -> dict[str, datetime]:
    return {"occurred_at__gte": month.start, "occurred_at__lt": month.next().start}


def _counts_in_database(month: Month) -> dict[str, int]:
    return {
        EVENTS: AuditEvent.objects.filter(**_in_month(month)).count(),
        LINKS: AuditEventChild.objects.filter(**_in_month(month)).count(),
        SEALS: AuditSeal.objects.filter(**_in_month(month)).count(),
    }


# The three files list their rows in the order of the events' seals (links by child within
# an event), so that checking them reads them side by side, a row at a time, whatever the
# size of the month.
def _events(month: Month) -> Iterator[dict[str, Any]]:
    columns = [f"event__{name}" for name in _EVENT_COLUMNS]
    rows = (
        AuditSeal.objects.filter(**_in_month(month), event__occurred_at=F("occurred_at"))
        .order_by("position")
        .values_list(*columns)
    )
    for values in rows.iterator(chunk_size=CHUNK):
        event = dict(zip(_EVENT_COLUMNS, values, strict=True))
        event["occurred_at"] = chain.timestamp(event["occurred_at"])
        yield event


_LINKS_SQL = (
    "SELECT l.id, l.event_id, l.child_public_id, l.occurred_at"
    " FROM audit_auditeventchild l"
    " JOIN audit_auditseal s ON s.event_id = l.event_id AND s.occurred_at = l.occurred_at"
    " WHERE l.occurred_at >= %s AND l.occurred_at < %s"
    " ORDER BY s.position, l.child_public_id"
)


def _links(month: Month) -> Iterator[dict[str, Any]]:
    bounds = [
        connection.ops.adapt_datetimefield_value(month.start),
        connection.ops.adapt_datetimefield_value(month.next().start),
    ]
    with connection.chunked_cursor() as cursor:
        cursor.execute(_LINKS_SQL, bounds)
        while rows := cursor.fetchmany(CHUNK):
            for values in rows:
                link = dict(zip(_LINK_COLUMNS, values, strict=True))
                link["occurred_at"] = chain.timestamp(_aware(link["occurred_at"]))
                yield link


def _aware(value: datetime | str) -> datetime:
    """A time as the database gave it (SQLite: text in UTC), made aware."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _seals(month: Month) -> Iterator[dict[str, Any]]:
    rows = AuditSeal.objects.filter(**_in_month(month)).order_by("position")
    for values in rows.values_list(*_SEAL_COLUMNS).iterator(chunk_size=CHUNK):
        seal = dict(zip(_SEAL_COLUMNS, values, strict=True))
        seal["sealed_at"] = chain.timestamp(seal["sealed_at"])
        seal["occurred_at"] = chain.timestamp(seal["occurred_at"])
        yield seal


def _write(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("wb") as raw:
        # mtime=0: the same rows make the same bytes.
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as out:
            lines = []
            for row in rows:
                lines.append(json.dumps(row, sort_keys=True, ensure_ascii=False))
                count += 1
                if len(lines) >= CHUNK:
                    out.write(("\n".join(lines) + "\n").encode())
                    lines = []
            if lines:
                out.write(("\n".join(lines) + "\n").encode())
        raw.flush()
        os.fsync(raw.fileno())
    return count


def _write_bytes(path: Path, data: bytes) -> None:
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        for line in file:
            if line.strip():
                yield json.loads(line)


class _Runs:
    """The runs of consecutive positions among seals seen in position order."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def add(self, seal: dict[str, Any]) -> None:
        position = int(seal["position"])
        run = self.runs[-1] if self.runs else None
        if run is not None and position == run.last + 1:
            self.runs[-1] = Run(run.first, run.first_prev, position, seal["hash"])
        else:
            self.runs.append(Run(position, seal["prev_hash"], position, seal["hash"]))

    def passing(self, seals: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The seals, unchanged, each added on its way through."""
        for seal in seals:
            self.add(seal)
            yield seal


def _advance(previous: Head, runs: Iterable[Run]) -> Head:
    """The archived head once these runs are archived too: it moves up through every run
    that starts where it stands; the runs above a gap stay beyond it (adjacent ones
    joined)."""
    position, hash_ = previous.position, previous.hash
    beyond: list[Run] = []
    for run in sorted((*previous.beyond, *runs), key=lambda run: run.first):
        if not beyond and run.first == position + 1:
            position, hash_ = run.last, run.last_hash
        elif beyond and run.first == beyond[-1].last + 1:
            beyond[-1] = Run(beyond[-1].first, beyond[-1].first_prev, run.last, run.last_hash)
        else:
            beyond.append(run)
    return Head(position=position, hash=hash_, beyond=tuple(beyond))


def _against_neighbours(runs: list[Run], previous: Head) -> list[str]:
    """Each run of the month's seals follows the seal before it (archived already, or in
    the database) and is followed by the seal after it, where that is in the database."""
    archived = {previous.position: previous.hash}
    archived.update({run.last: run.last_hash for run in previous.beyond})
    archived.update({run.last: run.last_hash for run in runs})
    wanted = {run.first - 1 for run in runs} | {run.last + 1 for run in runs}
    in_database = {
        position: (prev_hash, hash_)
        for position, prev_hash, hash_ in AuditSeal.objects.filter(position__in=wanted)
        .values_list("position", "prev_hash", "hash")
        .iterator()
    }
    problems = []
    for run in runs:
        before = run.first - 1
        known = archived.get(before, in_database.get(before, (None, None))[1])
        if known is None:
            problems.append(f"seal {before}, before seal {run.first}, is nowhere")
        elif known != run.first_prev:
            problems.append(f"seal {run.first} does not follow seal {before}")
        after = in_database.get(run.last + 1)
        if after is not None and after[0] != run.last_hash:
            problems.append(f"seal {run.last + 1} in the database does not follow seal {run.last}")
    return problems


def _remove(month: Month) -> None:
    """The month's rows leave the database, in the caller's transaction."""
    if partitions.partitioned():
        with connection.cursor() as cursor:
            # Appends wait while the partitions are detached: not for long.
            cursor.execute("SET LOCAL lock_timeout = '30s'")
            # The foreign-key checks this transaction deferred (its own event's), now: a
            # table cannot be dropped while checks on it wait.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        partitions.detach_and_drop(month)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return
    bounds = [
        connection.ops.adapt_datetimefield_value(month.start),
        connection.ops.adapt_datetimefield_value(month.next().start),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND tbl_name IN ('audit_auditevent', 'audit_auditeventchild', 'audit_auditseal')"
        )
        triggers = cursor.fetchall()
        for name, _sql in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        for table in reversed(TABLES):
            cursor.execute(
                f"DELETE FROM {table} WHERE occurred_at >= %s AND occurred_at < %s",  # noqa: S608
                bounds,
            )
        for _name, sql in triggers:
            cursor.execute(sql)


# --- Checking an archive -------------------------------------------------------------------


def verify_month(directory: Path, *, expect: Month | None = None) -> MonthChecked:
    """Checks one month's directory on its own: the manifest, each file's digest and rows,
    every event within the month, every seal's hash recomputed from its event, the links
    against the events, and the chain among the month's seals. Reads the files side by
    side, a row at a time."""
    checked = MonthChecked(month=None)
    problems = checked.problems
    manifest_path = directory / MANIFEST
    try:
        raw = manifest_path.read_bytes()
        manifest = json.loads(raw)
        month = Month.parse(manifest["month"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        problems.append(f"{manifest_path}: no readable manifest ({type(error).__name__})")
        return checked
    checked.month, checked.manifest = month, manifest
    checked.manifest_sha256 = hashlib.sha256(raw).hexdigest()
    name = directory.name.removesuffix(".partial")
    if name != str(month) or (expect is not None and month != expect):
        problems.append(f"{directory}: the manifest is of {month}")
    if manifest.get("format") != FORMAT:
        problems.append(f"{month}: manifest format {manifest.get('format')!r} is not {FORMAT}")
    files = manifest.get("files") or {}
    for file_name in (EVENTS, LINKS, SEALS):
        path = directory / file_name
        if not path.exists():
            problems.append(f"{month}: {file_name} is missing")
        elif _sha256(path) != (files.get(file_name) or {}).get("sha256"):
            problems.append(f"{month}: {file_name} does not match its SHA-256 in the manifest")
    if problems:
        return checked
    try:
        counts = _check_rows(directory, month, checked)
    except (OSError, ValueError, KeyError, TypeError, EOFError) as error:
        problems.append(f"{month}: a file cannot be read ({type(error).__name__})")
        return checked
    for file_name, rows in counts.items():
        if files[file_name].get("rows") != rows:
            problems.append(
                f"{month}: {file_name} holds {rows} rows, the manifest says "
                f"{files[file_name].get('rows')}"
            )
    chain_entry = manifest.get("chain") or {}
    if checked.runs:
        last = max(checked.runs, key=lambda run: run.last)
        if (chain_entry.get("last_position"), chain_entry.get("last_hash")) != (
            last.last,
            last.last_hash,
        ):
            problems.append(f"{month}: the manifest's last position and hash are not the seals'")
        if chain_entry.get("first_position") != checked.runs[0].first:
            problems.append(f"{month}: the manifest's first position is not the seals'")
    try:
        previous_head = Head.from_json(chain_entry["previous_head"])
        head = Head.from_json(chain_entry["head"])
    except (KeyError, TypeError, ValueError):
        problems.append(f"{month}: the manifest has no chain head")
        return checked
    if _advance(previous_head, checked.runs) != head:
        problems.append(f"{month}: the manifest's head does not follow from its seals")
    return checked


def _check_rows(directory: Path, month: Month, checked: MonthChecked) -> dict[str, int]:
    """Walks the seals, their events and the events' links side by side (all in seal
    order), checking each; returns how many rows each file holds."""
    problems = checked.problems
    start, end = chain.timestamp(month.start), chain.timestamp(month.next().start)
    events = _lines(directory / EVENTS)
    links = _Peekable(_lines(directory / LINKS))
    counts = {EVENTS: 0, LINKS: 0, SEALS: 0}
    seen = _Runs()  # the seals read so far
    runs = seen.runs
    for seal in _lines(directory / SEALS):
        counts[SEALS] += 1
        event = next(events, None)
        if event is None:
            problems.append(f"{month}: seal {seal['position']} has no event in the archive")
            break
        counts[EVENTS] += 1
        position = int(seal["position"])
        if runs and position <= runs[-1].last:
            problems.append(f"{month}: seal {position} is out of position order")
            break
        if event["id"] != seal["event_id"]:
            problems.append(f"{month}: seal {position}'s event is not the event beside it")
            break
        if not start <= event["occurred_at"] < end:
            problems.append(f"{month}: event {event['sequence']} occurred outside the month")
        children = []
        while (link := links.peek()) is not None and link["event_id"] == event["id"]:
            children.append(next(links)["child_public_id"])
            counts[LINKS] += 1
        if sorted(children) != sorted(event["children"]):
            problems.append(f"{month}: event {event['sequence']}'s links do not match it")
        computed = chain.link(
            prev_hash=seal["prev_hash"],
            position=position,
            number=event["sequence"],
            content=chain.body(dict(event, occurred_at=_parse(event["occurred_at"]))),
        )
        if computed != seal["hash"]:
            problems.append(f"{month}: seal {position} does not match its event's content")
        if runs and position == runs[-1].last + 1 and runs[-1].last_hash != seal["prev_hash"]:
            problems.append(f"{month}: seal {position} does not follow seal {position - 1}")
        seen.add(seal)
        if len(problems) > 20:
            break
    for _ in events:
        counts[EVENTS] += 1
        problems.append(f"{month}: an event has no seal in the archive")
    for _ in links:
        counts[LINKS] += 1
        problems.append(f"{month}: a link belongs to no event beside it")
    checked.runs = runs
    return counts


class _Peekable:
    def __init__(self, iterator: Iterator[dict[str, Any]]):
        self._iterator = iterator
        self._next: dict[str, Any] | None = None
        self._peeked = False

    def peek(self) -> dict[str, Any] | None:
        if not self._peeked:
            self._next = next(self._iterator, None)
            self._peeked = True
        return self._next

    def __iter__(self) -> "_Peekable":
        return self

    def __next__(self) -> dict[str, Any]:
        value = self.peek()
        self._peeked = False
        if value is None:
            raise StopIteration
        return value


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass
class ArchiveVerdict:
    months: list[Month]
    events: int
    head: Head | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_archive(root: Path, *, against_database: bool = True) -> ArchiveVerdict:
    """Checks an archive directory: each month on its own (verify_month), the months one
    after another with none missing, the chain running through them from the first
    month's previous head to the last month's head with no position missing, and (with
    `against_database`) that every month the database records as archived is there with
    the manifest it recorded."""
    problems: list[str] = []
    if not root.is_dir():
        return ArchiveVerdict(
            months=[], events=0, head=None, problems=[f"{root} is not a directory"]
        )
    checked = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        if directory.name.endswith(".partial"):
            continue  # a run that did not finish: nothing was removed for it
        month = verify_month(directory)
        problems.extend(month.problems)
        if month.month is not None:
            checked.append(month)
    checked.sort(key=lambda m: m.month)
    months = [m.month for m in checked]
    for earlier, later in pairwise(months):
        if later != earlier.next():
            problems.append(f"month {earlier.next()} is missing (between {earlier} and {later})")
    head = None
    if checked:
        try:
            first = Head.from_json(checked[0].manifest["chain"]["previous_head"])
            head = Head.from_json(checked[-1].manifest["chain"]["head"])
        except (KeyError, TypeError, ValueError):
            first = head = None
        if first is not None and head is not None:
            problems.extend(_chain_through(first, head, [r for m in checked for r in m.runs]))
    if against_database:
        for recorded in AuditArchive.objects.order_by("month"):
            found = next((m for m in checked if str(m.month) == recorded.month), None)
            if found is None:
                problems.append(f"month {recorded.month}, archived from the database, is not here")
            elif found.manifest_sha256 != recorded.manifest_sha256:
                problems.append(
                    f"the manifest of {recorded.month} is not the one written when it was "
                    "archived (its SHA-256 differs from the database's record)"
                )
    events = sum(int(m.manifest.get("files", {}).get(EVENTS, {}).get("rows", 0)) for m in checked)
    return ArchiveVerdict(months=months, events=events, head=head, problems=problems)


def _chain_through(first: Head, head: Head, runs: list[Run]) -> list[str]:
    """The runs of every month, with what was archived before the first month, reach from
    the first month's previous head to the last month's head with no position missing,
    each following the one before it."""
    position, hash_ = first.position, first.hash
    for run in sorted((*first.beyond, *runs), key=lambda run: run.first):
        if run.first > head.position:
            break  # above the head: checked when the head reaches it
        if run.first != position + 1:
            return [f"seal {position + 1} is in no month of the archive"]
        if run.first_prev != hash_:
            return [f"seal {run.first} does not follow seal {position}"]
        position, hash_ = run.last, run.last_hash
    if (position, hash_) != (head.position, head.hash):
        return [
            f"the chain through the archive ends at {position}, not at the head {head.position}"
        ]
    return []
