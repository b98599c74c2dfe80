"""Writes to the register. A child is only ever created together with its first involvement."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Organisation
from audit.models import Action
from audit.services import record
from children.identifiers import new_public_id, normalise_nhs_number, normalise_postcode
from children.involvement_rules import lead_professional_gaps
from children.models import (
    Address,
    Child,
    HeldRow,
    Involvement,
    Name,
    NameKind,
    Service,
    Sex,
)
from children.retention import retention_ends_on
from children.selectors import children_due_for_purge


@dataclass(frozen=True)
class PersonName:
    given_names: str
    family_name: str
    kind: NameKind = NameKind.CURRENT


@dataclass(frozen=True)
class AddressDetails:
    line_1: str
    postcode: str
    local_authority: Organisation
    moved_in_on: date


@dataclass(frozen=True)
class InvolvementDetails:
    service: Service
    organisation: Organisation
    started_on: date
    ended_on: date | None = None
    practitioner_name: str = ""
    practitioner_job_title: str = ""
    practitioner_phone: str = ""
    practitioner_email: str = ""
    lead_professional: bool = False
    source: str = ""
    source_id: str = ""


@dataclass(frozen=True)
class ChildDetails:
    date_of_birth: date
    name: PersonName
    address: AddressDetails
    sex: Sex = Sex.UNKNOWN
    nhs_number: str | None = None
    other_names: Sequence[PersonName] = field(default_factory=tuple)


@transaction.atomic
def child_create(
    *,
    details: ChildDetails,
    first_involvement: InvolvementDetails,
    request: HttpRequest | None = None,
) -> Child:
    """Creates a child with their names, current address and first involvement, all or nothing."""
    child = Child(
        public_id=_unused_public_id(),
        nhs_number=normalise_nhs_number(details.nhs_number or "") or None,
        date_of_birth=details.date_of_birth,
        sex=details.sex,
        retention_ends_on=date.min,  # set below, once the involvement exists
    )
    child.full_clean(exclude=["retention_ends_on"])
    child.save()
    for name in (details.name, *details.other_names):
        kind = NameKind.CURRENT if name is details.name else name.kind
        _save(
            Name(
                child=child,
                kind=kind,
                given_names=name.given_names,
                family_name=name.family_name,
            )
        )
    _save(
        Address(
            child=child,
            line_1=details.address.line_1,
            postcode=normalise_postcode(details.address.postcode),
            local_authority=details.address.local_authority,
            moved_in_on=details.address.moved_in_on,
        )
    )
    _save(_involvement(child=child, details=first_involvement))
    names_follow_address(child_ids=[child.pk])
    child_refresh_retention(child=child)
    record(request=request, action=Action.RECORD_CREATE, children=[child])
    return child


def names_follow_address(*, child_ids: Sequence[int]) -> int:
    """Copies each child's current postcode (and its outward code) onto all their names, as
    the search blocks read it; every writer of addresses calls this. Returns names updated."""
    current = Address.objects.filter(child_id=OuterRef("child_id"), moved_out_on__isnull=True)
    updated = 0
    ids = list(child_ids)
    for start in range(0, len(ids), 2_000):
        updated += Name.objects.filter(child_id__in=ids[start : start + 2_000]).update(
            postcode=Coalesce(Subquery(current.values("postcode")[:1]), Value("")),
            outward_code=Coalesce(Subquery(current.values("outward_code")[:1]), Value("")),
        )
    return updated


@transaction.atomic
def involvement_add(
    *, child: Child, details: InvolvementDetails, request: HttpRequest | None = None
) -> Involvement:
    involvement = _save(_involvement(child=child, details=details))
    child_refresh_retention(child=child)
    record(
        request=request,
        action=Action.RECORD_CHANGE,
        children=[child],
        detail={"change": "involvement_added", "involvement": involvement.pk},
    )
    return involvement


@transaction.atomic
def involvement_close(
    *, involvement: Involvement, ended_on: date, request: HttpRequest | None = None
) -> Involvement:
    if ended_on < involvement.started_on:
        raise ValidationError({"ended_on": "The end date must be on or after the start date"})
    involvement.ended_on = ended_on
    _save(involvement)
    child_refresh_retention(child=involvement.child)
    record(
        request=request,
        action=Action.RECORD_CHANGE,
        children=[involvement.child],
        detail={"change": "involvement_closed", "involvement": involvement.pk},
    )
    return involvement


@transaction.atomic
def involvement_set_lead(*, involvement: Involvement, request: HttpRequest | None = None) -> None:
    """Makes an open involvement the child's lead professional; the previous lead steps down."""
    if involvement.ended_on is not None:
        raise ValidationError("Only an open involvement can hold the lead professional")
    _require_reachable_lead(
        name=involvement.practitioner_name,
        phone=involvement.practitioner_phone,
        email=involvement.practitioner_email,
    )
    child = involvement.child
    # One by one, through save(), so that django-auditlog keeps the history of each.
    for previous in Involvement.objects.filter(
        child=child, lead_professional=True, ended_on__isnull=True
    ).exclude(pk=involvement.pk):
        previous.lead_professional = False
        previous.save(update_fields=["lead_professional"])
    involvement.lead_professional = True
    involvement.save(update_fields=["lead_professional"])
    record(
        request=request,
        action=Action.RECORD_CHANGE,
        children=[child],
        detail={"change": "lead_professional_set", "involvement": involvement.pk},
    )


