"""Reads for the manage pages: the children an add-a-child check or a restrict search finds,
and the record a new child's involvement may be added to instead (children.access decides)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.models import Organisation, User
from children import access
from children.duplicates import probable_duplicates
from children.identifiers import is_valid_public_id
from children.models import Child
from children.search import MAX_RESULTS, find_children
from children.selectors import (
    RestrictionCandidate,
    SearchResult,
    restriction_candidates,
    search_results,
)

# The refusal of a record the add-a-child check did not show the user.
NOT_IN_SEARCH_RESULTS = "not_in_search_results"


@dataclass(frozen=True)
class Found:
    """What a lookup found: the rows to show (none when there are too many to show)."""

    rows: list[Any]
    too_many: bool

    @property
    def public_ids(self) -> list[str]:
        return [row.public_id for row in self.rows]


def new_child_lookalikes(
    *, date_of_birth: date, given_names: str, family_name: str, nhs_number: str, viewer: User
) -> Found:
    """The children on the register that may be the new child, shown no more than a search
    result is (a shielded child as "Restricted record"); none when there are too many."""
    found = probable_duplicates(
        date_of_birth=date_of_birth,
        names=[(given_names, family_name)],
        nhs_number=nhs_number or None,
    )
    if len(found) > MAX_RESULTS:
        return Found(rows=[], too_many=True)
    rows: list[SearchResult] = search_results(child_ids=[c.pk for c in found], viewer=viewer)
    return Found(rows=rows, too_many=False)


def children_to_restrict(*, terms: Mapping[str, Any], area: Organisation) -> Found:
    """The children a search by these terms finds that the area may restrict, or whose
    restriction it made (children.selectors.restriction_candidates); none when too many."""
    outcome = find_children(**terms)
    if outcome.too_many:
        return Found(rows=[], too_many=True)
    rows: list[RestrictionCandidate] = restriction_candidates(
        child_ids=outcome.child_ids, area=area
    )
    return Found(rows=rows, too_many=False)


def child_to_attach(*, viewer: User, public_id: str) -> tuple[Child | None, access.Decision]:
    """The record a new child's first involvement would be added to, and whether the viewer
    may (children.access.may_attach): only a record the viewer's latest check showed them."""
    child = None
    if is_valid_public_id(public_id) and access.in_latest_results(
        viewer=viewer, public_id=public_id
    ):
        child = Child.objects.select_related("shielded_by").filter(public_id=public_id).first()
    if child is None:
        return None, access.Decision(allowed=False, why=NOT_IN_SEARCH_RESULTS)
    return child, access.may_attach(viewer=viewer, child=child)
