"""Collecting rows by child_ref: what the file says about each child, refusing disagreements."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from children.imports.check import _AddressIn, _Row
from children.imports.rows import RowError

if TYPE_CHECKING:
    from children.imports.register import _HeldChild


@dataclass(slots=True)
class _ChildIn:
    """What the file says about one child_ref."""

    first: _Row
    nhs_number: str | None
    other_names: dict[tuple[str, str], None]
    addresses: dict[date, tuple[_AddressIn, int]]  # address_since -> (address, row)
    rows: list[_Row]
    open_lead_row: int | None
    # Filled in against the register (pk None: a child this import creates):
    child: "_HeldChild | None" = None
    attach: bool = False
    # The register's child with this NHS number, when the import's area may not manage it
    # (children.access): the rows wait for the area's data managers instead.
    held_for: int | None = None


def _collect(rows: Iterable[_Row], errors: list[RowError]) -> dict[str, _ChildIn]:
    """Groups rows by child_ref, refusing rows that disagree about the child."""
    children: dict[str, _ChildIn] = {}
    nhs_refs: dict[str, tuple[str, int]] = {}

    def claim_nhs(row: _Row) -> bool:
        ref, first = nhs_refs.setdefault(row.nhs_number, (row.child_ref, row.number))
        if ref != row.child_ref:
            errors.append(
                RowError(
                    row.number,
                    "nhs_number",
                    f"Row {first} gives the same NHS number for a different child_ref.",
                )
            )
            return False
        return True

    for row in rows:
        child = children.get(row.child_ref)
        if child is None:
            if row.nhs_number and not claim_nhs(row):
                continue
            children[row.child_ref] = _ChildIn(
                first=row,
                nhs_number=row.nhs_number,
                other_names=dict.fromkeys(row.other_names),
                addresses={row.address.since: (row.address, row.number)},
                rows=[row],
                open_lead_row=row.number if row.is_open_lead else None,
            )
            continue
        first = child.first
        disagreements = [
            column
            for column, theirs, ours in (
                ("date_of_birth", first.date_of_birth, row.date_of_birth),
                ("sex", first.sex, row.sex),
                ("given_names", first.given_names, row.given_names),
                ("family_name", first.family_name, row.family_name),
            )
            if theirs != ours
        ]
        if row.nhs_number and child.nhs_number and row.nhs_number != child.nhs_number:
            disagreements.insert(0, "nhs_number")
        for column in disagreements:
            errors.append(
                RowError(
                    row.number,
                    column,
                    f"Differs from row {first.number}, which has the same child_ref: "
                    "rows about one child must agree.",
                )
            )
        held = child.addresses.get(row.address.since)
        if held and held[0] != row.address:
            column = next(
                name
                for name, theirs, ours in (
                    ("address_line_1", held[0].line_1, row.address.line_1),
                    ("postcode", held[0].postcode, row.address.postcode),
                    ("local_authority", held[0].local_authority_id, row.address.local_authority_id),
                )
                if theirs != ours
            )
            errors.append(
                RowError(
                    row.number,
                    column,
                    f"Row {held[1]} gives a different address for the same child_ref and "
                    "address_since.",
                )
            )
            disagreements.append(column)
        if row.is_open_lead and child.open_lead_row is not None:
            errors.append(
                RowError(
                    row.number,
                    "lead_professional",
                    f"Row {child.open_lead_row} already makes an open involvement with this child "
                    "the lead professional: a child has one lead professional at a time.",
                )
            )
            disagreements.append("lead_professional")
        if row.nhs_number and not child.nhs_number and not claim_nhs(row):
            disagreements.append("nhs_number")
        if disagreements:
            continue
        child.nhs_number = child.nhs_number or row.nhs_number
        child.other_names.update(dict.fromkeys(row.other_names))
        child.addresses.setdefault(row.address.since, (row.address, row.number))
        child.rows.append(row)
        if row.is_open_lead:
            child.open_lead_row = row.number
    return children
