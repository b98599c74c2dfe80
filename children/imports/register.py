"""Reading the register: what it already holds about a file's children and involvements, in bulk."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import F, Lookup, Q

from accounts.models import Organisation
from children.imports.collect import _ChildIn
from children.imports.rows import QUERY_CHUNK
from children.models import Address, Child, Involvement, Name, SourceRecord


def _chunks(items: list) -> Iterator[list]:
    size = QUERY_CHUNK * (10 if connection.vendor == "postgresql" else 1)
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _AnyOf(Lookup):
    """`column = ANY(%s)` with the values as one array parameter (PostgreSQL).

    Not registered as a lookup: _within builds it. psycopg parses a query with
    thousands of IN (...) placeholders slowly, and `IN (SELECT unnest(...))`
    leaves the planner guessing the row count, which after a big import with
    stale statistics meant a nested loop taking minutes.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, list(self.rhs)]


def _within(field_name: str, values: list) -> Q:
    """`field IN values`, as one array parameter on PostgreSQL."""
    if connection.vendor == "postgresql":
        return Q(_AnyOf(F(field_name), values))
    return Q(**{f"{field_name}__in": values})


# What the register holds, as light records (model instances cost ten times more to build).


@dataclass(slots=True)
class _HeldChild:
    pk: int | None
    nhs_number: str | None
    date_of_birth: date
    sex: str
    retention_ends_on: date


@dataclass(slots=True)
class _HeldName:
    pk: int
    kind: str
    given_names: str
    family_name: str


@dataclass(slots=True)
class _HeldAddress:
    pk: int | None
    line_1: str
    postcode: str
    local_authority_id: int
    moved_in_on: date
    moved_out_on: date | None

    @property
    def details(self) -> tuple[str, str, int]:
        return (self.line_1, self.postcode, self.local_authority_id)


# Compared to see whether an involvement changed; confirmed_at is deliberately not here.
_INVOLVEMENT_FIELDS = (
    "service_id",
    "organisation_id",
    "practitioner_name",
    "practitioner_job_title",
    "practitioner_phone",
    "practitioner_email",
    "started_on",
    "ended_on",
    "lead_professional",
)


@dataclass
class _Register:
    """What the register already holds about the file's children and involvements."""

    ref_children: dict[str, int]  # child_ref -> child id (this source)
    nhs_children: dict[str, int]  # NHS number -> child id
    # involvement_ref -> (id, child id, *_INVOLVEMENT_FIELDS), for this source
    involvements: dict[str, tuple]
    children: dict[int, _HeldChild] = field(default_factory=dict)
    # Ids of the NHS numbers' holders that the importing area may not manage.
    not_managed: set[int] = field(default_factory=set)
    names: dict[int, list[_HeldName]] = field(default_factory=dict)
    addresses: dict[int, list[_HeldAddress]] = field(default_factory=dict)
    # child id -> [(involvement id, started_on, ended_on, lead_professional, source, source_id)]
    periods: dict[int, list[tuple]] = field(default_factory=dict)

    @classmethod
    def load(cls, *, children: Mapping[str, _ChildIn], source: str) -> "_Register":
        numbers = [child.nhs_number for child in children.values() if child.nhs_number]
        involvement_refs = [row.involvement_ref for c in children.values() for row in c.rows]
        ref_children: dict[str, int] = {}
        for chunk in _chunks(list(children)):
            ref_children.update(
                SourceRecord.objects.filter(
                    _within("source_ref", chunk), source=source
                ).values_list("source_ref", "child_id")
            )
        nhs_children: dict[str, int] = {}
        for chunk in _chunks(numbers):
            nhs_children.update(
                Child.objects.filter(_within("nhs_number", chunk)).values_list("nhs_number", "pk")
            )
        involvements: dict[str, tuple] = {}
        for chunk in _chunks(involvement_refs):
            held = Involvement.objects.filter(_within("source_id", chunk), source=source)
            for ref, *values in held.order_by().values_list(
                "source_id", "pk", "child_id", *_INVOLVEMENT_FIELDS
            ):
                involvements[ref] = tuple(values)
        return cls(ref_children=ref_children, nhs_children=nhs_children, involvements=involvements)

    def load_children(self, child_ids: list[int]) -> None:
        for chunk in _chunks(child_ids):
            for pk, *values in Child.objects.filter(_within("pk", chunk)).values_list(
                "pk", "nhs_number", "date_of_birth", "sex", "retention_ends_on"
            ):
                self.children[pk] = _HeldChild(pk, *values)
            for child_id, *values in (
                Name.objects.filter(_within("child_id", chunk))
                .order_by("pk")
                .values_list("child_id", "pk", "kind", "given_names", "family_name")
            ):
                self.names.setdefault(child_id, []).append(_HeldName(*values))
            for child_id, *values in (
                Address.objects.filter(_within("child_id", chunk))
                .order_by("pk")
                .values_list(
                    "child_id",
                    "pk",
                    "line_1",
                    "postcode",
                    "local_authority_id",
                    "moved_in_on",
                    "moved_out_on",
                )
            ):
                self.addresses.setdefault(child_id, []).append(_HeldAddress(*values))
            for child_id, *values in (
                Involvement.objects.filter(_within("child_id", chunk))
                .order_by()
                .values_list(
                    "child_id",
                    "pk",
                    "started_on",
                    "ended_on",
                    "lead_professional",
                    "source",
                    "source_id",
                )
            ):
                self.periods.setdefault(child_id, []).append(tuple(values))


def _not_managed_by(area: Organisation, child_ids: set[int]) -> set[int]:
    """Which of these children the area may not manage (children.access)."""
    from children.access import children_managed_by

    managed: set[int] = set()
    for chunk in _chunks(sorted(child_ids)):
        managed.update(
            children_managed_by(area=area).filter(_within("pk", chunk)).values_list("pk", flat=True)
        )
    return child_ids - managed
