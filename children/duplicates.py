"""Probable duplicates: finding them, holding imported rows that look like one, merging records.

A child is a probable duplicate of another when both have the same NHS number,
or when they were born on the same day (or its day/month swap) and any of
their recorded names (current, previous, alias, preferred) are alike: the
names-only score below, on the search keys every Name row carries. Every query
is an indexed lookup (the NHS number's unique index, the names' date-of-birth
block), never a scan of the register.
"""

import functools
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

from audit.models import Action
from audit.services import record
from children.imports import ImportReport, import_rows
from children.matching import dob_variants, name_keys, similarity
from children.models import (
    Address,
    Child,
    HeldRow,
    Involvement,
    MergedChild,
    Name,
    NameKind,
    Sex,
    SourceRecord,
)
from children.services import child_refresh_retention

# Names-only score: family name weighs more than the first given name.
FAMILY_WEIGHT = 0.6
GIVEN_WEIGHT = 0.4
# A child whose best names score reaches this (and whose date of birth is the same
# or its day/month swap) is a probable duplicate.
NAMES_ALIKE = 0.85
# How many dates go in one IN (...) query.
DATES_PER_QUERY = 2_000

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Person:
    """Who to look for: a date of birth and every name known, as (given_names, family_name)."""

    date_of_birth: date
    names: Sequence[tuple[str, str]]


@functools.lru_cache(maxsize=65_536)
def _alike(a: str, b: str) -> float:
    # Imports compare thousands of names, most of them common ones: each pair once.
    return similarity(a, b)


def names_score(family_key: str, given_key: str, other_family: str, other_given: str) -> float:
    """0..1: how alike two names are, by their search keys (children.matching.name_keys).

    Both parts must be alike on their own: twins share a birthday and a family name,
    and "Kwame Okafor" is not a second record of "Amelia Okafor".
    """
    family = _alike(family_key, other_family)
    if family < NAMES_ALIKE:
        return 0.0
    if not given_key or not other_given:
        return family  # no given name on one side: the family name decides alone
    given = _alike(given_key, other_given)
    if given < NAMES_ALIKE:
        return 0.0
    return family * FAMILY_WEIGHT + given * GIVEN_WEIGHT


