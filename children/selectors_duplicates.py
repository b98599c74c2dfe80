"""Reads for the data managers' duplicate pages: the queue, a pair to compare, a held row and
the children it looks like, two records to merge, each shown as children.access allows."""

from dataclasses import dataclass
from datetime import date

from django.utils.formats import date_format

from accounts.models import Organisation, User
from children import access, selectors
from children.duplicates import held_row_candidates, probable_pairs_for_area
from children.matching.model import MatchModel, current_model
from children.models import Child, HeldRow, ProbableDuplicate, Service, Sex

# The queue lists the best pairs first, this many at a time.
PAIRS_LISTED = 200
# The queue lists the held rows oldest first, this many at a time.
HELD_ROWS_LISTED = 200


@dataclass(frozen=True)
class Queue:
    """An area's held rows waiting for a decision, and its probable pairs, best first."""

    held: list[HeldRow]
    pairs: list[ProbableDuplicate]

    @property
    def public_ids(self) -> list[str]:
        """The children the queue names: the held rows' candidates, then the pairs'."""
        return [
            *(public_id for held in self.held for public_id in held.candidates),
            *(child.public_id for pair in self.pairs for child in (pair.child_a, pair.child_b)),
        ]


def duplicates_queue(*, area: Organisation) -> Queue:
    pending = HeldRow.objects.filter(local_authority=area, resolved_at__isnull=True)
    pairs = probable_pairs_for_area(area=area).prefetch_related("child_a__names", "child_b__names")
    return Queue(held=list(pending[:HELD_ROWS_LISTED]), pairs=list(pairs[:PAIRS_LISTED]))


def queue_page(*, queue: Queue, area: Organisation, viewer: User) -> dict:
    """The queue page's context: each held row and pair as the page shows it."""
    model = current_model()
    return {
        "area": area,
        "held_rows": [held_summary(held=held) for held in queue.held],
        "pairs": [pair_summary(pair=pair, viewer=viewer, model=model) for pair in queue.pairs],
        "pairs_listed": PAIRS_LISTED,
    }


@dataclass(frozen=True)
class PairReview:
    """A pair to decide, and what the data manager may do with its records."""

    pair: ProbableDuplicate
    in_area: bool  # at least one of the records is one the area looks after
    restricted: list[access.Decision]  # the records shielded from the data manager
    may_merge: bool  # the data manager may change both records

    @property
    def children(self) -> list[Child]:
        return [self.pair.child_a, self.pair.child_b]


def pair_to_review(*, pair_id: int, area: Organisation, viewer: User) -> PairReview | None:
    """An undecided pair (None when there is none), with what children.access says of it."""
    pair = (
        ProbableDuplicate.objects.filter(pk=pair_id, decided_at__isnull=True)
        .select_related("child_a__shielded_by", "child_b__shielded_by")
        .first()
    )
    if pair is None:
        return None
    children = [pair.child_a, pair.child_b]
    in_area = access.children_in_area(area=area).filter(pk__in=[c.pk for c in children])
    return PairReview(
        pair=pair,
        in_area=in_area.exists(),
        restricted=[
            decision
            for child in children
            if not (decision := access.may_read(viewer=viewer, child=child))
        ],
        may_merge=all(access.may_manage(viewer=viewer, child=child) for child in children),
    )


def pair_page(*, review: PairReview, viewer: User) -> dict:
    """A pair's page context: the pair and each record beside the other's NHS number."""
    first, second = review.children
    return {
        "pair": pair_summary(pair=review.pair, viewer=viewer, model=current_model()),
        "children": [
            candidate(child=first, viewer=viewer, held_nhs_numbers=_numbers(second)),
            candidate(child=second, viewer=viewer, held_nhs_numbers=_numbers(first)),
        ],
        "may_merge": review.may_merge,
        "restricted": review.restricted,
    }


@dataclass(frozen=True)
class HeldRowReview:
    held: HeldRow
    candidates: list[Child]
    # Only a record the data manager may add to can be chosen (children.access): a record
    # shielded by another authority is decided by that authority.
    choosable: list[Child]


def pending_held_row(*, held_id: int) -> HeldRow | None:
    """A held row still waiting for a decision (None when there is none)."""
    return HeldRow.objects.filter(pk=held_id, resolved_at__isnull=True).first()


def held_row_to_decide(*, held: HeldRow, viewer: User) -> HeldRowReview:
    candidates = held_row_candidates(held)
    choosable = [child for child in candidates if access.may_attach(viewer=viewer, child=child)]
    return HeldRowReview(held=held, candidates=candidates, choosable=choosable)


def held_row_page(*, review: HeldRowReview, viewer: User) -> dict:
    """A held row's page context: the rows, and the children they look like."""
    numbers = _held_nhs_numbers(review.held)
    return {
        "held": held_summary(held=review.held),
        "candidates": [
            candidate(child=child, viewer=viewer, held_nhs_numbers=numbers)
            for child in review.candidates
        ],
    }


@dataclass(frozen=True)
class MergeAsked:
    """Two records a data manager asked to merge: both (in the order asked) when they may
    change both, else the refusals by public id (children.access.may_manage)."""

    children: list[Child]
    refusals: dict[str, access.Decision]


