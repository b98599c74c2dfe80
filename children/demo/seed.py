"""children_seed: the demo register written in batches, COPY on PostgreSQL (bulk_create on
SQLite), one transaction a batch and one audit event a run."""

import csv
import queue
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organisation
from accounts.services import LOCAL_AUTHORITIES_CSV, partner_agency_get_or_create
from audit.models import Action
from audit.services import record
from children.demo.data import (
    ADDRESS_COLUMNS,
    BATCH_BLOCKS,
    BLOCK,
    CHILD_COLUMNS,
    DEMO_AREA_CHILDREN,
    INVOLVEMENT_COLUMNS,
    NAME_COLUMNS,
    OUTWARD_CODES,
    PARTNER_AGENCIES,
    PHONE_RANGES,
    POSTCODE_AREAS,
    SOURCE,
    SOURCE_COLUMNS,
    Area,
    Batch,
)
from children.demo.generator import ChildGenerator
from children.identifiers import new_public_id
from children.models import Address, Child, Involvement, Name, Service, SourceRecord


@dataclass(frozen=True)
class SeedResult:
    existing: int
    created: int
    names: int
    involvements: int
    moved: int
    shielded: int
    seconds: float

    @property
    def total(self) -> int:
        return self.existing + self.created


def demo_children_count() -> int:
    return SourceRecord.objects.filter(source=SOURCE).count()


