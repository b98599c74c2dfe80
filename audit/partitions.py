"""Monthly partitions of the audit trail on PostgreSQL (docs/decisions/0011).

The events, their child links and their seals are partitioned by calendar month (UTC) of
the event's `occurred_at`: a seal and a child link live in their event's month, so a month
of the trail is three partitions that can be archived and dropped together
(audit.archive). The partitions are in the schema `audit_partitions`, to which the app's
database role has no access: it reads and appends through the parent tables only, which
give it SELECT and INSERT (audit.db_roles).

Partitions are made ahead of time, `MONTHS_AHEAD` months beyond the current one, by the
SQL function audit_make_partitions() (migration 0015), which runs as the tables' owner
(SECURITY DEFINER) so that the sealer and the nightly run, connected as the app role, can
call it: the sealer when it takes the sealer lock and every hour after, `nightly` every
night. An event whose month has no partition cannot be written, so the lookup that
records it fails closed: /healthz reports it long before (`audit_partitions`), as soon as
next month's partition is missing.

SQLite keeps single tables: none of this applies there.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection

SCHEMA = "audit_partitions"
# The tables partitioned, referenced table first.
TABLES = ("audit_auditevent", "audit_auditeventchild", "audit_auditseal")
MONTHS_AHEAD = 3


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in UTC: the unit of partitioning and of archiving."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """From "YYYY-MM"; ValueError with a reason if it is not one."""
        try:
            year, month = (int(part) for part in text.split("-"))
        except ValueError:
            raise ValueError(f"{text!r} is not a month written YYYY-MM") from None
        if not (1 <= month <= 12 and 2000 <= year <= 9998):
            raise ValueError(f"{text!r} is not a month written YYYY-MM")
        return cls(year, month)

    @classmethod
    def of(cls, moment: datetime | date) -> "Month":
        if isinstance(moment, datetime):
            moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    @property
    def start(self) -> datetime:
        """Its first instant (UTC)."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def plus(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def suffix(self) -> str:
        return f"{self.year:04d}_{self.month:02d}"


def partition_name(table: str, month: Month) -> str:
    """The partition of `table` for `month` (in SCHEMA), as audit_make_partitions() names it."""
    return f"{table}_{month.suffix()}"


def partitioned() -> bool:
    """Whether this database partitions the trail (PostgreSQL, after migration 0015)."""
    return connection.vendor == "postgresql"


def ensure_partitions(*, first: Month | None = None, ahead: int = MONTHS_AHEAD) -> int:
    """Makes any missing partition from `first` (default: this month) to `ahead` months
    after this one; returns how many tables it made (0 on SQLite)."""
    if not partitioned():
        return 0
    this_month = Month.of(datetime.now(UTC))
    first = min(first or this_month, this_month)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT audit_make_partitions(%s, %s)",
            [first.start.date(), this_month.plus(ahead).start.date()],
        )
        (made,) = cursor.fetchone()
    return made


def months() -> list[Month]:
    """The months that have partitions of the events (empty on SQLite)."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname = %s AND p.relnamespace = 'public'::regnamespace",
            [TABLES[0]],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        year, month = name.removeprefix(f"{TABLES[0]}_").split("_")
        found.append(Month(int(year), int(month)))
    return sorted(found)


def detach_and_drop(month: Month) -> None:
    """Detaches and drops the month's three partitions, inside the caller's transaction.
    For audit.archive, once the month is archived (it makes sure first that no event of the
    month waits in the sealer's queue). Needs the tables' owner."""
    with connection.cursor() as cursor:
        for table in reversed(TABLES):
            name = f"{SCHEMA}.{partition_name(table, month)}"
            cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE {name}")


def missing_ahead(*, now: datetime | None = None) -> list[Month]:
    """This month and next month, where either has no partition: what /healthz reports.
    (Empty on SQLite.)"""
    if not partitioned():
        return []
    this_month = Month.of(now or datetime.now(UTC))
    have = set(months())
    return [month for month in (this_month, this_month.next()) if month not in have]
