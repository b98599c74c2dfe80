"""Finding a child: candidates from indexed blocks, scored in Python, strongest first.

Blocks (each an index lookup, never a scan of the register), on the search keys
every recorded name carries (children.matching.name_keys, stored on Name):
- NHS number: exact (unique index);
- date of birth: every recorded name (current, previous, alias, preferred) of
  every child born on the date or its day/month swap is scored; on the dates one
  digit away only names that sound alike (NYSIIS) are, so a slip in the date
  and a typo in the name together still find the child;
- postcode (when no date of birth is given): every recorded name of children
  with an address, current or past, in the same outward code.
Scores are Jaro-Winkler on the normalised names (rapidfuzz) and the date
(children.matching.score); exact matches first, then by score.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.utils import timezone

from children.identifiers import outward_code
from children.matching import (
    Candidate,
    NameScorer,
    Query,
    dob_variants,
    first_given_key,
    name_key,
    phonetic,
    score,
)
from children.models import Address, Child

MAX_RESULTS = 10
STRONG = 0.85
# Postcode and sex move a score by at most this much (children.matching.score).
TIE_BREAKS = 0.03
# Slipped dates of birth further back than this hold no child the register can hold.
OLDEST = relativedelta(years=30)

_NAME_COLUMNS = ("child_id", "family_key", "given_key", "date_of_birth")


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
    """The children that match, best first. The caller has checked the minimum criteria."""
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
    if not query.family_key or (date_of_birth is None and not query.outward_code):
        return SearchOutcome(child_ids=[], too_many=False)
    rows = _block(query)
    # Names and date first; postcode and sex then only break ties among the close ones.
    by_name = NameScorer(query)
    scored: dict[int, tuple[bool, float]] = {}
    for child_id, family_key, given_key, dob in rows:
        result = by_name(family_key, given_key, dob)
        if result > scored.get(child_id, (False, -1.0)):
            scored[child_id] = result
    close = [child_id for child_id, (_, value) in scored.items() if value >= STRONG - TIE_BREAKS]
    if close and (query.sex or query.outward_code):
        scored.update(_with_tie_breaks(query, rows, set(close)))
    strong = sorted(
        (
            Match(child_id, exact, value)
            for child_id, (exact, value) in scored.items()
            if value >= STRONG
        ),
        key=lambda match: (not match.exact, -match.score, match.child_id),
    )
    return SearchOutcome(
        child_ids=[match.child_id for match in strong[:MAX_RESULTS]],
        too_many=len(strong) > MAX_RESULTS,
    )


# Every search runs one of these: plain SQL on the search keys, no ORM compilation.
_BY_DATE = (
    "SELECT child_id, family_key, given_key, date_of_birth FROM children_name"
    " WHERE date_of_birth IN ({close})"
)
_SLIPPED = " OR (date_of_birth IN ({slipped}) AND family_sound = %s)"
_BY_OUTWARD_CODE = (
    "SELECT child_id, family_key, given_key, date_of_birth FROM children_name WHERE child_id IN"
    " (SELECT child_id FROM children_address WHERE outward_code = %s)"
)


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _block(query: Query) -> list[tuple[int, str, str, date]]:
    if query.date_of_birth is not None:
        close, slipped = dob_variants(query.date_of_birth)
        oldest = timezone.localdate() - OLDEST
        close = sorted(close)
        slipped = sorted(day for day in slipped if day >= oldest)
        sql, params = _BY_DATE.format(close=_placeholders(close)), [*close]
        if slipped:
            sql += _SLIPPED.format(slipped=_placeholders(slipped))
            params += [*slipped, phonetic(query.family_key)]
    else:
        sql, params = _BY_OUTWARD_CODE, [query.outward_code]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _with_tie_breaks(
    query: Query, rows: list[tuple[int, str, str, date]], child_ids: set[int]
) -> dict[int, tuple[bool, float]]:
    sexes = dict(Child.objects.filter(pk__in=child_ids).values_list("pk", "sex"))
    outward_codes: dict[int, set[str]] = defaultdict(set)
    if query.outward_code:
        for child_id, code in Address.objects.filter(child_id__in=child_ids).values_list(
            "child_id", "outward_code"
        ):
            outward_codes[child_id].add(code)
    best: dict[int, tuple[bool, float]] = {}
    for child_id, family_key, given_key, dob in rows:
        if child_id not in child_ids:
            continue
        candidate = Candidate(
            child_id,
            family_key,
            given_key,
            dob,
            sexes.get(child_id, ""),
            frozenset(outward_codes.get(child_id, ())),
        )
        result = score(query, candidate)
        if result > best.get(child_id, (False, -1.0)):
            best[child_id] = result
    return best
