"""Who may read, manage and restrict a child's record: the one rule that every door asks.

The record page, the manage pages, the add-a-child check, the duplicates and merge
pages and the feed API all decide here, and a refusal carries the words that the
door records in its access_denied event (`Decision.why`). Nothing else in the code
base decides whether a record is shielded from someone.

- Read (search results, the record page): anyone who may search, except that a
  shielded record opens only for the shielding authority's data managers; everyone
  else sees it as "Restricted record" with the authority's safeguarding contact.
- Manage (change the record): data managers of an area that looks after the child
  (a current address there, or an involvement by one of its organisations); a
  shielded record only by the shielding authority's data managers.
- Attach (add one's own involvement to a record found by the add-a-child check,
  in any area): data managers, never to a record shielded by another authority.
- Restrict and lift: LA admins of an area that looks after the child; only the
  shielding authority lifts its restriction.
"""

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.capabilities import Capability, has_capability
from accounts.models import Organisation, User
from children.models import Address, Child, Involvement

# The refusals, as recorded in access_denied events' detail["why"].
NO_CAPABILITY = "no_capability"
NOT_IN_AREA = "not_in_area"
SHIELDED = "shielded"
NOT_SHIELDING_AUTHORITY = "not_shielding_authority"


@dataclass(frozen=True)
class Decision:
    """An answer of the rule: allowed, or refused with the reason (and whom to ask)."""

    allowed: bool
    why: str = ""
    contact: str = ""  # for a restricted record: its shielding authority's contact

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(allowed=True)


def area_of(user: User) -> Organisation | None:
    """The local authority whose area a user works in (their organisation's)."""
    return user.organisation.area if user.organisation is not None else None


def children_in_area(*, area: Organisation) -> QuerySet[Child]:
    """Children an area looks after: a current address in the area, or an involvement by an
    organisation of the area (the authority or one of its partner agencies)."""
    lives_here = Address.objects.filter(
        child=OuterRef("pk"), local_authority=area, moved_out_on__isnull=True
    )
    served_here = Involvement.objects.filter(child=OuterRef("pk")).filter(
        Q(organisation=area) | Q(organisation__local_authority=area)
    )
    return Child.objects.filter(Q(Exists(lives_here)) | Q(Exists(served_here)))


def children_managed_by(*, area: Organisation) -> QuerySet[Child]:
    """The records an area's data managers may change: those it looks after that no other
    authority has shielded, and those it shielded itself."""
    return Child.objects.filter(
        Q(pk__in=children_in_area(area=area).filter(shielded=False).values("pk"))
        | Q(shielded=True, shielded_by=area)
    )


def restricted_contact(organisation: Organisation | None) -> str:
    """Who to ask about a restricted record or a sensitive service: the organisation's
    safeguarding contact, else its local authority's. Never the organisation's name alone:
    a clinic's name can say what the service is."""
    if organisation is None:
        return "the local authority's children's services front door"
    area = organisation.area
    return (
        organisation.safeguarding_contact
        or area.safeguarding_contact
        or f"{area.name} children's services front door"
    )


def shielded_from(*, viewer: User, shielded: bool, shielded_by_id: int | None) -> bool:
    """Whether a record with this shielding is restricted for the viewer: it is, for everyone
    but the shielding authority's data managers. (Search results ask this of raw rows.)"""
    if not shielded:
        return False
    return not (
        has_capability(viewer, Capability.MANAGE_RECORDS)
        and viewer.organisation is not None
        and viewer.organisation.area_id == shielded_by_id
    )


def _restricted(child: Child) -> Decision:
    return Decision(allowed=False, why=SHIELDED, contact=restricted_contact(child.shielded_by))


def may_read(*, viewer: User, child: Child) -> Decision:
    """Whether the viewer may open the child's record (after giving a reason)."""
    if not has_capability(viewer, Capability.SEARCH_CHILDREN):
        return Decision(allowed=False, why=NO_CAPABILITY)
    if shielded_from(viewer=viewer, shielded=child.shielded, shielded_by_id=child.shielded_by_id):
        return _restricted(child)
    return ALLOWED