def children_seed(
    *,
    count: int,
    seed: int,
    demo_area_codes: Sequence[str],
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeedResult:
    """Makes sure at least `count` demo children exist, creating the missing ones.

    Deterministic for a seed and a day: the children are numbered, and child i is
    the same whether created in one run or by topping up. Bulk writes skip model
    validation and change history; tests check that what is written would pass both.
    """
    began = time.monotonic()
    existing = demo_children_count()
    if existing >= count:
        return SeedResult(
            existing=existing,
            created=0,
            names=0,
            involvements=0,
            moved=0,
            shielded=0,
            seconds=time.monotonic() - began,
        )
    last = (
        SourceRecord.objects.filter(source=SOURCE)
        .order_by("-source_ref")
        .values_list("source_ref", flat=True)
        .first()
    )
    start = int(last) + 1 if last else 0
    stop = start + count - existing
    today = today or timezone.localdate()
    demo_areas = _areas(codes=demo_area_codes)
    # Every authority of the shipped list (not areas a test or an operator added).
    all_areas = _areas(codes=list(_regions())) if stop > DEMO_AREA_CHILDREN else demo_areas
    generator = ChildGenerator(
        seed=seed,
        today=today,
        demo_areas=demo_areas,
        all_areas=all_areas,
        service_ids=dict(Service.objects.values_list("code", "id")),
        now=timezone.now(),
    )
    writer = _PostgresWriter() if connection.vendor == "postgresql" else _OrmWriter()
    check_clashes = Child.objects.exists()
    batch_size = BLOCK * BATCH_BLOCKS.get(connection.vendor, 2)
    batches = (
        generator.batch(first, min(first + batch_size, stop))
        for first in range(start, stop, batch_size)
    )
    created = names = involvements = moved = shielded = 0
    for batch in _in_background(batches):
        with transaction.atomic():
            if check_clashes:
                _avoid_clashes(batch)
            writer.write(batch)
        created += len(batch.numbers)
        names += len(batch.names)
        involvements += len(batch.involvements)
        moved += batch.moved
        shielded += batch.shielded
        if progress is not None:
            progress(created, stop - start)
    with transaction.atomic():
        record(
            request=None,
            action=Action.RECORD_IMPORT,
            detail={
                "source": SOURCE,
                "synthetic": True,
                "seed": seed,
                "children": created,
                "involvements": involvements,
            },
        )
    return SeedResult(
        existing=existing,
        created=created,
        names=names,
        involvements=involvements,
        moved=moved,
        shielded=shielded,
        seconds=time.monotonic() - began,
    )


def _areas(*, codes: Sequence[str]) -> list[Area]:
    """The local authorities with these ONS codes, in code order, with their partner
    agencies (created if missing)."""
    regions = _regions()
    authorities = Organisation.objects.filter(
        kind=Organisation.Kind.LOCAL_AUTHORITY, ons_code__in=codes
    )
    agencies = {
        (agency.local_authority_id, agency.name): agency.pk
        for agency in Organisation.objects.filter(kind=Organisation.Kind.PARTNER_AGENCY)
    }
    areas = []
    for authority in authorities.order_by("ons_code"):
        organisations = {"la": authority.pk}
        for provider, template in PARTNER_AGENCIES.items():
            name = template.format(area=authority.name)
            pk = agencies.get((authority.pk, name))
            if pk is None:
                pk = partner_agency_get_or_create(name=name, local_authority=authority).pk
            organisations[provider] = pk
        region = regions.get(authority.ons_code, "East of England")
        slug = re.sub(r"[^a-z0-9]+", "-", authority.name.lower()).strip("-")
        areas.append(
            Area(
                id=authority.pk,
                code=authority.ons_code,
                organisations=organisations,
                outward_codes=OUTWARD_CODES.get(authority.ons_code)
                or _outward_codes(authority.ons_code, region),
                phone_ranges=PHONE_RANGES.get(region, ("01632 960",)),
                domains={
                    "la": f"{slug}.gov.example",
                    "health": f"{slug}-health.nhs.example",
                    "police": f"{slug}.police.example",
                    "schools": f"{slug}-schools.example",
                },
            )
        )
    if len(areas) != len(set(codes)):
        raise ValueError("Load the local authorities first (load_local_authorities)")
    return areas


@lru_cache(maxsize=1)
def _regions() -> dict[str, str]:
    with LOCAL_AUTHORITIES_CSV.open(newline="", encoding="utf-8") as handle:
        return {row["ons_code"]: row["region"] for row in csv.DictReader(handle)}


def _outward_codes(code: str, region: str) -> tuple[str, ...]:
    """A few plausible outward codes for an area: made up, but of its region's postcode areas."""
    rng = random.Random(zlib.crc32(code.encode()))
    letters = POSTCODE_AREAS.get(region, POSTCODE_AREAS["East of England"])
    home = rng.choice(letters)
    return tuple(
        f"{home if rng.random() < 0.7 else rng.choice(letters)}{rng.randint(1, 28)}"
        for _ in range(6)
    )


def _avoid_clashes(batch: Batch) -> None:
    """Gives a fresh public id to, and drops the NHS number of, any new child that would
    clash with a record already there (from an import, or seeded with another seed)."""
    public_ids = {row[1] for row in batch.children}
    nhs_numbers = {row[2] for row in batch.children if row[2]}
    taken_ids = _existing("public_id", public_ids)
    taken_nhs = _existing("nhs_number", nhs_numbers)
    if not taken_ids and not taken_nhs:
        return
    for index, row in enumerate(batch.children):
        public_id, nhs_number = row[1], row[2]
        if public_id in taken_ids:
            while public_id in public_ids or _existing("public_id", {public_id}):
                public_id = new_public_id()
            public_ids.add(public_id)
        if nhs_number in taken_nhs:
            nhs_number = None
        batch.children[index] = (row[0], public_id, nhs_number, *row[3:])


def _existing(column: str, values: set[str]) -> set[str]:
    """Which of the values some child already has in the column."""
    if connection.vendor == "postgresql":
        # One array parameter: an IN list of 20,000 parameters is slow to plan.
        with connection.cursor() as cursor:
            quote = connection.ops.quote_name
            cursor.execute(
                "SELECT {column} FROM {table} WHERE {column} = ANY(%s)".format(  # noqa: S608
                    column=quote(column), table=quote(Child._meta.db_table)
                ),
                [sorted(values)],
            )
            return {row[0] for row in cursor.fetchall()}
    found = set()
    for chunk in _chunks(sorted(values), 900):
        found.update(
            Child.objects.filter(**{f"{column}__in": chunk}).values_list(column, flat=True)
        )
    return found


def _chunks(items: list, size: int) -> Iterator[list]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


class _PostgresWriter:
    """COPY into the register's tables, children's ids reserved from their sequence."""

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Child._meta.db_table])
            self.sequence = cursor.fetchone()[0]

    def write(self, batch: Batch) -> None:
        with connection.cursor() as cursor:
            # Demo data: losing the last batches in a crash costs nothing.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                [self.sequence, len(batch.numbers)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            sources = [(slot, SOURCE, f"{n:08d}") for slot, n in enumerate(batch.numbers)]
            self._copy(cursor, Child, CHILD_COLUMNS, batch.children, ids)
            self._copy(cursor, Name, NAME_COLUMNS, batch.names, ids)
            self._copy(cursor, Address, ADDRESS_COLUMNS, batch.addresses, ids)
            self._copy(cursor, Involvement, INVOLVEMENT_COLUMNS, batch.involvements, ids)
            self._copy(cursor, SourceRecord, SOURCE_COLUMNS, sources, ids)

    @staticmethod
    def _copy(cursor, model, columns: Sequence[str], rows: list[tuple], ids: list[int]) -> None:
        quote = connection.ops.quote_name
        statement = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table), ", ".join(quote(column) for column in columns)
        )
        with cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row((ids[row[0]], *row[1:]))


class _OrmWriter:
    """bulk_create, for SQLite: correct rather than fast."""

    def write(self, batch: Batch) -> None:
        children = Child.objects.bulk_create(
            Child(**dict(zip(CHILD_COLUMNS[1:], row[1:], strict=True))) for row in batch.children
        )
        ids = [child.pk for child in children]
        sources = [(slot, SOURCE, f"{n:08d}") for slot, n in enumerate(batch.numbers)]
        for model, columns, rows in (
            (Name, NAME_COLUMNS, batch.names),
            (Address, ADDRESS_COLUMNS, batch.addresses),
            (Involvement, INVOLVEMENT_COLUMNS, batch.involvements),
            (SourceRecord, SOURCE_COLUMNS, sources),
        ):
            model.objects.bulk_create(
                (model(**dict(zip(columns, (ids[row[0]], *row[1:]), strict=True))) for row in rows),
                batch_size=500,
            )


def _in_background(batches: Iterator[Batch], depth: int = 2) -> Iterator[Batch]:
    """Yields the batches, generating the next ones in a thread meanwhile, so that Python
    makes rows while the database stores the previous batch."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        handoff.put(batch, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(done)
        except BaseException as error:  # re-raised in the consuming thread
            handoff.put(error)

    thread = threading.Thread(target=produce, name="seed-demo-generator", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
