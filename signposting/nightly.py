"""The nightly jobs as one run (`manage.py nightly`): the audit trail's partitions made
ahead and its months past retention reported, the retention purge, the day rules of misuse
for yesterday, re-vetting reminders, the audit chain verified against the last checkpoint,
a new checkpoint, and the e-mail outbox sent; one run at a time.

It lives in the project package because it composes every app: the purge is children's,
the day rules oversight's, the checkpoints the trail core's. The import-linter contracts
(pyproject.toml) keep accounts, children and the trail core from importing upwards, and
oversight may import children; the project package sits above them all. A command here
also needs no exemption from the trail core's contract, as oversight's flag_events does.

Each part calls its app's own function (the ones `purge_expired`, `flag_events`,
`verify_audit` and `audit_checkpoint` call), so a part behaves here as its command does.
The run writes no audit event of its own: the purge records one per child already, and
flags, checks and checkpoints change nothing in the register.
"""

import fcntl
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from accounts.emails import vetting_reminders_queue
from accounts.outbox import email_on, outbox_prune, outbox_send_due
from audit.archive import latest_month_allowed, months_in_database
from audit.checkpoints import (
    CheckpointUnreadable,
    checkpoint_latest,
    checkpoint_read,
    checkpoint_write,
)
from audit.oversight.services import flags_raise_for_day
from audit.partitions import MONTHS_AHEAD, Month, ensure_partitions, partitioned
from audit.verify import Verdict, verify_chain
from children.services import children_purge_expired

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key of the nightly run ("nightly" in hex); the audit sealer's are
# others ("audit", "sealer": audit.sealer).
LOCK_KEY = 0x6E696768746C79
# The most messages one night sends itself; `send_outbox --follow` sends the rest.
NIGHTLY_SEND_LIMIT = 5000


class AlreadyRunning(Exception):
    """Another nightly run holds the lock: this one does nothing."""


class PartFailed(Exception):
    """A part ran and found something wrong (as opposed to crashing)."""


@dataclass(frozen=True)
class PartResult:
    name: str
    ok: bool
    outcome: str


@contextmanager
def nightly_lock() -> Iterator[None]:
    """Held for the whole run; AlreadyRunning if another run holds it. On PostgreSQL a
    session-level advisory lock, so that runs on different hosts (a CronJob's pods) exclude
    each other; on SQLite, which lives on one host, an exclusive flock on var/nightly.lock.
    Either is released when its holder dies, so a killed run leaves no stale lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            (locked,) = cursor.fetchone()
        if not locked:
            raise AlreadyRunning("another nightly run holds the database's advisory lock")
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
            except DatabaseError:
                logger.warning("Nightly lock not released: it goes with the lost connection")
        return
    path = Path(settings.VAR_DIR) / "nightly.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"another nightly run holds {path}") from None
        try:
            yield
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def nightly_run(*, today: date, checkpoint_dir: Path) -> list[PartResult]:
    """Runs every part in order, each whatever became of the ones before, but the new
    checkpoint: it is the head the verification vouched for, so a chain that fails to
    verify gets none (a checkpoint of a cut chain would vouch for it the next night)."""
    night = _Night(today=today, checkpoint_dir=checkpoint_dir)
    jobs: list[tuple[str, Callable[[], str]]] = [
        ("audit partitions", night.audit_partitions),
        ("audit retention", night.audit_retention),
        ("purge", night.purge),
        ("misuse rules", night.misuse_rules),
        ("vetting reminders", night.vetting_reminders),
        ("verify", night.verify),
        ("checkpoint", night.checkpoint),
        # Last, so that tonight's reminders go tonight.
        ("e-mail", night.email),
    ]
    return [_run(name, job) for name, job in jobs]


def _run(name: str, job: Callable[[], str]) -> PartResult:
    try:
        return PartResult(name=name, ok=True, outcome=job())
    except PartFailed as failure:
        return PartResult(name=name, ok=False, outcome=str(failure))
    except Exception as error:
        logger.exception("Nightly part %r failed", name)
        return PartResult(name=name, ok=False, outcome=f"failed: {type(error).__name__}: {error}")


@dataclass
class _Night:
    today: date
    checkpoint_dir: Path
    verdict: Verdict | None = None

    def audit_partitions(self) -> str:
        if not partitioned():
            return "none: SQLite keeps the trail in single tables"
        made = ensure_partitions()
        ready = Month.of(timezone.now()).plus(MONTHS_AHEAD)
        return f"{made} partition table(s) made; the trail has months up to {ready}"

    def audit_retention(self) -> str:
        """Months of the trail past AUDIT_RETENTION_MONTHS are due for the archive. The run
        does not archive them itself: removing them needs the database owner (it runs as
        the app role) and a place off this host; it fails, so that an operator runs
        `audit_archive` (docs/operations/audit-archive.md)."""
        before = latest_month_allowed()
        due = months_in_database(before=before)
        if not due:
            return f"nothing due: no month before {before} is in the database"
        raise PartFailed(
            f"{len(due)} month(s) of the audit trail ({due[0]} to {due[-1]}) are older than "
            f"AUDIT_RETENTION_MONTHS ({settings.AUDIT_RETENTION_MONTHS}): run `manage.py "
            f"audit_archive --before {before}` as the database owner"
        )

    def purge(self) -> str:
        result = children_purge_expired(today=self.today)
        return f"{len(result.public_ids)} child record(s) deleted whose retention had ended"

    def misuse_rules(self) -> str:
        day = self.today - timedelta(days=1)
        return f"{flags_raise_for_day(day=day)} new flag(s) for {day.isoformat()}"

    def vetting_reminders(self) -> str:
        if not email_on():
            return "none sent: e-mail is off"
        reminded, told = vetting_reminders_queue(today=self.today)
        return f"{reminded} user(s) reminded that their access lapses soon, {told} admin(s) told"

    def email(self) -> str:
        if not email_on():
            return "off (neither EMAIL_URL nor GOVUK_NOTIFY_API_KEY is set)"
        now = timezone.now()
        counts = outbox_send_due(now=now, limit=NIGHTLY_SEND_LIMIT)
        pruned = outbox_prune(now=now)
        return f"{counts}; {pruned} old message(s) deleted"

    def verify(self) -> str:
        previous = checkpoint_latest(directory=self.checkpoint_dir)
        checkpoint = None
        if previous is not None:
            try:
                checkpoint = checkpoint_read(path=previous)
            except CheckpointUnreadable as error:
                raise PartFailed(f"cannot read the last checkpoint {previous}: {error}") from None
        verdict = verify_chain(checkpoint=checkpoint)
        self.verdict = verdict
        against = (
            f"against {previous.name} (position {checkpoint.position})"
            if previous is not None and checkpoint is not None
            else "with no checkpoint before (a first run)"
        )
        if not verdict.ok:
            raise PartFailed(f"chain BROKEN {verdict.broken_at}: {verdict.problem}; {against}")
        head = f"up to position {verdict.head.position}" if verdict.head else "(empty trail)"
        return f"chain intact, {verdict.events} event(s) {head}, {against}"

    def checkpoint(self) -> str:
        if self.verdict is None or not self.verdict.ok:
            raise PartFailed("not written: the chain did not verify")
        if self.verdict.head is None:
            return "not written: the audit trail is empty"
        path = checkpoint_write(
            directory=self.checkpoint_dir, head=self.verdict.head, taken_at=timezone.now()
        )
        return f"position {self.verdict.head.position} written to {path}"