def _keys(names: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    keys: dict[tuple[str, str], None] = {}
    for given_names, family_name in names:
        found = name_keys(given_names=given_names or "", family_name=family_name or "")
        if found["family_key"]:
            keys[(found["family_key"], found["given_key"])] = None
    return list(keys)


def _alike_indexes(key: str, keys: Sequence[str]) -> set[int]:
    """Positions in `keys` of the names alike to `key`, as children.matching.similarity
    judges them (Jaro-Winkler, or a single slip)."""
    found = {
        index
        for _, _, index in process.extract(
            # Under the bar: the batched C scorer rounds differently near 0.85, and
            # names_score has the last word on every name found here.
            key,
            keys,
            scorer=JaroWinkler.similarity,
            score_cutoff=NAMES_ALIKE - 0.01,
            limit=None,
        )
    }
    found.update(
        index
        for _, _, index in process.extract(
            key, keys, scorer=OSA.distance, score_cutoff=1, limit=None
        )
    )
    return found


def probable_duplicate_ids(people: Mapping[K, Person]) -> dict[K, list[int]]:
    """For each person, the ids of children on the register born the same day (or its
    day/month swap) with a name alike, best first. Persons with none are left out.

    One query per DATES_PER_QUERY distinct dates of birth, whatever the number of
    people: imports check thousands of new children at once.
    """
    close_dates: dict[K, frozenset[date]] = {}
    for key, person in people.items():
        close_dates[key] = dob_variants(person.date_of_birth)[0]
    dates = sorted(set().union(*close_dates.values())) if close_dates else []
    names_on: dict[date, list[tuple[int, str, str]]] = defaultdict(list)
    for start in range(0, len(dates), DATES_PER_QUERY):
        chunk = dates[start : start + DATES_PER_QUERY]
        for dob, child_id, family_key, given_key in (
            Name.objects.filter(date_of_birth__in=chunk)
            .order_by()
            .values_list("date_of_birth", "child_id", "family_key", "given_key")
        ):
            names_on[dob].append((child_id, family_key, given_key))
    found: dict[K, list[int]] = {}
    for key, person in people.items():
        recorded = [name for dob in close_dates[key] for name in names_on.get(dob, ())]
        if not recorded:
            continue
        families = [other_family for _, other_family, _ in recorded]
        best: dict[int, float] = {}
        for family_key, given_key in _keys(person.names):
            # The family names alike, found in C over the whole block (a block at a
            # million children holds a few hundred names); then the full score on those.
            for index in _alike_indexes(family_key, families):
                child_id, other_family, other_given = recorded[index]
                value = names_score(family_key, given_key, other_family, other_given)
                if value >= NAMES_ALIKE and value > best.get(child_id, 0.0):
                    best[child_id] = value
        if best:
            found[key] = sorted(best, key=lambda child_id: (-best[child_id], child_id))
    return found


def probable_duplicates(
    *,
    date_of_birth: date,
    names: Sequence[tuple[str, str]],
    nhs_number: str | None = None,
    exclude_child_ids: Collection[int] = (),
) -> list[Child]:
    """The children on the register that are probably this child: the NHS number's
    holder first, then by how alike the names are."""
    ids: list[int] = []
    if nhs_number:
        ids.extend(Child.objects.filter(nhs_number=nhs_number).values_list("pk", flat=True))
    person = Person(date_of_birth=date_of_birth, names=list(names))
    for child_id in probable_duplicate_ids({0: person}).get(0, []):
        if child_id not in ids:
            ids.append(child_id)
    excluded = set(exclude_child_ids)
    ids = [child_id for child_id in ids if child_id not in excluded]
    children = Child.objects.in_bulk(ids)
    return [children[child_id] for child_id in ids if child_id in children]


# --- Merging -----------------------------------------------------------------------------


def merged_from_any(*, old_public_ids: Collection[str], survivor_public_id: str) -> bool:
    """Whether any of the old public ids was merged into this record (one query)."""
    return MergedChild.objects.filter(
        old_public_id__in=old_public_ids, survivor__public_id=survivor_public_id
    ).exists()


def merged_into(public_id: str) -> str | None:
    """The public id of the record that a merged-away public id now lives in."""
    return (
        MergedChild.objects.filter(old_public_id=public_id)
        .values_list("survivor__public_id", flat=True)
        .first()
    )


@transaction.atomic
def children_merge(
    *, survivor: Child, duplicate: Child, request: HttpRequest | None = None
) -> Child:
    """Moves everything the duplicate record holds onto the survivor and deletes it.

    Names: the duplicate's current name becomes a previous name of the survivor;
    a name the survivor already has (same words) is not repeated. Addresses: the
    duplicate's current address is closed (today, or its start if later) when the
    survivor has a current address, else it becomes the survivor's. Involvements:
    if both have an open lead professional, the moved one stops being the lead.
    Source links, and the NHS number, sex and shielding when the survivor has none,
    come across. The old public id keeps leading to the survivor (merged_into).
    """
    if survivor.pk == duplicate.pk:
        raise ValidationError("A record cannot be merged with itself.")
    # Lock both rows: two data managers merging the same records queue here.
    locked = Child.objects.select_for_update().in_bulk([survivor.pk, duplicate.pk])
    if len(locked) != 2:
        raise ValidationError("One of the records is no longer on the register.")
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    if survivor.nhs_number and duplicate.nhs_number and survivor.nhs_number != duplicate.nhs_number:
        raise ValidationError(
            "The records have different NHS numbers, so they are not the same child."
        )
    counts = {
        "names": _move_names(survivor=survivor, duplicate=duplicate),
        "addresses": _move_addresses(survivor=survivor, duplicate=duplicate),
        "involvements": _move_involvements(survivor=survivor, duplicate=duplicate),
        "source_records": SourceRecord.objects.filter(child=duplicate).update(child=survivor),
    }
    _take_details(survivor=survivor, duplicate=duplicate)
    MergedChild.objects.filter(survivor=duplicate).update(survivor=survivor)
    MergedChild.objects.create(old_public_id=duplicate.public_id, survivor=survivor)
    merged_public_id = duplicate.public_id
    duplicate.delete()
    child_refresh_retention(child=survivor)
    record(
        request=request,
        action=Action.RECORD_MERGE,
        children=[survivor.public_id, merged_public_id],
        detail={"survivor": survivor.public_id, "merged": merged_public_id, **counts},
    )
    return survivor


def _move_names(*, survivor: Child, duplicate: Child) -> int:
    held = {(name.given_names, name.family_name) for name in survivor.names.all()}
    moved = 0
    for name in duplicate.names.order_by("pk"):
        words = (name.given_names, name.family_name)
        if words in held:
            name.delete()  # the survivor already has this name: nothing is lost
            continue
        if name.kind == NameKind.CURRENT:
            name.kind = NameKind.PREVIOUS
        name.child = survivor
        name.save()  # sets the search keys, with the survivor's date of birth
        held.add(words)
        moved += 1
    return moved


def _move_addresses(*, survivor: Child, duplicate: Child) -> int:
    if survivor.addresses.filter(moved_out_on__isnull=True).exists():
        current = duplicate.addresses.filter(moved_out_on__isnull=True).first()
        if current is not None:
            current.moved_out_on = max(current.moved_in_on, timezone.localdate())
            current.save(update_fields=["moved_out_on"])
    return Address.objects.filter(child=duplicate).update(child=survivor)


def _move_involvements(*, survivor: Child, duplicate: Child) -> int:
    open_lead = {"lead_professional": True, "ended_on__isnull": True}
    if survivor.involvements.filter(**open_lead).exists():
        duplicate.involvements.filter(**open_lead).update(lead_professional=False)
    return Involvement.objects.filter(child=duplicate).update(child=survivor)


def _take_details(*, survivor: Child, duplicate: Child) -> None:
    fields = []
    if not survivor.nhs_number and duplicate.nhs_number:
        survivor.nhs_number = duplicate.nhs_number
        # The number is unique on the register: the duplicate gives it up first.
        Child.objects.filter(pk=duplicate.pk).update(nhs_number=None)
        fields.append("nhs_number")
    if survivor.sex == Sex.UNKNOWN and duplicate.sex != Sex.UNKNOWN:
        survivor.sex = duplicate.sex
        fields.append("sex")
    if duplicate.shielded and not survivor.shielded:
        # Shielding protects the child: a merge never drops it.
        survivor.shielded = True
        survivor.shielding_reason = duplicate.shielding_reason
        survivor.shielded_by_id = duplicate.shielded_by_id
        fields += ["shielded", "shielding_reason", "shielded_by"]
    if fields:
        survivor.save(update_fields=[*fields, "updated_at"])


# --- Held rows ---------------------------------------------------------------------------


class HeldRowNotImported(Exception):
    """The held rows could not be imported (the import refused them): nothing changed."""

    def __init__(self, report: ImportReport):
        super().__init__("the held rows were refused")
        self.report = report


def held_row_candidates(held: HeldRow) -> list[Child]:
    """The children a held row looked like, following merges; gone ones left out."""
    public_ids = []
    for public_id in held.candidates:
        public_id = merged_into(public_id) or public_id
        if public_id not in public_ids:
            public_ids.append(public_id)
    children = Child.objects.in_bulk(public_ids, field_name="public_id")
    return [children[public_id] for public_id in public_ids if public_id in children]


def held_row_resolve(
    *,
    held: HeldRow,
    resolution: str,
    child: Child | None = None,
    request: HttpRequest | None = None,
) -> ImportReport:
    """Applies a data manager's decision about held rows, all or nothing.

    "different": the rows are imported as a new child. "merged": the held child_ref
    is attached to `child` and the rows are imported onto it. Raises ValidationError
    for a decision that cannot apply, HeldRowNotImported if the import refuses the
    rows (recorded, and nothing else changes).
    """
    if resolution not in (HeldRow.Resolution.DIFFERENT, HeldRow.Resolution.MERGED):
        raise ValidationError("Choose whether this is a different child or the same child.")
    if resolution == HeldRow.Resolution.MERGED and child is None:
        raise ValidationError("Choose which child on the register this is.")
    try:
        with transaction.atomic():
            return _resolve(held=held, resolution=resolution, child=child, request=request)
    except HeldRowNotImported as refused:
        with transaction.atomic():
            record(
                request=request,
                action=Action.RECORD_CHANGE,
                outcome="refused",
                children=[child] if child is not None else [],
                detail={
                    "change": "held_rows_resolved",
                    "held_row": held.pk,
                    "resolution": resolution,
                    "errors": len(refused.report.errors),
                },
            )
        raise


def _resolve(
    *, held: HeldRow, resolution: str, child: Child | None, request: HttpRequest | None
) -> ImportReport:
    held = HeldRow.objects.select_for_update().filter(pk=held.pk).first()
    if held is None or not held.is_pending:
        raise ValidationError("These rows have already been dealt with.")
    numbers = {str(row.get("nhs_number") or "").replace(" ", "") for row in held.rows} - {""}
    if resolution == HeldRow.Resolution.DIFFERENT and (
        numbers and Child.objects.filter(nhs_number__in=numbers).exists()
    ):
        raise ValidationError(
            "The rows give the NHS number of a child on the register, so they are not a "
            "different child: choose that child, or have the source correct the NHS number."
        )
    if resolution == HeldRow.Resolution.MERGED:
        if child.nhs_number and numbers and numbers != {child.nhs_number}:
            raise ValidationError(
                "The rows give a different NHS number from the chosen child's: they are not "
                "the same child."
            )
        if SourceRecord.objects.filter(source=held.source, source_ref=held.child_ref).exists():
            raise ValidationError("This child_ref is already linked to a record.")
        SourceRecord.objects.create(source=held.source, source_ref=held.child_ref, child=child)
    report = import_rows(
        rows=held.rows, source=held.source, request=request, accept_as_new=[held.child_ref]
    )
    if report.refused:
        raise HeldRowNotImported(report)
    target = child or SourceRecord.objects.get(source=held.source, source_ref=held.child_ref).child
    user = getattr(request, "user", None)
    held.resolution = resolution
    held.resolved_at = timezone.now()
    held.resolved_by_id = user.pk if user is not None and user.is_authenticated else None
    held.rows = []  # what they said is on the register now
    held.save(update_fields=["resolution", "resolved_at", "resolved_by_id", "rows"])
    record(
        request=request,
        action=Action.RECORD_MERGE
        if resolution == HeldRow.Resolution.MERGED
        else Action.RECORD_CHANGE,
        children=[target],
        detail={
            "change": "held_rows_resolved",
            "held_row": held.pk,
            "resolution": resolution,
            "source": held.source,
            "child": target.public_id,
        },
    )
    return report
