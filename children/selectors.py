"""Reads of the register."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Organisation, User
from children.access import (
    Decision,
    area_may_manage_each,
    area_of,
    children_in_area,
    restricted_contact,
    shielded_from,
)
from children.matching import name_key
from children.merged import survivors_of
from children.models import Address, Child, Involvement, Name, NameKind, Service, Sex

if TYPE_CHECKING:
    from audit.selectors import LatestSearch
    from children.search import Match, SearchOutcome


def children_for_data_manager(*, user: User) -> QuerySet[Child]:
    """The records the user's area looks after (children.access.children_in_area)."""
    area = area_of(user)
    if area is None:
        return Child.objects.none()
    return children_in_area(area=area)


def children_due_for_purge(*, today: date) -> QuerySet[Child]:
    return Child.objects.filter(retention_ends_on__lt=today)


# --- What a practitioner sees ------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    public_id: str
    given_names: str
    family_name: str
    date_of_birth: date
    sex: str
    area: str  # the local authority of the current address, never the address
    restricted_contact: str  # set when the record is shielded from this viewer
    grade: str = ""  # "certain", "probable", "possible" (children.search); "" when restricted
    # How the details searched with agree with the record: (detail, how) pairs, the ones that
    # agree first; none for a restricted record (they would describe it).
    agreement: tuple[tuple[str, str], ...] = ()


# What a search result says of each level of agreement (children.matching.comparisons).
_DETAILS = {
    "family_name": "family name",
    "given_name": "given name",
    "date_of_birth": "date of birth",
    "postcode": "postcode",
    "sex": "sex",
    "nhs_number": "NHS number",
}
_SAYS = {
    "exact": "same",
    "full": "same",
    "same": "same",
    "swapped with the given name": "given and family names swapped",
    "alike (0.92)": "spelt a little differently",
    "alike (0.80)": "spelt differently",
    "alike": "spelt a little differently",
    "one part of the other": "one part of a double-barrelled name",
    "same sound": "sounds the same",
    "nickname or known alternative": "a nickname or other form",
    "initial": "same initial",
    "day and month swapped": "day and month swapped",
    "one digit different": "one digit different",
    "neighbouring digits transposed": "two digits the other way round",
    "year one or two out": "the year one or two out",
    "same year": "same year only",
    "sector": "same street area",
    "outward code": "same outward code",
    "area": "same postcode area",
    "different": "different",
}


