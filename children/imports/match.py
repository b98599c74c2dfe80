"""Matching: finds each child_ref's child on the register and refuses what would break its rules."""

from collections.abc import Mapping

from children.imports.collect import _ChildIn
from children.imports.register import _Register
from children.imports.rows import RowError


def _match(
    *, children: Mapping[str, _ChildIn], register: _Register, source: str, errors: list[RowError]
) -> None:
    """Finds each child_ref's child on the register and refuses what would break its rules."""
    child_rows: dict[int, int] = {}
    matched: dict[str, int] = {}
    for ref, incoming in children.items():
        row = incoming.first.number
        known = register.ref_children.get(ref)
        holder = register.nhs_children.get(incoming.nhs_number) if incoming.nhs_number else None
        if holder is not None and holder != known and holder in register.not_managed:
            # Another area's record (or one shielded by another authority): not this
            # import's to match or to refuse. Its data managers decide (held rows).
            incoming.held_for = holder
            continue
        if known is not None and holder is not None and holder != known:
            errors.append(
                RowError(
                    row,
                    "nhs_number",
                    "Another child on the register has this NHS number: they may be the same "
                    "child, and a data manager needs to merge the records first.",
                )
            )
            continue
        child_id = known if known is not None else holder
        if child_id is not None:
            first = child_rows.setdefault(child_id, row)
            if first != row:
                errors.append(
                    RowError(
                        row,
                        "child_ref",
                        f"This is the same child on the register as row {first} (by NHS "
                        "number), under a different child_ref.",
                    )
                )
                continue
            incoming.attach = known is None
        matched[ref] = child_id
    register.load_children(list(child_rows))
    for ref, child_id in matched.items():
        incoming = children[ref]
        if child_id is not None:
            incoming.child = register.children[child_id]
            _check_against_register(
                incoming=incoming, register=register, source=source, errors=errors
            )
        for row in incoming.rows:
            held = register.involvements.get(row.involvement_ref)
            if held is not None and held[1] != child_id:
                errors.append(
                    RowError(
                        row.number,
                        "involvement_ref",
                        "The register holds this involvement for a different child: a data "
                        "manager needs to correct it before it can be imported.",
                    )
                )


def _check_against_register(
    *, incoming: _ChildIn, register: _Register, source: str, errors: list[RowError]
) -> None:
    child = incoming.child
    if incoming.attach and child.date_of_birth != incoming.first.date_of_birth:
        errors.append(
            RowError(
                incoming.first.number,
                "date_of_birth",
                "A child on the register has this NHS number but a different date of birth: "
                "check both records.",
            )
        )
    if incoming.open_lead_row is None:
        return
    file_refs = {row.involvement_ref for row in incoming.rows}
    if any(
        lead and ended_on is None and not (held_source == source and held_ref in file_refs)
        for _, _, ended_on, lead, held_source, held_ref in register.periods.get(child.pk, ())
    ):
        errors.append(
            RowError(
                incoming.open_lead_row,
                "lead_professional",
                "The child already has an open lead professional in another record: close "
                "that involvement first, or send no.",
            )
        )
