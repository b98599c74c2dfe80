"""Probable duplicates by the match model: the register's children that are probably the same
child as a new one (the add-a-child check, imports and the feed), and new children of one
file that are probably one another.

The same model and scorer as the search (children.search.score): a person is "typed" against
the records the blocks find, and a child whose match probability reaches the model's show
threshold is a probable duplicate, unless the two look like twins or siblings (the family
name agrees and the given names differ entirely: the model, trained on a register without
twins, would take them for one child), or both have an NHS number and the numbers differ
(an NHS number says which child: two of them are two children, and could never be merged).
Many people are checked in a bounded number of
queries (a block's keys a batch), whatever their number; new children of one file are
compared with each other in memory, by the same keys.
"""

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from django.db import connection

from children.identifiers import normalise_postcode
from children.matching.dates import dob_variants
from children.matching.keys import first_given_key, name_key, other_given_keys, phonetic
from children.matching.model import MatchModel, current_model
from children.models import Child

K = TypeVar("K", bound=Hashable)

# How many keys go into one query.
CHUNK = 2_000
_DIFFERENT = "different"


@dataclass(frozen=True)
class Person:
    """Who to look for: a date of birth, every name known as (given_names, family_name), and
    the current postcode, sex and NHS number when known."""

    date_of_birth: date
    names: Sequence[tuple[str, str]]
    postcode: str = ""
    sex: str = ""
    nhs_number: str = ""


def _typed(person: Person, given_names: str, family_name: str):
    from children.search import Typed

    family, given = name_key(family_name), first_given_key(given_names)
    postcode = normalise_postcode(person.postcode) if person.postcode else ""
    return Typed(
        family_key=family,
        given_key=given,
        family_sound=phonetic(family),
        given_sound=phonetic(given),
        date_of_birth=person.date_of_birth,
        postcode=postcode,
        outward_code=postcode.split(" ")[0] if postcode else "",
        sex=person.sex if person.sex not in ("", "unknown") else "",
    )


def _typed_names(person: Person) -> list[tuple[object, bool]]:
    """The person's names as typed searches, one a (given, family) name, then each middle name
    as the given name (a child may go by one), each with whether it is a middle name: those
    are compared with the other record's first given names only, never middle with middle
    (which twins may share)."""
    seen: dict[tuple[str, str], tuple[object, bool]] = {}
    for given_names, family_name in person.names:
        typed = _typed(person, given_names or "", family_name or "")
        if typed.family_key:
            seen.setdefault((typed.family_key, typed.given_key), (typed, False))
    for given_names, family_name in person.names:
        for other in other_given_keys(given_names or ""):
            typed = _typed(person, other, family_name or "")
            if typed.family_key:
                seen.setdefault((typed.family_key, typed.given_key), (typed, True))
    return list(seen.values())


def looks_like_a_sibling(match) -> bool:
    """Twins and siblings share a family name (and often a birthday and a postcode) and have
    different given names: never a probable duplicate of each other."""
    agreement = match.agreement
    return agreement.get("given_name") == _DIFFERENT and agreement.get("family_name") not in (
        _DIFFERENT,
        "null",
    )


# --- Against the register ------------------------------------------------------------------

_SELECT = (
    "SELECT 0, child_id, family_key, given_key, family_sound, date_of_birth, postcode,"
    " given_sound, outward_code FROM children_name WHERE "
)


def _in(column: str, values: list) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _chunks(values: Iterable) -> Iterable[list]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_SELECT + sql, params)
        return cursor.fetchall()


def _register_rows(typed: list) -> tuple[dict, dict, dict]:
    """The register's names found by the duplicate blocks for all these typed names, indexed
    by the block's key: the date or its swap; both names' sounds; the outward code with a
    name's sound. A few queries a batch of keys."""
    dates = {day for t in typed for day in dob_variants(t.date_of_birth)[0]}
    sound_pairs = {
        pair
        for t in typed
        if t.family_sound and t.given_sound
        for pair in ((t.family_sound, t.given_sound), (t.given_sound, t.family_sound))
    }
    outward_sounds = {
        (t.outward_code, sound)
        for t in typed
        if t.outward_code
        for sound in (t.family_sound, t.given_sound)
        if sound
    }
    by_date: dict[date, list[tuple]] = defaultdict(list)
    by_sounds: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    by_outward: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for chunk in _chunks(dates):
        where, params = _in("date_of_birth", chunk)
        for row in _fetch(where, params):
            by_date[row[5]].append(row[:7])
    families = sorted({family for family, _ in sound_pairs})
    for chunk in _chunks(families):
        givens = sorted({given for family, given in sound_pairs if family in set(chunk)})
        family_where, family_params = _in("family_sound", chunk)
        given_where, given_params = _in("given_sound", givens)
        for row in _fetch(f"{family_where} AND {given_where}", [*family_params, *given_params]):
            if (row[4], row[7]) in sound_pairs:
                by_sounds[(row[4], row[7])].append(row[:7])
    for chunk in _chunks({outward for outward, _ in outward_sounds}):
        sounds = sorted({sound for outward, sound in outward_sounds if outward in set(chunk)})
        outward_where, outward_params = _in("outward_code", chunk)
        family_where, family_params = _in("family_sound", sounds)
        given_where, given_params = _in("given_sound", sounds)
        for row in _fetch(
            f"{outward_where} AND ({family_where} OR {given_where})",
            [*outward_params, *family_params, *given_params],
        ):
            for sound in (row[4], row[7]):
                if (row[8], sound) in outward_sounds:
                    by_outward[(row[8], sound)].append(row[:7])
    return by_date, by_sounds, by_outward


