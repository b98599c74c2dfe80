"""Finding a child: candidates from indexed blocks, scored in Python, strongest first.

Blocks (each an indexed query, never a scan of the register):
- NHS number: exact (unique index);
- date of birth: the date and its day/month swap (index on date of birth), every
  recorded name of every child in the block scored; the dates one digit away are
  scored too, but only names that sound alike (NYSIIS) count there;
- postcode (when no date of birth is given): children with an address in the
  same outward code, then scored by name.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from children.identifiers import outward_code
from children.matching import (
    Candidate,
    Query,
    dob_variants,
    first_given_key,
    name_key,
    phonetic,
    score,
)
from children.models import Address, Child, Name

MAX_RESULTS = 10
STRONG = 0.85


@dataclass(frozen=True)
class Match:
    child_id: int
    exact: bool
    score: float


@dataclass(frozen=True)
class SearchOutcome:
    child_ids: list[int]  # at most MAX_RESULTS, best first
    too_many: bool  # more strong matches than can be shown: refine the search


def find_children(
    *,
    family_name: str = "",
    given_name: str = "",
    date_of_birth: date | None = None,
    postcode: str = "",
    sex: str = "",
    nhs_number: str = "",
) -> SearchOutcome:
    if nhs_number:
        ids = list(Child.objects.filter(nhs_number=nhs_number).values_list("pk", flat=True)[:1])
        return SearchOutcome(child_ids=ids, too_many=False)
    query = Query(
        family_key=name_key(family_name),
        given_key=first_given_key(given_name),
        date_of_birth=date_of_birth,
        outward_code=outward_code(postcode) if postcode else "",
        sex=sex,
    )
    candidates = _candidates(query)
    best: dict[int, Match] = {}
    for candidate in candidates:
        exact, value = score(query, candidate)
        current = best.get(candidate.child_id)
        if current is None or (exact, value) > (current.exact, current.score):
            best[candidate.child_id] = Match(candidate.child_id, exact, value)
    strong = sorted(
        (match for match in best.values() if match.score >= STRONG),
        key=lambda match: (match.exact, match.score),
        reverse=True,
    )
    return SearchOutcome(
        child_ids=[match.child_id for match in strong[:MAX_RESULTS]],
        too_many=len(strong) > MAX_RESULTS,
    )


def _candidates(query: Query) -> list[Candidate]:
    if query.date_of_birth is not None:
        close, slipped = dob_variants(query.date_of_birth)
        block = Q(child__date_of_birth__in=close)
        rows = _name_rows(block)
        sound = phonetic(query.family_key)
        slipped_rows = [
            row
            for row in _name_rows(Q(child__date_of_birth__in=slipped))
            if phonetic(name_key(row[2])) == sound
        ]
        rows.extend(slipped_rows)
    else:
        outward = query.outward_code
        child_ids = Address.objects.filter(postcode__startswith=f"{outward} ").values("child_id")
        rows = _name_rows(Q(child_id__in=child_ids))
    outward_codes = _outward_codes({row[0] for row in rows}) if query.outward_code else {}
    return [
        Candidate(
            child_id=child_id,
            family_key=name_key(family),
            given_key=first_given_key(given),
            date_of_birth=dob,
            sex=sex,
            outward_codes=frozenset(outward_codes.get(child_id, ())),
        )
        for child_id, given, family, dob, sex in rows
    ]


def _name_rows(block: Q) -> list[tuple]:
    return list(
        Name.objects.filter(block).values_list(
            "child_id", "given_names", "family_name", "child__date_of_birth", "child__sex"
        )
    )


def _outward_codes(child_ids: set[int]) -> dict[int, set[str]]:
    codes: dict[int, set[str]] = defaultdict(set)
    for child_id, postcode in Address.objects.filter(child_id__in=child_ids).values_list(
        "child_id", "postcode"
    ):
        codes[child_id].add(outward_code(postcode))
    return codes