@transaction.atomic
def child_move(
    *, child: Child, address: AddressDetails, request: HttpRequest | None = None
) -> Address:
    """Records a move: the current address ends the day the new one starts. Involvements stay
    where they are, so the new area sees everything that went on before."""
    current = child.addresses.filter(moved_out_on__isnull=True).first()
    if current is not None:
        if address.moved_in_on <= current.moved_in_on:
            raise ValidationError(
                {"moved_in_on": "The move must be after the child moved into the current address"}
            )
        current.moved_out_on = address.moved_in_on
        _save(current)
    new = _save(
        Address(
            child=child,
            line_1=address.line_1,
            postcode=normalise_postcode(address.postcode),
            local_authority=address.local_authority,
            moved_in_on=address.moved_in_on,
        )
    )
    names_follow_address(child_ids=[child.pk])
    record(
        request=request,
        action=Action.RECORD_CHANGE,
        children=[child],
        detail={
            "change": "moved",
            "from_area": current.local_authority.ons_code if current else "",
            "to_area": address.local_authority.ons_code,
        },
    )
    return new


@transaction.atomic
def name_change(
    *, child: Child, name: PersonName, since: date, request: HttpRequest | None = None
) -> Name:
    """A new current name; the old one is kept as a previous name, so searches by it still
    find the child."""
    current = child.names.filter(kind=NameKind.CURRENT).first()
    same = (name.given_names, name.family_name)
    if current is not None and (current.given_names, current.family_name) == same:
        raise ValidationError("That is already the child's current name")
    if current is not None:
        current.kind = NameKind.PREVIOUS
        current.used_until = since
        if child.names.filter(
            kind=NameKind.PREVIOUS, given_names=current.given_names, family_name=current.family_name
        ).exists():
            current.delete()  # already kept as a previous name
        else:
            _save(current)
    # A name used before comes back: it stops being a previous name.
    child.names.filter(kind=NameKind.PREVIOUS, given_names=same[0], family_name=same[1]).delete()
    new = _save(
        Name(
            child=child,
            kind=NameKind.CURRENT,
            given_names=name.given_names,
            family_name=name.family_name,
            used_from=since,
        )
    )
    record(
        request=request,
        action=Action.RECORD_CHANGE,
        children=[child],
        detail={"change": "name_changed"},
    )
    return new


@transaction.atomic
def child_shield(
    *, child: Child, authority: Organisation, reason: str, request: HttpRequest | None = None
) -> None:
    """Restricts a record: searches show it only as restricted, and only the authority's data
    managers open it (without the address)."""
    child.shielded, child.shielded_by, child.shielding_reason = True, authority, reason.strip()
    _save(child)
    record(
        request=request,
        action=Action.RECORD_CHANGE,
        children=[child],
        reason_text=reason.strip(),
        detail={"change": "shielded", "authority": authority.ons_code},
    )


@transaction.atomic
def child_unshield(
    *, child: Child, authority: Organisation, reason: str, request: HttpRequest | None = None
) -> None:
    """Lifts a restriction. Only the authority that made it may (children.access)."""
    if not child.shielded or child.shielded_by_id != authority.pk:
        raise ValidationError("Only the authority that restricted a record can lift it")
    child.shielded, child.shielded_by, child.shielding_reason = False, None, ""
    _save(child)
    record(
        request=request,
        action=Action.RECORD_CHANGE,
        children=[child],
        reason_text=reason.strip(),
        detail={"change": "unshielded", "authority": authority.ons_code},
    )


def child_refresh_retention(*, child: Child) -> Child:
    """Recomputes and stores retention_ends_on from the child's involvements."""
    periods = child.involvements.values_list("started_on", "ended_on")
    child.retention_ends_on = retention_ends_on(
        date_of_birth=child.date_of_birth, involvement_periods=periods
    )
    Child.objects.filter(pk=child.pk).update(retention_ends_on=child.retention_ends_on)
    return child


