"""Planning: every insert and update an import makes, without writing (a dry run stops there)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q

from accounts.models import Organisation
from children.imports.check import _AddressIn, _Row
from children.imports.collect import _ChildIn
from children.imports.register import _chunks, _HeldAddress, _HeldChild, _HeldName, _Register
from children.imports.rows import Counts
from children.models import NameKind, Sex
from children.retention import retention_ends_on


@dataclass
class _Plan:
    new_children: list[_ChildIn] = field(default_factory=list)
    changed_children: list[_HeldChild] = field(default_factory=list)
    retention_changed: list[_HeldChild] = field(default_factory=list)
    source_records: list[tuple[str, _ChildIn]] = field(default_factory=list)
    demoted_names: list[int] = field(default_factory=list)
    deleted_names: list[int] = field(default_factory=list)
    promoted_names: list[int] = field(default_factory=list)
    new_names: list[tuple[_ChildIn, str, str, str]] = field(default_factory=list)
    changed_addresses: list[_HeldAddress] = field(default_factory=list)
    # Existing children whose current address changes (names_follow_address after writing).
    readdressed: set[int] = field(default_factory=set)
    new_addresses: list[tuple[_ChildIn, _HeldAddress]] = field(default_factory=list)
    new_organisations: dict[tuple[int, str], str] = field(default_factory=dict)
    organisations: dict[tuple[int, str], int] = field(default_factory=dict)
    new_involvements: list[tuple[_ChildIn, _Row]] = field(default_factory=list)
    changed_involvements: list[tuple[int, _Row]] = field(default_factory=list)
    confirmed_involvements: list[int] = field(default_factory=list)
    # Counts is frozen, so one shared default is safe (ruff cannot tell from another module).
    child_counts: Counts = Counts()  # noqa: RUF009
    involvement_counts: Counts = Counts()  # noqa: RUF009


def _organisation_key(row: _Row) -> tuple[int, str]:
    return (row.address.local_authority_id, row.organisation.casefold())


def _plan(*, children: Mapping[str, _ChildIn], register: _Register) -> _Plan:
    """Works out every insert and update, without writing: a dry run stops here."""
    plan = _Plan()
    areas = sorted({row.address.local_authority_id for c in children.values() for row in c.rows})
    for chunk in _chunks(areas):
        organisations = Organisation.objects.filter(
            Q(pk__in=chunk) | Q(local_authority_id__in=chunk)
        ).order_by("pk")
        for pk, name, area in organisations.values_list("pk", "name", "local_authority_id"):
            plan.organisations.setdefault((area or pk, " ".join(name.split()).casefold()), pk)
    created = updated = unchanged = 0
    for ref, incoming in children.items():
        for row in incoming.rows:
            key = _organisation_key(row)
            if key not in plan.organisations:
                plan.new_organisations.setdefault(key, row.organisation)
        child = incoming.child
        periods = {}
        if child is None:
            created += 1
            child = incoming.child = _HeldChild(
                pk=None,
                nhs_number=incoming.nhs_number,
                date_of_birth=incoming.first.date_of_birth,
                sex=incoming.first.sex,
                retention_ends_on=date.min,
            )
            plan.new_children.append(incoming)
            plan.source_records.append((ref, incoming))
            _plan_names(incoming=incoming, held=[], plan=plan)
            _plan_addresses(incoming=incoming, held=[], plan=plan)
            details_changed = True
        else:
            changed = details_changed = _plan_child_details(incoming=incoming, child=child)
            if details_changed:
                plan.changed_children.append(child)
            if incoming.attach:
                plan.source_records.append((ref, incoming))
                changed = True
            names = register.names.get(child.pk, [])
            changed |= _plan_names(incoming=incoming, held=names, plan=plan)
            addresses = register.addresses.get(child.pk, [])
            changed |= _plan_addresses(incoming=incoming, held=addresses, plan=plan)
            if changed:
                updated += 1
            else:
                unchanged += 1
            periods = {
                pk: (started, ended)
                for pk, started, ended, *_ in register.periods.get(child.pk, ())
            }
        for row in incoming.rows:
            held = register.involvements.get(row.involvement_ref)
            periods[held[0] if held else ("new", row.number)] = (row.started_on, row.ended_on)
        retention = retention_ends_on(
            date_of_birth=child.date_of_birth, involvement_periods=periods.values()
        )
        if retention != child.retention_ends_on:
            child.retention_ends_on = retention
            if not details_changed:
                plan.retention_changed.append(child)
    plan.child_counts = Counts(created=created, updated=updated, unchanged=unchanged)
    _plan_involvements(children=children, register=register, plan=plan)
    return plan


def _plan_child_details(*, incoming: _ChildIn, child: _HeldChild) -> bool:
    changed = False
    if incoming.first.date_of_birth != child.date_of_birth:
        child.date_of_birth = incoming.first.date_of_birth
        changed = True
    if incoming.first.sex != child.sex and incoming.first.sex != Sex.UNKNOWN:
        child.sex = incoming.first.sex
        changed = True
    if incoming.nhs_number and incoming.nhs_number != child.nhs_number:
        child.nhs_number = incoming.nhs_number
        changed = True
    return changed


def _plan_names(*, incoming: _ChildIn, held: list[_HeldName], plan: _Plan) -> bool:
    given, family = incoming.first.given_names, incoming.first.family_name
    known = {(name.given_names, name.family_name) for name in held}
    current = next((name for name in held if name.kind == NameKind.CURRENT), None)
    changed = False
    if current is None or (current.given_names, current.family_name) != (given, family):
        previous = {
            (name.given_names, name.family_name): name
            for name in held
            if name.kind == NameKind.PREVIOUS
        }
        if current is not None:
            # The old current name stays findable, as a previous name.
            if (current.given_names, current.family_name) in previous:
                plan.deleted_names.append(current.pk)
            else:
                current.kind = NameKind.PREVIOUS
                plan.demoted_names.append(current.pk)
        # A name the child had before becomes current again rather than being repeated.
        former = previous.get((given, family))
        if former is not None:
            former.kind = NameKind.CURRENT
            plan.promoted_names.append(former.pk)
        else:
            plan.new_names.append((incoming, NameKind.CURRENT, given, family))
        known.add((given, family))
        changed = True
    for other in incoming.other_names:
        if other not in known:
            plan.new_names.append((incoming, NameKind.PREVIOUS, *other))
            known.add(other)
            changed = True
    return changed


def _plan_addresses(*, incoming: _ChildIn, held: list[_HeldAddress], plan: _Plan) -> bool:
    """Moves, corrections and past addresses: the rules in this module's docstring."""
    held = list(held)
    addresses: list[_AddressIn] = []
    for address in sorted((address for address, _ in incoming.addresses.values()), key=_since):
        if not addresses or addresses[-1].details != address.details:
            addresses.append(address)  # a later date at the same place is the same stay
    current = next((address for address in held if address.moved_out_on is None), None)
    boundary = current.moved_in_on if current else None
    changed = False
    dirty: list[_HeldAddress] = []

    def add(address: _AddressIn, moved_out_on: date | None) -> _HeldAddress:
        new = _HeldAddress(None, *address.details, address.since, moved_out_on)
        plan.new_addresses.append((incoming, new))
        held.append(new)
        return new

    for address in addresses:
        if current is None or address.since < boundary or address.details == current.details:
            continue
        if address.since == current.moved_in_on:  # a correction of the current address
            current.line_1, current.postcode, current.local_authority_id = address.details
        else:  # a move
            current.moved_out_on = address.since
        if current.pk is not None and not any(current is seen for seen in dirty):
            dirty.append(current)
            plan.changed_addresses.append(current)
            plan.readdressed.add(incoming.child.pk)
        if current.moved_out_on is not None:
            current = add(address, None)
        changed = True
    for address in reversed(addresses):
        if boundary is not None and address.since >= boundary:
            continue
        if any(
            held_address.moved_in_on == address.since
            or (
                held_address.details == address.details
                and held_address.moved_in_on <= address.since
                and (held_address.moved_out_on is None or address.since < held_address.moved_out_on)
            )
            for held_address in held
        ):
            continue  # the register knows where the child lived from that day
        following = min(
            (held_address for held_address in held if held_address.moved_in_on > address.since),
            key=_moved_in_on,
            default=None,
        )
        if following is not None and following.details == address.details:
            continue
        add(address, following.moved_in_on if following else None)
        changed = True
    return changed


def _since(address: _AddressIn) -> date:
    return address.since


def _moved_in_on(address: _HeldAddress) -> date:
    return address.moved_in_on


def _plan_involvements(
    *, children: Mapping[str, _ChildIn], register: _Register, plan: _Plan
) -> None:
    created = updated = unchanged = 0
    for incoming in children.values():
        for row in incoming.rows:
            held = register.involvements.get(row.involvement_ref)
            if held is None:
                plan.new_involvements.append((incoming, row))
                created += 1
                continue
            organisation_id = plan.organisations.get(_organisation_key(row))
            if held[2:] != _involvement_values(row, organisation_id):
                plan.changed_involvements.append((held[0], row))
                updated += 1
            else:
                plan.confirmed_involvements.append(held[0])
                unchanged += 1
    plan.involvement_counts = Counts(created=created, updated=updated, unchanged=unchanged)


def _involvement_values(row: _Row, organisation_id: int | None) -> tuple:
    """The row's values for _INVOLVEMENT_FIELDS, in that order."""
    return (
        row.service_id,
        organisation_id,
        row.practitioner_name,
        row.practitioner_job_title,
        row.practitioner_phone,
        row.practitioner_email,
        row.started_on,
        row.ended_on,
        row.lead_professional,
    )
