"""Holding for review: new child_refs that look like a child on the register, kept as HeldRows."""

from dataclasses import dataclass, field
from datetime import datetime

from children.imports.collect import _ChildIn
from children.imports.register import _chunks, _within
from children.imports.rows import COLUMNS, ParsedFile
from children.models import Child, HeldRow, SourceRecord


@dataclass(slots=True)
class _HeldIn:
    incoming: _ChildIn
    candidates: list[int]  # ids of the children on the register it looks like, best first
    # A child_ref earlier in the same file that this one is probably the same child as.
    same_as_ref: str | None = None


@dataclass
class _Holding:
    held: dict[str, _HeldIn] = field(default_factory=dict)  # child_ref -> its rows, held
    pending: dict[str, int] = field(default_factory=dict)  # child_ref -> unresolved HeldRow id


# The columns that describe the child rather than one involvement: when held rows are
# sent again, the newest rows' values of these apply to the rows kept from before.
_CHILD_COLUMNS = ("given_names", "family_name", "date_of_birth", "sex")


def _hold(*, children: dict[str, _ChildIn], source: str, accept_as_new: frozenset[str]) -> _Holding:
    """Takes out of `children` the new child_refs that must wait for a data manager: those
    that look like a child on the register, and those already waiting."""
    from children.probable_duplicates import probable_duplicate_ids, within

    holding = _Holding()
    for ref, incoming in list(children.items()):
        if incoming.held_for is not None:
            holding.held[ref] = _HeldIn(incoming=incoming, candidates=[incoming.held_for])
            del children[ref]
    new = {
        ref: incoming
        for ref, incoming in children.items()
        if incoming.child is None and ref not in accept_as_new
    }
    if holding.held:
        for chunk in _chunks(list(holding.held)):
            holding.pending.update(
                HeldRow.objects.filter(
                    _within("child_ref", chunk), source=source, resolved_at__isnull=True
                ).values_list("child_ref", "pk")
            )
    if not new:
        return holding
    for chunk in _chunks(list(new)):
        holding.pending.update(
            HeldRow.objects.filter(
                _within("child_ref", chunk), source=source, resolved_at__isnull=True
            ).values_list("child_ref", "pk")
        )
    people = {ref: _person(incoming) for ref, incoming in new.items()}
    found = probable_duplicate_ids(people)
    # New children of this file that are probably one listed before them in it: held too,
    # beside that child (or what that child was held for).
    same_as = within(people)
    for ref, incoming in new.items():
        earlier = same_as.get(ref)
        if ref in found or ref in holding.pending:
            holding.held[ref] = _HeldIn(incoming=incoming, candidates=found.get(ref, []))
        elif earlier is not None:
            before = holding.held.get(earlier)
            holding.held[ref] = _HeldIn(
                incoming=incoming,
                candidates=list(before.candidates) if before else [],
                same_as_ref=None if before else earlier,
            )
    for ref in holding.held:
        children.pop(ref, None)
    return holding


def _person(incoming: _ChildIn):
    from children.probable_duplicates import Person

    latest = max(incoming.rows, key=lambda row: (row.address.since, row.number))
    return Person(
        date_of_birth=incoming.first.date_of_birth,
        names=[(incoming.first.given_names, incoming.first.family_name), *incoming.other_names],
        postcode=latest.address.postcode or "",
        sex=incoming.first.sex or "",
        nhs_number=incoming.nhs_number or "",
    )


def _write_held(*, held: _Holding, parsed: ParsedFile, source: str, now: datetime) -> None:
    """Stores held rows as they were given; rows held before for the same child_ref are
    updated, not repeated."""
    if not held.held:
        return
    numbers = {row.number for held_in in held.held.values() for row in held_in.incoming.rows}
    values_of = {row.number: row.values for row in parsed.rows if row.number in numbers}
    ids = {child_id for held_in in held.held.values() for child_id in held_in.candidates}
    public_ids = dict(Child.objects.filter(pk__in=ids).values_list("pk", "public_id"))
    # Held beside a child of the same file, created by this import a moment ago.
    earlier = dict(
        SourceRecord.objects.filter(
            source=source,
            source_ref__in=[h.same_as_ref for h in held.held.values() if h.same_as_ref],
        ).values_list("source_ref", "child__public_id")
    )
    pending = HeldRow.objects.select_for_update().in_bulk(list(held.pending.values()))
    for ref, held_in in held.held.items():
        rows = [
            {column: str(values_of[row.number].get(column, "")) for column in COLUMNS}
            for row in held_in.incoming.rows
        ]
        latest = max(held_in.incoming.rows, key=lambda row: (row.address.since, row.number))
        values = {
            "local_authority_id": latest.address.local_authority_id,
            "candidates": [public_ids[pk] for pk in held_in.candidates if pk in public_ids]
            + ([earlier[held_in.same_as_ref]] if held_in.same_as_ref in earlier else []),
            "updated_at": now,
        }
        existing = pending.get(held.pending.get(ref))
        if existing is None:
            HeldRow.objects.create(
                source=source, child_ref=ref, rows=rows, created_at=now, **values
            )
            continue
        for name, value in values.items():
            setattr(existing, name, value)
        existing.rows = _merged_rows(existing.rows, rows)
        existing.save()


def _merged_rows(before: list[dict], rows: list[dict]) -> list[dict]:
    """The rows held before, with those for the same involvements replaced by the new ones
    and the child's own columns as the new rows give them."""
    newest = rows[0]
    refs = {row.get("involvement_ref") for row in rows}
    kept = []
    for row in before:
        if not isinstance(row, dict) or row.get("involvement_ref") in refs:
            continue
        row = {**row, **{column: newest.get(column, "") for column in _CHILD_COLUMNS}}
        if newest.get("nhs_number"):
            row["nhs_number"] = newest["nhs_number"]
        kept.append(row)
    return [*kept, *rows]