def _candidates_for(typed, by_date, by_sounds, by_outward) -> list[tuple]:
    rows: list[tuple] = []
    for day in dob_variants(typed.date_of_birth)[0]:
        rows += by_date.get(day, ())
    if typed.family_sound and typed.given_sound:
        rows += by_sounds.get((typed.family_sound, typed.given_sound), ())
        rows += by_sounds.get((typed.given_sound, typed.family_sound), ())
    if typed.outward_code:
        for sound in {typed.family_sound, typed.given_sound} - {""}:
            rows += by_outward.get((typed.outward_code, sound), ())
    return rows


def probable_duplicate_ids(
    people: Mapping[K, Person], *, model: MatchModel | None = None
) -> dict[K, list[int]]:
    """For each person, the ids of the register's children that are probably the same child,
    best first. Persons with none are left out."""
    from children.search import score

    model = model or current_model()
    # The register's rows are first given names: every typed name, middle ones too, is
    # compared with them.
    typed = {key: [t for t, _ in _typed_names(person)] for key, person in people.items()}
    indexes = _register_rows([t for names in typed.values() for t in names])
    found: dict[K, list[int]] = {}
    for key, names in typed.items():
        best: dict[int, float] = {}
        for t in names:
            for match in score(t, _candidates_for(t, *indexes), model, prior=model.search_prior):
                if match.probability < model.show_at or looks_like_a_sibling(match):
                    continue
                best[match.child_id] = max(best.get(match.child_id, 0.0), match.probability)
        if best:
            found[key] = sorted(best, key=lambda child_id: (-best[child_id], child_id))
    return _without_other_nhs_numbers(found, people)


def _without_other_nhs_numbers(
    found: dict[K, list[int]], people: Mapping[K, Person]
) -> dict[K, list[int]]:
    numbered = {i for key, ids in found.items() if people[key].nhs_number for i in ids}
    numbers: dict[int, str] = {}
    for chunk in _chunks(numbered):
        numbers.update(
            Child.objects.filter(pk__in=chunk, nhs_number__isnull=False).values_list(
                "pk", "nhs_number"
            )
        )
    kept: dict[K, list[int]] = {}
    for key, ids in found.items():
        number = people[key].nhs_number
        ids = [i for i in ids if not (number and numbers.get(i) and numbers[i] != number)]
        if ids:
            kept[key] = ids
    return kept


# --- Within one file --------------------------------------------------------------------------


def within(people: Mapping[K, Person], *, model: MatchModel | None = None) -> dict[K, K]:
    """New children of one file that are probably a child listed before them in it: each such
    key -> the earlier key (in the mapping's order). Compared by the same blocks and scorer,
    in memory."""
    from children.search import score

    model = model or current_model()
    order = {key: position for position, key in enumerate(people)}
    typed = {key: _typed_names(person) for key, person in people.items()}
    index: dict[tuple, list[tuple[K, object, bool]]] = defaultdict(list)
    for key, names in typed.items():
        for t, middle in names:
            lookups = _keys_of(t)
            if t.family_sound and t.given_sound:  # found by its names the wrong way round
                lookups.append(("sounds", t.given_sound, t.family_sound))
            for lookup in lookups:
                index[lookup].append((key, t, middle))
    earlier: dict[K, K] = {}
    for key, names in typed.items():
        if key in earlier:
            continue
        for t, middle in names:
            rivals: dict[K, list] = defaultdict(list)
            for lookup in _keys_of(t):
                for other, other_typed, other_middle in index.get(lookup, ()):
                    if order[other] < order[key] and not (middle and other_middle):
                        rivals[other].append(other_typed)
            for other in sorted(rivals, key=order.get):
                if _numbers_differ(people[key], people[other]):
                    continue
                rows = [
                    (0, 1, r.family_key, r.given_key, r.family_sound, r.date_of_birth, r.postcode)
                    for r in rivals[other]
                ]
                sexes = {1: people[other].sex}
                matches = score(t, rows, model, prior=model.search_prior, sexes=sexes)
                if any(
                    m.probability >= model.show_at and not looks_like_a_sibling(m) for m in matches
                ):
                    earlier[key] = other
                    break
            if key in earlier:
                break
    return earlier


def _numbers_differ(one: Person, other: Person) -> bool:
    return bool(one.nhs_number and other.nhs_number and one.nhs_number != other.nhs_number)


def _keys_of(t) -> list[tuple]:
    keys: list[tuple] = [("date", day) for day in dob_variants(t.date_of_birth)[0]]
    if t.family_sound and t.given_sound:
        keys.append(("sounds", t.family_sound, t.given_sound))
    if t.outward_code:
        keys += [
            ("outward", t.outward_code, sound) for sound in {t.family_sound, t.given_sound} - {""}
        ]
    return keys