def may_manage(*, viewer: User, child: Child) -> Decision:
    """Whether the viewer may change the child's record."""
    if not has_capability(viewer, Capability.MANAGE_RECORDS):
        return Decision(allowed=False, why=NO_CAPABILITY)
    area = area_of(viewer)
    if area is None:
        return Decision(allowed=False, why=NOT_IN_AREA)
    return area_may_manage(area=area, child=child)


def area_may_manage(*, area: Organisation, child: Child) -> Decision:
    """Whether the area's data managers (or its feed) may change the child's record."""
    return area_may_manage_each(area=area, children=[child])[child.pk]


def area_may_manage_each(*, area: Organisation, children: Collection[Child]) -> dict[int, Decision]:
    """area_may_manage for many children at once (one query): child id -> decision."""
    in_area = set(
        children_in_area(area=area)
        .filter(pk__in=[child.pk for child in children])
        .values_list("pk", flat=True)
    )
    decisions = {}
    for child in children:
        if child.shielded and child.shielded_by_id == area.pk:
            decisions[child.pk] = ALLOWED
        elif child.pk not in in_area:
            # Not theirs: answered as "not found", so nothing says the record exists.
            decisions[child.pk] = Decision(allowed=False, why=NOT_IN_AREA)
        elif child.shielded:
            decisions[child.pk] = _restricted(child)
        else:
            decisions[child.pk] = ALLOWED
    return decisions


def may_attach(*, viewer: User, child: Child) -> Decision:
    """Whether the viewer may add their organisation's involvement to a record of any area
    (one the add-a-child check found), instead of creating a second record."""
    if not has_capability(viewer, Capability.MANAGE_RECORDS):
        return Decision(allowed=False, why=NO_CAPABILITY)
    area = area_of(viewer)
    if area is None:
        return Decision(allowed=False, why=NOT_IN_AREA)
    if child.shielded and child.shielded_by_id != area.pk:
        return _restricted(child)
    return ALLOWED


def may_shield(*, viewer: User, child: Child) -> Decision:
    """Whether the viewer (an LA admin) may restrict the child's record."""
    if not has_capability(viewer, Capability.SHIELD_RECORDS):
        return Decision(allowed=False, why=NO_CAPABILITY)
    area = area_of(viewer)
    if area is None or not children_in_area(area=area).filter(pk=child.pk).exists():
        return Decision(allowed=False, why=NOT_IN_AREA)
    return ALLOWED


def may_unshield(*, viewer: User, child: Child) -> Decision:
    """Whether the viewer may lift the record's restriction: only the authority that made it."""
    if not has_capability(viewer, Capability.SHIELD_RECORDS):
        return Decision(allowed=False, why=NO_CAPABILITY)
    area = area_of(viewer)
    if area is None:
        return Decision(allowed=False, why=NOT_IN_AREA)
    if child.shielded and child.shielded_by_id == area.pk:
        return ALLOWED
    if not children_in_area(area=area).filter(pk=child.pk).exists():
        return Decision(allowed=False, why=NOT_IN_AREA)
    return Decision(
        allowed=False, why=NOT_SHIELDING_AUTHORITY, contact=restricted_contact(child.shielded_by)
    )


def in_latest_results(*, viewer: User, public_id: str) -> bool:
    """Whether the record was among the results of the viewer's latest search (read from the
    audit trail), or is the record one of them was merged into since: a record opens only
    from there, so every record view follows a recorded search, and a guessed, shared or
    stale link opens nothing."""
    from audit.selectors import latest_search_results
    from children.merged import merged_from_any

    shown = latest_search_results(user_id=viewer.pk)
    return public_id in shown or merged_from_any(old_public_ids=shown, survivor_public_id=public_id)
