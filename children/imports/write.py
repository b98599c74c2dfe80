"""Writing: a plan's children, source links and involvements, in bulk (COPY on PostgreSQL)."""

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery

from children.identifiers import new_public_id
from children.imports.plan import _involvement_values, _organisation_key, _Plan
from children.imports.register import _INVOLVEMENT_FIELDS, _chunks, _within
from children.imports.rows import BATCH_SIZE
from children.models import Child, Involvement, Name, SourceRecord

# --- Writing -----------------------------------------------------------------------------
# Bulk statements only: bulk_create, bulk_update, update() and PostgreSQL's COPY send no
# model signals, so django-auditlog keeps no per-row change history of imported rows. That
# is deliberate: the import is audited as one RECORD_IMPORT event instead. (New partner
# agencies go through accounts.services and do get their history.)


def _write_children(*, plan: _Plan, source: str, now: datetime) -> None:
    new = [incoming.child for incoming in plan.new_children]
    ids = _insert(
        Child,
        [
            "public_id",
            "nhs_number",
            "date_of_birth",
            "sex",
            "shielded",
            "shielding_reason",
            "created_at",
            "updated_at",
            "retention_ends_on",
        ],
        [
            (
                public_id,
                child.nhs_number,
                child.date_of_birth,
                child.sex,
                False,
                "",
                now,
                now,
                child.retention_ends_on,
            )
            for child, public_id in zip(new, _unused_public_ids(len(new)), strict=True)
        ],
        returning_ids=True,
    )
    for child, pk in zip(new, ids, strict=True):
        child.pk = pk
    Child.objects.bulk_update(
        [
            Child(
                pk=child.pk,
                nhs_number=child.nhs_number,
                date_of_birth=child.date_of_birth,
                sex=child.sex,
                retention_ends_on=child.retention_ends_on,
                updated_at=now,
            )
            for child in plan.changed_children
        ],
        ["nhs_number", "date_of_birth", "sex", "retention_ends_on", "updated_at"],
        batch_size=BATCH_SIZE,
    )
    # Names carry their child's date of birth as a search key: keep them in step.
    for chunk in _chunks([child.pk for child in plan.changed_children]):
        Name.objects.filter(_within("child_id", chunk)).update(
            date_of_birth=Subquery(
                Child.objects.filter(pk=OuterRef("child_id")).values("date_of_birth")[:1]
            )
        )
    Child.objects.bulk_update(
        [
            Child(pk=child.pk, retention_ends_on=child.retention_ends_on)
            for child in plan.retention_changed
        ],
        ["retention_ends_on"],
        batch_size=BATCH_SIZE,
    )
    _insert(
        SourceRecord,
        ["source", "source_ref", "child_id"],
        [(source, ref, incoming.child.pk) for ref, incoming in plan.source_records],
    )


def _write_involvements(*, plan: _Plan, source: str, now: datetime) -> None:
    releasing, taking = [], []
    for pk, row in plan.changed_involvements:
        values = _involvement_values(row, plan.organisations[_organisation_key(row)])
        involvement = Involvement(
            pk=pk, confirmed_at=now, **dict(zip(_INVOLVEMENT_FIELDS, values, strict=True))
        )
        (taking if row.is_open_lead else releasing).append(involvement)
    # A child's open lead professional is unique: release the old one before taking it.
    fields = [*_INVOLVEMENT_FIELDS, "confirmed_at"]
    Involvement.objects.bulk_update(releasing, fields, batch_size=BATCH_SIZE)
    Involvement.objects.bulk_update(taking, fields, batch_size=BATCH_SIZE)
    for chunk in _chunks(plan.confirmed_involvements):
        Involvement.objects.filter(_within("pk", chunk)).update(confirmed_at=now)
    _insert(
        Involvement,
        ["child_id", *_INVOLVEMENT_FIELDS, "source", "source_id", "confirmed_at", "created_at"],
        [
            (
                incoming.child.pk,
                *_involvement_values(row, plan.organisations[_organisation_key(row)]),
                source,
                row.involvement_ref,
                now,
                now,
            )
            for incoming, row in plan.new_involvements
        ],
    )


def _insert(
    model: Any, fields: list[str], rows: list[tuple], *, returning_ids: bool = False
) -> list[int]:
    """Inserts rows of values for `fields` (attribute names); returns their ids if asked.

    PostgreSQL gets COPY, several times faster than INSERT for big imports, with ids
    taken from the table's sequence beforehand; other databases get bulk_create.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=BATCH_SIZE
        )
        return [instance.pk for instance in created] if returning_ids else []
    from psycopg import sql

    table = model._meta.db_table
    ids: list[int] = []
    columns = [model._meta.get_field(name).column for name in fields]
    with connection.cursor() as cursor:
        if returning_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
            columns.insert(0, model._meta.pk.column)
            rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    return ids


def _unused_public_ids(count: int) -> list[str]:
    chosen: set[str] = set()
    while len(chosen) < count:
        candidates = {new_public_id() for _ in range(count - len(chosen))} - chosen
        for chunk in _chunks(list(candidates)):
            candidates.difference_update(
                Child.objects.filter(_within("public_id", chunk)).values_list(
                    "public_id", flat=True
                )
            )
        chosen |= candidates
    return list(chosen)