def agreement_of(levels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The details' agreement as a result shows it: the same ones first, then the close, then
    the different; details that were not searched with (or not recorded) are left out."""
    said = [
        (_DETAILS[name], _SAYS.get(level, level))
        for name, level in levels.items()
        if level != "null" and name in _DETAILS
    ]
    order = {"same": 0, "different": 2}
    return tuple(sorted(said, key=lambda pair: order.get(pair[1], 1)))


# Every search runs this: one statement, no ORM compilation (measured: 1.3 ms -> 0.3 ms).
_RESULTS_SQL = """
SELECT c.id, c.public_id, c.date_of_birth, c.sex, c.shielded, c.shielded_by_id,
    (SELECT n.given_names FROM children_name n WHERE n.child_id = c.id AND n.kind = 'current'),
    (SELECT n.family_name FROM children_name n WHERE n.child_id = c.id AND n.kind = 'current'),
    (SELECT o.name FROM children_address a JOIN accounts_organisation o
        ON o.id = a.local_authority_id WHERE a.child_id = c.id AND a.moved_out_on IS NULL)
FROM children_child c WHERE c.id IN ({})
"""


def search_results(
    *, child_ids: list[int], viewer: User, matches: Sequence["Match"] = ()
) -> list[SearchResult]:
    """The minimal result rows for children found by children.search, in the same order;
    with `matches` (children.search.Match), each shows its grade and how the details agree."""
    if not child_ids:
        return []
    by_child = {match.child_id: match for match in matches}
    with connection.cursor() as cursor:
        cursor.execute(_RESULTS_SQL.format(", ".join(["%s"] * len(child_ids))), child_ids)
        rows = {row[0]: row for row in cursor.fetchall()}
    sexes = dict(Sex.choices)
    # Restricted rows name their shielding authority's contact: those loaded in one query.
    authorities = Organisation.objects.in_bulk(
        {row[5] for row in rows.values() if row[4] and row[5] is not None}
    )
    results = []
    for child_id in child_ids:
        if child_id not in rows:
            continue
        _, public_id, born, sex, shielded, shielded_by_id, given, family, area = rows[child_id]
        if shielded_from(viewer=viewer, shielded=shielded, shielded_by_id=shielded_by_id):
            authority = authorities.get(shielded_by_id)
            results.append(
                SearchResult(
                    public_id=public_id,
                    given_names="",
                    family_name="",
                    date_of_birth=born,
                    sex="",
                    area="",
                    restricted_contact=restricted_contact(authority),
                )
            )
            continue
        match = by_child.get(child_id)
        results.append(
            SearchResult(
                public_id=public_id,
                given_names=given or "",
                family_name=family or "",
                date_of_birth=born,
                sex=sexes.get(sex, sex),
                area=area or "Not known",
                restricted_contact="",
                grade=match.grade if match else "",
                agreement=agreement_of(match.agreement) if match else (),
            )
        )
    return results


def search_event_detail(*, outcome: "SearchOutcome", results: list[SearchResult]) -> dict:
    """What a search's audit event keeps beside its criteria and results: which model ranked
    the results and how each agreed, so that a past search can be explained (and its results
    shown again by "Back to results"); whether records only partly matched."""
    return {
        "match_model": outcome.model_version,
        "shown": {
            result.public_id: {"grade": result.grade, "agreement": result.agreement}
            for result in results
            if not result.restricted_contact
        },
        "partial": bool(outcome.partial) and not results,
    }


def results_shown_again(*, latest: "LatestSearch", viewer: User) -> list[SearchResult]:
    """The results of the user's latest search, as the records are now (a merged-away record
    as its survivor, a record restricted since as restricted), graded and described as the
    search showed them (its event's detail)."""
    survivors = survivors_of(latest.public_ids)
    public_ids = [survivors.get(public_id, public_id) for public_id in latest.public_ids]
    ids = dict(Child.objects.filter(public_id__in=public_ids).values_list("public_id", "pk"))
    shown = latest.detail.get("shown", {})
    return [
        result
        if result.restricted_contact or result.public_id not in shown
        else replace(
            result,
            grade=shown[result.public_id]["grade"],
            agreement=tuple(tuple(pair) for pair in shown[result.public_id]["agreement"]),
        )
        for result in search_results(
            child_ids=list(dict.fromkeys(ids[p] for p in public_ids if p in ids)),
            viewer=viewer,
        )
    ]


@dataclass(frozen=True)
class RestrictionCandidate:
    """A child an LA admin found to restrict (or whose restriction to lift): enough to tell
    the right child, and what the admin may do with the record."""

    public_id: str
    given_names: str  # "" when another authority restricted the record
    family_name: str
    date_of_birth: date
    area: str  # the local authority of the current address, never the address
    may_restrict: bool  # not restricted yet
    may_lift: bool  # restricted by the admin's own authority
    restricted_contact: str  # set when another authority restricted it: whom to ask


def restriction_candidates(
    *, child_ids: list[int], area: Organisation
) -> list[RestrictionCandidate]:
    """Of the children a search found (in its order), those the area may restrict (children
    it looks after: children.access) or whose restriction it made; a record another
    authority restricted shows only its date of birth and whom to ask, as in a search."""
    if not child_ids:
        return []
    ours = (
        Child.objects.filter(pk__in=child_ids)
        .filter(
            Q(pk__in=children_in_area(area=area).filter(pk__in=child_ids).values("pk"))
            | Q(shielded=True, shielded_by=area)
        )
        .select_related("shielded_by")
        .annotate(
            given=Subquery(
                Name.objects.filter(child=OuterRef("pk"), kind=NameKind.CURRENT).values(
                    "given_names"
                )[:1]
            ),
            family=Subquery(
                Name.objects.filter(child=OuterRef("pk"), kind=NameKind.CURRENT).values(
                    "family_name"
                )[:1]
            ),
            lives_in=Subquery(
                Address.objects.filter(child=OuterRef("pk"), moved_out_on__isnull=True).values(
                    "local_authority__name"
                )[:1]
            ),
        )
    )
    by_id = {child.pk: child for child in ours}
    found = []
    for child_id in child_ids:
        child = by_id.get(child_id)
        if child is None:
            continue
        theirs = child.shielded and child.shielded_by_id != area.pk
        found.append(
            RestrictionCandidate(
                public_id=child.public_id,
                given_names="" if theirs else child.given or "",
                family_name="" if theirs else child.family or "",
                date_of_birth=child.date_of_birth,
                area="" if theirs else child.lives_in or "Not known",
                may_restrict=not child.shielded,
                may_lift=child.shielded and not theirs,
                restricted_contact=restricted_contact(child.shielded_by) if theirs else "",
            )
        )
    return found


@dataclass(frozen=True)
class InvolvementView:
    service: str
    organisation: str
    sensitive_contact: str  # set when the service is hidden from this viewer
    practitioner_name: str
    practitioner_job_title: str
    practitioner_phone: str
    practitioner_email: str
    started_on: date
    ended_on: date | None
    lead_professional: bool
    not_confirmed_since: date | None = None  # open, and its source has been silent too long
    involvement_id: int = 0

    @property
    def names_no_one(self) -> bool:
        """Neither a person nor a way to reach one (a sensitive service names its contact)."""
        return not (
            self.sensitive_contact
            or self.practitioner_name
            or self.practitioner_phone
            or self.practitioner_email
        )


@dataclass(frozen=True)
class AreaPeriod:
    area: str
    moved_in_on: date | None
    moved_out_on: date | None
    involvements: list[InvolvementView]


@dataclass(frozen=True)
class ChildRecord:
    child: Child
    current_name: Name | None
    names: list[Name]
    current_address: Address | None
    show_address: bool  # False for a shielded record: the area only
    current_involvements: list[InvolvementView]
    past_involvements: list[InvolvementView]
    area_history: list[AreaPeriod]
    # Whom to call when an involvement names no one: the children's services front door of
    # the area the child lives in ("" if the area has not given one).
    front_door: str = ""

    @property
    def has_lead(self) -> bool:
        return any(involvement.lead_professional for involvement in self.current_involvements)


def child_for_viewer(*, public_id: str, viewer: User) -> Child | None:
    """The child behind a public id, or None."""
    return Child.objects.select_related("shielded_by").filter(public_id=public_id).first()


def current_name(*, child: Child) -> str:
    """The child's current name, as a search result shows it ("" if none is recorded)."""
    name = child.names.filter(kind=NameKind.CURRENT).first()
    return f"{name.given_names} {name.family_name}".strip() if name else ""


def child_record(*, child: Child, viewer: User) -> ChildRecord:
    """Everything a practitioner may see of one child, sensitive services masked."""
    names = list(child.names.order_by("kind", "-used_until", "pk"))
    current_name = next((name for name in names if name.kind == NameKind.CURRENT), None)
    addresses = list(
        child.addresses.select_related("local_authority").order_by("-moved_in_on", "-pk")
    )
    current_address = next((a for a in addresses if a.moved_out_on is None), None)
    involvements = list(
        child.involvements.select_related(
            "service", "organisation", "organisation__local_authority"
        ).order_by("-lead_professional", "-started_on", "pk")
    )
    viewer_org = viewer.organisation
    provided = _sensitive_services_provided(viewer_org, involvements)
    stale_before = stale_threshold(now=timezone.now())
    views = {
        inv.pk: _involvement_view(inv, viewer_org, provided, stale_before) for inv in involvements
    }
    current = [views[inv.pk] for inv in involvements if inv.ended_on is None]
    past = sorted(
        (views[inv.pk] for inv in involvements if inv.ended_on is not None),
        key=lambda view: view.ended_on,
        reverse=True,
    )
    return ChildRecord(
        child=child,
        current_name=current_name,
        names=names,
        current_address=current_address,
        show_address=not child.shielded,
        current_involvements=current,
        past_involvements=past,
        area_history=_area_history(addresses, involvements, views),
        front_door=(
            current_address.local_authority.safeguarding_contact if current_address else ""
        ),
    )


def _sensitive_services_provided(
    organisation: Organisation | None, involvements: Sequence[Involvement]
) -> set[int]:
    """Which of the sensitive services other organisations give this child the viewer's
    organisation also provides (to any child): those it sees in full. One probe of the
    (organisation, service) index a service, so the cost does not grow with the register."""
    if organisation is None:
        return set()
    asked = {
        involvement.service_id
        for involvement in involvements
        if involvement.service.sensitive and involvement.organisation_id != organisation.pk
    }
    if not asked:
        return set()
    return set(
        Service.objects.filter(pk__in=asked)
        .filter(
            Exists(Involvement.objects.filter(organisation=organisation, service=OuterRef("pk")))
        )
        .values_list("pk", flat=True)
    )


def _involvement_view(
    involvement: Involvement,
    viewer_org: Organisation | None,
    provided: set[int],
    stale_before: datetime,
) -> InvolvementView:
    organisation = involvement.organisation
    not_confirmed_since = (
        timezone.localdate(involvement.confirmed_at)
        if involvement.ended_on is None and involvement.confirmed_at < stale_before
        else None
    )
    hidden = involvement.service.sensitive and not (
        viewer_org is not None
        and (organisation.pk == viewer_org.pk or involvement.service_id in provided)
    )
    if hidden:
        return InvolvementView(
            service="",
            organisation="",
            sensitive_contact=restricted_contact(organisation),
            practitioner_name="",
            practitioner_job_title="",
            practitioner_phone="",
            practitioner_email="",
            started_on=involvement.started_on,
            ended_on=involvement.ended_on,
            lead_professional=False,
            not_confirmed_since=not_confirmed_since,
            involvement_id=involvement.pk,
        )
    return InvolvementView(
        service=involvement.service.name,
        organisation=organisation.name,
        sensitive_contact="",
        practitioner_name=involvement.practitioner_name,
        practitioner_job_title=involvement.practitioner_job_title,
        practitioner_phone=involvement.practitioner_phone,
        practitioner_email=involvement.practitioner_email,
        started_on=involvement.started_on,
        ended_on=involvement.ended_on,
        lead_professional=involvement.lead_professional,
        not_confirmed_since=not_confirmed_since,
        involvement_id=involvement.pk,
    )


def _area_history(
    addresses: list[Address], involvements: list[Involvement], views: dict[int, InvolvementView]
) -> list[AreaPeriod]:
    """Each local authority the child lived in, newest first, with the involvements of that
    authority and its partner agencies; an area with involvements but no address last."""
    by_area: dict[int, list[InvolvementView]] = {}
    for involvement in involvements:
        area_id = involvement.organisation.area_id
        by_area.setdefault(area_id, []).append(views[involvement.pk])
    periods: list[AreaPeriod] = []
    seen: set[int] = set()
    for address in addresses:
        area_id = address.local_authority_id
        periods.append(
            AreaPeriod(
                area=address.local_authority.name,
                moved_in_on=address.moved_in_on,
                moved_out_on=address.moved_out_on,
                involvements=[] if area_id in seen else by_area.get(area_id, []),
            )
        )
        seen.add(area_id)
    elsewhere = {
        involvement.organisation.area_id: involvement.organisation
        for involvement in involvements
        if involvement.organisation.area_id not in seen
    }
    for area_id, organisation in elsewhere.items():
        area = organisation.area
        periods.append(AreaPeriod(area.name, None, None, by_area[area_id]))
    return periods


# --- Stale data ----------------------------------------------------------------------------


def stale_threshold(*, now: datetime) -> datetime:
    """Open involvements last confirmed before this are shown as not confirmed."""
    return now - relativedelta(months=settings.STALE_AFTER_MONTHS)


def stale_involvements(*, area: Organisation, now: datetime) -> QuerySet[Involvement]:
    """Open involvements by the area's organisations (the authority and its partner
    agencies) that their source has not confirmed for STALE_AFTER_MONTHS, oldest first."""
    return (
        Involvement.objects.filter(
            Q(organisation=area) | Q(organisation__local_authority=area),
            ended_on__isnull=True,
            confirmed_at__lt=stale_threshold(now=now),
        )
        .select_related("child", "child__shielded_by", "service", "organisation")
        .annotate(
            current_given=Subquery(
                Name.objects.filter(child=OuterRef("child_id"), kind=NameKind.CURRENT).values(
                    "given_names"
                )[:1]
            ),
            current_family=Subquery(
                Name.objects.filter(child=OuterRef("child_id"), kind=NameKind.CURRENT).values(
                    "family_name"
                )[:1]
            ),
        )
        .order_by("confirmed_at", "pk")
    )


# --- What oversight needs to know about a record view (audit.oversight) --------------------


def stale_rows(
    *, area: Organisation, involvements: list[Involvement]
) -> list[tuple[Involvement, Decision]]:
    """Each stale involvement with whether the area may manage its record (the one access
    rule, asked once for the page): a row leads to the record's manage page, unless another
    authority restricted the record, then to whom to ask."""
    decisions = area_may_manage_each(
        area=area, children=[involvement.child for involvement in involvements]
    )
    return [(involvement, decisions[involvement.child_id]) for involvement in involvements]


@dataclass(frozen=True)
class OversightFacts:
    """What the misuse rules and the notices need about a child and the person viewing."""

    # The child has (or had) an address in the viewer's local authority.
    lived_in_viewer_area: bool
    # The viewer's organisation is (or was) involved with the child.
    served_by_viewer_organisation: bool
    # One of the child's recorded family names is the viewer's family name.
    shares_viewer_family_name: bool
    # Organisations with an open involvement: a viewer from one of them is "inside".
    involved_organisation_ids: frozenset[int]
    # The e-mail addresses of the child's current lead professionals (usually one).
    lead_professional_emails: tuple[str, ...]
    shielded_by_id: int | None


_OVERSIGHT_SQL = """
SELECT c.id, c.shielded_by_id,
    EXISTS (SELECT 1 FROM children_address a
        WHERE a.child_id = c.id AND a.local_authority_id = %s),
    EXISTS (SELECT 1 FROM children_involvement i
        WHERE i.child_id = c.id AND i.organisation_id = %s),
    EXISTS (SELECT 1 FROM children_name n WHERE n.child_id = c.id AND n.family_key = %s)
FROM children_child c WHERE c.public_id = %s
"""


def oversight_facts(*, public_id: str, viewer: User) -> OversightFacts | None:
    """The facts about a record view that decide flags and notices, or None for no such child."""
    area = area_of(viewer)
    family_key = name_key(viewer.last_name) if viewer.last_name.strip() else ""
    with connection.cursor() as cursor:
        cursor.execute(
            _OVERSIGHT_SQL,
            [
                area.pk if area else None,
                viewer.organisation_id,
                family_key or None,
                public_id,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    child_id, shielded_by_id, lived_here, served_here, same_name = row
    open_involvements = list(
        Involvement.objects.filter(child_id=child_id, ended_on__isnull=True).values_list(
            "organisation_id", "lead_professional", "practitioner_email"
        )
    )
    return OversightFacts(
        lived_in_viewer_area=bool(lived_here),
        served_by_viewer_organisation=bool(served_here),
        shares_viewer_family_name=bool(same_name),
        involved_organisation_ids=frozenset(org_id for org_id, _, _ in open_involvements),
        lead_professional_emails=tuple(
            email.strip().lower() for _, lead, email in open_involvements if lead and email.strip()
        ),
        shielded_by_id=shielded_by_id,
    )


def current_names(*, public_ids: set[str]) -> dict[str, str]:
    """Public id -> the child's current name, for children still on the register."""
    if not public_ids:
        return {}
    rows = Name.objects.filter(kind=NameKind.CURRENT, child__public_id__in=public_ids).values_list(
        "child__public_id", "given_names", "family_name"
    )
    return {public_id: f"{given} {family}" for public_id, given, family in rows}
