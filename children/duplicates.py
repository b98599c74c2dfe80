"""Probable duplicates: finding them, holding imported rows that look like one, merging records.

A child is a probable duplicate of another when both have the same NHS number, or when the
match model finds them probably the same child (children.probable_duplicates: the model and
scorer the search uses, its blocks index lookups, twins and siblings never flagged).
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Organisation
from audit.models import Action
from audit.services import record
from children import access
from children.imports import ImportReport, import_rows
from children.matching.register import Pair
from children.merged import merged_into
from children.models import (
    Address,
    Child,
    HeldRow,
    Involvement,
    MergedChild,
    NameKind,
    ProbableDuplicate,
    Sex,
    SourceRecord,
)
from children.probable_duplicates import Person, probable_duplicate_ids
from children.services import child_refresh_retention, names_follow_address

__all__ = ["Person", "probable_duplicate_ids", "probable_duplicates"]


def probable_duplicates(
    *,
    date_of_birth: date,
    names: Sequence[tuple[str, str]],
    nhs_number: str | None = None,
    postcode: str = "",
    sex: str = "",
    exclude_child_ids: Collection[int] = (),
) -> list[Child]:
    """The children on the register that are probably this child: the NHS number's
    holder first, then by the match probability (a child with another NHS number is
    another child)."""
    ids: list[int] = []
    if nhs_number:
        ids.extend(Child.objects.filter(nhs_number=nhs_number).values_list("pk", flat=True))
    person = Person(
        date_of_birth=date_of_birth,
        names=list(names),
        postcode=postcode,
        sex=sex,
        nhs_number=nhs_number or "",
    )
    for child_id in probable_duplicate_ids({0: person}).get(0, []):
        if child_id not in ids:
            ids.append(child_id)
    excluded = set(exclude_child_ids)
    ids = [child_id for child_id in ids if child_id not in excluded]
    children = Child.objects.in_bulk(ids)
    return [children[child_id] for child_id in ids if child_id in children]


# --- Merging -----------------------------------------------------------------------------


# What a merge does with each relation to Child: a relation added later must be listed here
# (with its handling in children_merge) before any merge runs again, or its rows would
# silently go with the deleted duplicate (on_delete=CASCADE).
MERGE_RELATIONS = {
    ("children.Name", "child"): "moved (the duplicate's current name becomes a previous one)",
    ("children.Address", "child"): "moved (its current address closed if the survivor has one)",
    ("children.Involvement", "child"): "moved (one open lead professional kept)",
    ("children.SourceRecord", "child"): "moved",
    ("children.MergedChild", "survivor"): "moved (old ids keep leading to the survivor)",
    ("children.ProbableDuplicate", "child_a"): "deleted: the merge settles the pair",
    ("children.ProbableDuplicate", "child_b"): "deleted: the merge settles the pair",
}


class MergeNotSafe(RuntimeError):
    """Child has a relation the merge does not know how to move: merging would lose data."""


def unhandled_relations() -> list[str]:
    """The relations to Child (hidden ones too) that MERGE_RELATIONS does not cover."""
    relations = [
        field
        for field in Child._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and (field.one_to_many or field.one_to_one)
    ]
    return sorted(
        f"{relation.related_model._meta.label}.{relation.field.name}"
        for relation in relations
        if (relation.related_model._meta.label, relation.field.name) not in MERGE_RELATIONS
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
    if unknown := unhandled_relations():
        raise MergeNotSafe(f"children_merge does not know how to move {', '.join(unknown)}")
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
    names_follow_address(child_ids=[survivor.pk])
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


# --- The register-wide queue (manage.py find_duplicates) ----------------------------------


@dataclass(frozen=True)
class PairsStored:
    """What storing a run's pairs did: new pairs, pairs found again (their probability
    refreshed), pairs decided before (left as decided), open pairs no longer found (taken
    out of the queue)."""

    found: int
    new: int
    again: int
    decided_before: int
    gone: int


def probable_pairs_store(*, pairs: Sequence[Pair], model_version: str, now=None) -> PairsStored:
    """Puts a whole-register run's pairs into the queue, idempotently: the same run twice
    changes nothing but the times it was found. One transaction."""
    now = now or timezone.now()
    found = {(pair.child_a, pair.child_b): pair for pair in pairs}
    with transaction.atomic():
        existing = {
            (row.child_a_id, row.child_b_id): row
            for row in ProbableDuplicate.objects.select_for_update()
        }
        # A child purged since the run read the register has no pair.
        ids = sorted({child_id for key in found for child_id in key})
        alive: set[int] = set()
        for at in range(0, len(ids), 2_000):
            alive.update(
                Child.objects.filter(pk__in=ids[at : at + 2_000]).values_list("pk", flat=True)
            )
        new, again, decided_before = [], [], 0
        for key, pair in found.items():
            row = existing.get(key)
            if row is None:
                if key[0] in alive and key[1] in alive:
                    new.append(
                        ProbableDuplicate(
                            child_a_id=key[0],
                            child_b_id=key[1],
                            probability=pair.probability,
                            model_version=model_version,
                            found_at=now,
                            last_found_at=now,
                        )
                    )
            elif row.is_pending:
                row.probability, row.model_version, row.last_found_at = (
                    pair.probability,
                    model_version,
                    now,
                )
                again.append(row)
            else:
                decided_before += 1
        gone = [row.pk for key, row in existing.items() if row.is_pending and key not in found]
        ProbableDuplicate.objects.bulk_create(new, batch_size=2_000)
        ProbableDuplicate.objects.bulk_update(
            again, ["probability", "model_version", "last_found_at"], batch_size=2_000
        )
        for start in range(0, len(gone), 2_000):
            ProbableDuplicate.objects.filter(pk__in=gone[start : start + 2_000]).delete()
    return PairsStored(
        found=len(found),
        new=len(new),
        again=len(again),
        decided_before=decided_before,
        gone=len(gone),
    )


def probable_pairs_for_area(*, area: Organisation):
    """The open pairs of the area's queue: either child is one the area looks after (children.
    access.children_in_area), best first."""
    in_area = access.children_in_area(area=area).values("pk")
    return (
        ProbableDuplicate.objects.filter(decided_at__isnull=True)
        .filter(Q(child_a__in=in_area) | Q(child_b__in=in_area))
        .select_related("child_a", "child_b")
    )


def probable_pair_decide_different(
    *, pair: ProbableDuplicate, request: HttpRequest | None = None
) -> None:
    """A data manager's decision that the two records are different children: kept, so that
    no later run asks again; recorded."""
    with transaction.atomic():
        locked = ProbableDuplicate.objects.select_for_update().filter(pk=pair.pk).first()
        if locked is None or not locked.is_pending:
            raise ValidationError("This pair has already been decided.")
        user = getattr(request, "user", None)
        locked.decision = ProbableDuplicate.Decision.DIFFERENT
        locked.decided_at = timezone.now()
        locked.decided_by_id = user.pk if user is not None and user.is_authenticated else None
        locked.save(update_fields=["decision", "decided_at", "decided_by_id"])
        record(
            request=request,
            action=Action.RECORD_CHANGE,
            children=[locked.child_a.public_id, locked.child_b.public_id],
            detail={"change": "probable_duplicate_different", "pair": locked.pk},
        )