def children_to_merge(*, viewer: User, public_ids: list[str]) -> MergeAsked:
    found = {
        child.public_id: child
        for child in Child.objects.filter(public_id__in=public_ids)
        .select_related("shielded_by")
        .prefetch_related("names")
    }
    decisions = {
        public_id: (
            access.may_manage(viewer=viewer, child=found[public_id])
            if public_id in found
            else access.Decision(allowed=False, why=access.NOT_IN_AREA)
        )
        for public_id in public_ids
    }
    refusals = {public_id: decision for public_id, decision in decisions.items() if not decision}
    children = [] if refusals else [found[public_id] for public_id in public_ids]
    return MergeAsked(children=children, refusals=refusals)


def _as_written(value: object) -> str:
    """An import's date (YYYY-MM-DD text) as the service writes dates ("19 April 2015");
    anything else as it came."""
    text = str(value or "").strip()
    try:
        return date_format(date.fromisoformat(text), "j F Y")
    except ValueError:
        return text


def held_summary(*, held: HeldRow) -> dict:
    """What the held rows say, for the pages (the rows are the import's text columns), with
    dates and services written as the rest of the service writes them."""
    rows = [row for row in held.rows if isinstance(row, dict)]
    first = rows[0] if rows else {}
    other_names = sorted(
        {name.strip() for row in rows for name in str(row.get("other_names", "")).split(";")} - {""}
    )
    return {
        "pk": held.pk,
        "source": held.source,
        "child_ref": held.child_ref,
        "created_at": held.created_at,
        "updated_at": held.updated_at,
        "area": held.local_authority.name,
        "given_names": first.get("given_names", ""),
        "family_name": first.get("family_name", ""),
        "other_names": other_names,
        "date_of_birth": _as_written(first.get("date_of_birth", "")),
        "sex": dict(Sex.choices).get(str(first.get("sex", "")).lower(), first.get("sex", "")),
        "nhs_number": first.get("nhs_number", ""),
        "involvements": _held_involvements(rows),
        "candidates": len(held.candidates),
    }


def _held_involvements(rows: list[dict]) -> list[dict]:
    services = dict(Service.objects.values_list("code", "name"))
    return [
        {
            "service": services.get(
                str(row.get("service", "")).strip().lower(), row.get("service", "")
            ),
            "organisation": row.get("organisation", ""),
            "practitioner_name": row.get("practitioner_name", ""),
            "started_on": _as_written(row.get("started_on", "")),
            "ended_on": _as_written(row.get("ended_on", "")),
        }
        for row in rows
    ]


def _numbers(child: Child) -> frozenset[str]:
    return frozenset({child.nhs_number}) if child.nhs_number else frozenset()


def pair_summary(*, pair: ProbableDuplicate, viewer: User, model: MatchModel) -> dict:
    """A pair as the queue lists it: each record's public id, and its name unless the record
    is restricted for the data manager."""

    def shown(child: Child) -> dict:
        if not access.may_read(viewer=viewer, child=child):
            return {"public_id": child.public_id, "restricted": True}
        name = next((n for n in child.names.all() if n.kind == "current"), None)
        return {
            "public_id": child.public_id,
            "restricted": False,
            "name": f"{name.given_names} {name.family_name}" if name else "Name not recorded",
            "date_of_birth": child.date_of_birth,
        }

    return {
        "pk": pair.pk,
        "records": [shown(pair.child_a), shown(pair.child_b)],
        "grade": model.grade(pair.probability) or "possible",
        "found_at": pair.found_at,
        "last_found_at": pair.last_found_at,
    }


def _held_nhs_numbers(held: HeldRow) -> frozenset[str]:
    return frozenset(
        str(row.get("nhs_number") or "").replace(" ", "")
        for row in held.rows
        if isinstance(row, dict)
    ) - {""}


def candidate(
    *, child: Child, viewer: User, held_nhs_numbers: frozenset[str] | None = None
) -> dict:
    """A child on the register as the decision pages show it (children.access): a record
    shielded from the data manager shows nothing but whom to ask; one of another area shows
    what a search result shows, and whether its NHS number agrees with the held rows'."""
    read = access.may_read(viewer=viewer, child=child)
    if not read:
        return {"public_id": child.public_id, "restricted": True, "contact": read.contact}
    child_record = selectors.child_record(child=child, viewer=viewer)
    current = child_record.current_address
    shown = {
        "public_id": child.public_id,
        "restricted": False,
        "current_name": child_record.current_name,
        "date_of_birth": child.date_of_birth,
        "sex": child.get_sex_display(),
        "area": current.local_authority.name if current else "Not known",
    }
    if not access.may_manage(viewer=viewer, child=child):
        return {**shown, "other_area": True, "nhs_number_agrees": _agrees(child, held_nhs_numbers)}
    return {
        **shown,
        "other_names": [name for name in child_record.names if name.kind != "current"],
        "nhs_number": child.nhs_number or "",
        "involvements": [*child_record.current_involvements, *child_record.past_involvements],
    }


def _agrees(child: Child, held: frozenset[str] | None) -> str:
    if not child.nhs_number or not held:
        return "Not recorded on both"
    return "The same as in the rows" if held == {child.nhs_number} else "Different from the rows"