@dataclass(frozen=True)
class PurgeResult:
    public_ids: list[str]
    dry_run: bool


def children_purge_expired(
    *, today: date, dry_run: bool = False, batch_size: int = 500
) -> PurgeResult:
    """Deletes every child whose retention has ended, with all their names, addresses and
    involvements, writing one audit event per child (public id only) in the same transaction."""
    due = children_due_for_purge(today=today).order_by("pk")
    if dry_run:
        return PurgeResult(public_ids=list(due.values_list("public_id", flat=True)), dry_run=True)
    purged: list[str] = []
    while True:
        with transaction.atomic():
            batch = list(due.values_list("pk", "public_id", "retention_ends_on")[:batch_size])
            if not batch:
                break
            Child.objects.filter(pk__in=[pk for pk, _, _ in batch]).delete()
            for _, public_id, ended in batch:
                record(
                    request=None,
                    action=Action.RECORD_PURGE,
                    children=[public_id],
                    detail={"retention_ended_on": ended.isoformat()},
                )
        purged.extend(public_id for _, public_id, _ in batch)
    _purge_stale_held_rows(today=today)
    return PurgeResult(public_ids=purged, dry_run=False)


def _purge_stale_held_rows(*, today: date) -> None:
    """Rows held for review hold child data too: unresolved for the retention period (no
    import has sent them again), they go; resolved ones, whose rows are already emptied,
    go with them."""
    cutoff = timezone.make_aware(
        datetime.combine(today - relativedelta(months=settings.RETENTION_MONTHS), time.min)
    )
    with transaction.atomic():
        stale = list(
            HeldRow.objects.filter(updated_at__lt=cutoff).values_list("pk", "source", "child_ref")
        )
        if not stale:
            return
        HeldRow.objects.filter(pk__in=[pk for pk, _, _ in stale]).delete()
        record(
            request=None,
            action=Action.RECORD_PURGE,
            detail={"held_rows": len(stale), "sources": sorted({source for _, source, _ in stale})},
        )


def _require_reachable_lead(*, name: str, phone: str, email: str) -> None:
    """A lead professional needs a name and a phone or an email (children.involvement_rules):
    a ValidationError by field otherwise."""
    gaps = lead_professional_gaps(name=name, phone=phone, email=email)
    if gaps:
        raise ValidationError(gaps)


def _involvement(*, child: Child, details: InvolvementDetails) -> Involvement:
    if details.lead_professional:
        _require_reachable_lead(
            name=details.practitioner_name,
            phone=details.practitioner_phone,
            email=details.practitioner_email,
        )
    return Involvement(
        child=child,
        service=details.service,
        organisation=details.organisation,
        started_on=details.started_on,
        ended_on=details.ended_on,
        practitioner_name=details.practitioner_name,
        practitioner_job_title=details.practitioner_job_title,
        practitioner_phone=details.practitioner_phone,
        practitioner_email=details.practitioner_email,
        lead_professional=details.lead_professional,
        source=details.source,
        source_id=details.source_id,
    )


def _save(instance):
    """full_clean then save; a database constraint that still fires becomes a ValidationError."""
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as error:
        raise ValidationError(f"{type(instance).__name__} breaks a rule of the register") from error
    return instance


def _unused_public_id() -> str:
    while True:
        candidate = new_public_id()
        if not Child.objects.filter(public_id=candidate).exists():
            return candidate


@transaction.atomic
def involvement_attach(
    *, child: Child, details: InvolvementDetails, request: HttpRequest | None = None
) -> Involvement:
    """Adds a new child's first involvement to a record the add-a-child check found, instead
    of a second record for the same child. Taking the lead over from another service is
    agreed with them, not done here: a lead involvement is refused while the child has one."""
    if (
        details.lead_professional
        and child.involvements.filter(lead_professional=True, ended_on__isnull=True).exists()
    ):
        raise ValidationError(
            {
                "lead_professional": "This child already has a lead professional: choose No, "
                "and agree any change of lead with them"
            }
        )
    return involvement_add(child=child, details=details, request=request)


@transaction.atomic
def child_restriction_set(
    *,
    public_id: str,
    restrict: bool,
    authority: Organisation,
    reason: str,
    request: HttpRequest | None = None,
) -> Child:
    """Restricts the record (child_shield) or lifts its restriction (child_unshield)."""
    child = Child.objects.select_related("shielded_by").get(public_id=public_id)
    change = child_shield if restrict else child_unshield
    change(child=child, authority=authority, reason=reason, request=request)
    return child
