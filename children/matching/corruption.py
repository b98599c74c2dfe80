"""Realistic record errors: how the details a practitioner types differ from the register's.

A search for a child who is on the register fails when the details differ the way real
records do: a typo made on a keyboard, a given name typed as the nickname the child goes by,
a step-parent's family name, the given and family names the wrong way round, a date of birth
with two digits transposed or the year wrong, a postcode from an old letter. This module makes
such differences, reproducibly from a seeded random generator, for two users:

- the match model's training (children.matching.training): pairs known to be the same
  child, from which Splink estimates how often each detail differs between a child's records
  (the m probabilities);
- bench/search.py, which measures the search against each kind.

Each kind is one function `(rng, details, pools) -> Details | None`, None when it cannot apply
to this child (no second given name to prefer, no date that a transposition leaves real).
"""

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

# QWERTY neighbours: the keys a finger slips onto.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _c, _key in enumerate(_row):
        near = [_row[i] for i in (_c - 1, _c + 1) if 0 <= i < len(_row)]
        for _other in (_r - 1, _r + 1):
            if 0 <= _other < len(_ROWS):
                near += [
                    _ROWS[_other][i] for i in (_c - 1, _c, _c + 1) if 0 <= i < len(_ROWS[_other])
                ]
        _NEIGHBOURS[_key] = "".join(near)

# Spellings that sound alike, as names are respelt when heard rather than read.
_RESPELLINGS = (
    ("ph", "f"),
    ("ck", "k"),
    ("ie", "y"),
    ("ey", "y"),
    ("ou", "ow"),
    ("ae", "e"),
    ("th", "t"),
    ("sz", "sh"),
    ("cz", "ch"),
    ("w", "v"),
    ("ll", "l"),
    ("nn", "n"),
    ("mm", "m"),
    ("ss", "s"),
    ("tt", "t"),
    ("ee", "i"),
    ("oo", "u"),
    ("kh", "k"),
    ("dh", "d"),
    ("mohammed", "muhammad"),
    ("mohamed", "muhammad"),
)


@dataclass(frozen=True)
class Details:
    """What a practitioner types into the search, or what one record says."""

    given_name: str
    family_name: str
    date_of_birth: date
    postcode: str = ""
    sex: str = ""
    # The record's other given names (after the first), for a preferred middle name.
    middle_names: str = ""


@dataclass(frozen=True)
class Pools:
    """Names to draw replacements from (children.name_pools by default)."""

    family: Sequence[str]
    girls: Sequence[str]
    boys: Sequence[str]
    english_family: Sequence[str]


@lru_cache(maxsize=1)
def default_pools() -> Pools:
    from children.name_pools import name_pools

    pools = list(name_pools().values())
    english = name_pools()["en_GB"]
    return Pools(
        family=tuple(name for pool in pools for name in pool.family_male + pool.family_female),
        girls=tuple(name for pool in pools for name in pool.girls),
        boys=tuple(name for pool in pools for name in pool.boys),
        english_family=english.family_male,
    )


@lru_cache(maxsize=1)
def _nicknamer():
    from nicknames import NickNamer

    return NickNamer()


# --- Names ---------------------------------------------------------------------------------


def keyboard_typo(rng: random.Random, name: str) -> str:
    """One slip of the fingers: a neighbouring key, a letter left out, doubled or swapped with
    the next, or a respelling by ear. The first letter is seldom wrong."""
    letters = [i for i, char in enumerate(name) if char.isalpha()]
    if len(letters) < 2:
        return name + "e"
    kind = rng.random()
    if kind < 0.15:
        lowered = name.lower()
        found = [(a, b) for a, b in _RESPELLINGS if a in lowered]
        if found:
            a, b = rng.choice(found)
            start = lowered.index(a)
            respelt = b if name[start].islower() else b.capitalize()
            return name[:start] + respelt + name[start + len(a) :]
    i = rng.choice(letters[1:]) if rng.random() < 0.92 else letters[0]
    char = name[i]
    if kind < 0.45:  # a neighbouring key
        near = _NEIGHBOURS.get(char.lower(), "e")
        typed = rng.choice(near)
        return name[:i] + (typed.upper() if char.isupper() else typed) + name[i + 1 :]
    if kind < 0.65:  # left out
        return name[:i] + name[i + 1 :]
    if kind < 0.8:  # doubled
        return name[:i] + char + name[i:]
    j = i + 1 if i + 1 < len(name) and name[i + 1].isalpha() else i - 1
    i, j = sorted((i, j))
    return name[:i] + name[j] + name[i] + name[j + 1 :]


def name_typo(rng: random.Random, details: Details, pools: Pools) -> Details | None:
    if rng.random() < 0.6:
        return replace(details, family_name=keyboard_typo(rng, details.family_name))
    return replace(details, given_name=keyboard_typo(rng, details.given_name))


def names_swapped(rng: random.Random, details: Details, pools: Pools) -> Details | None:
    if details.given_name.lower() == details.family_name.lower():
        return None
    return replace(details, given_name=details.family_name, family_name=details.given_name)


def family_replaced(rng: random.Random, details: Details, pools: Pools) -> Details | None:
    """A step-parent's or adoptive family's name, a double-barrelled name taken apart or
    made, or simply another family's name (a mistake, a sibling's father's)."""
    family = details.family_name
    roll = rng.random()
    if "-" in family and roll < 0.5:
        replaced = rng.choice([part for part in family.split("-") if part])
    elif roll < 0.3:
        other = rng.choice(pools.english_family)
        replaced = f"{family}-{other}" if rng.random() < 0.5 else f"{other}-{family}"
    elif roll < 0.7:
        replaced = rng.choice(pools.english_family)  # a step-parent's name
    else:
        replaced = rng.choice(pools.family)
    if replaced.lower() == family.lower():
        return None
    return replace(details, family_name=replaced)


def given_replaced(rng: random.Random, details: Details, pools: Pools) -> Details | None:
    """The name the child goes by: a nickname or the formal name behind one, the middle name
    they prefer, an anglicised spelling, or a mistake (a sibling's name)."""
    given = details.given_name
    roll = rng.random()
    if roll < 0.45:
        nicknamer = _nicknamer()
        found = sorted(nicknamer.nicknames_of(given) | nicknamer.canonicals_of(given))
        if found:
            return replace(details, given_name=rng.choice(found).capitalize())
    if roll < 0.6 and details.middle_names:
        return replace(details, given_name=details.middle_names.split()[0])
    if roll < 0.75:
        lowered = given.lower()
        found = [(a, b) for a, b in _RESPELLINGS if a in lowered]
        if found:
            a, b = rng.choice(found)
            return replace(details, given_name=lowered.replace(a, b, 1).capitalize())
    same_sex = pools.girls if details.sex == "female" else pools.boys
    other = rng.choice(same_sex)
    if other.lower() == given.lower():
        return None
    return replace(details, given_name=other.split()[0])


# --- Dates of birth ---------------------------------------------------------------------------


def _as_typed(day: date) -> list[str]:
    """The date as a practitioner types it: day, month, year in three boxes."""
    return [f"{day.day:02d}", f"{day.month:02d}", f"{day.year:04d}"]


def _from_boxes(boxes: Sequence[str], today: date) -> date | None:
    """The date typed, if the form would take it: real, not in the future, a year that the
    service could hold a child for (a 4-digit year in the last 30 years)."""
    try:
        typed = date(int(boxes[2]), int(boxes[1]), int(boxes[0]))
    except ValueError:
        return None
    return typed if today.year - 30 <= typed.year and typed <= today else None


def dob_transposed(
    rng: random.Random, details: Details, pools: Pools, today: date | None = None
) -> Details | None:
    """Two neighbouring digits typed the wrong way round (12 for 21, 2012 for 2021)."""
    today = today or date.today()
    boxes = _as_typed(details.date_of_birth)
    options = []
    for box, text in enumerate(boxes):
        for i in range(len(text) - 1):
            if text[i] != text[i + 1]:
                swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
                typed = _from_boxes([*boxes[:box], swapped, *boxes[box + 1 :]], today)
                if typed is not None:
                    options.append(typed)
    if not options:
        return None
    return replace(details, date_of_birth=rng.choice(options))


def dob_two_or_more_digits(
    rng: random.Random, details: Details, pools: Pools, today: date | None = None
) -> Details | None:
    """The year off by one or two (the day and month right), or the day and month both
    wrong, or two digits anywhere mistyped."""
    today = today or date.today()
    born = details.date_of_birth
    roll = rng.random()
    for _ in range(40):
        if roll < 0.4:
            candidate = _from_boxes(
                [*_as_typed(born)[:2], str(born.year + rng.choice((-2, -1, 1, 2)))], today
            )
        elif roll < 0.7:
            candidate = _from_boxes(
                [str(rng.randint(1, 28)), str(rng.randint(1, 12)), str(born.year)], today
            )
            if candidate and (candidate.day == born.day or candidate.month == born.month):
                candidate = None
        else:
            text = born.strftime("%d%m%Y")
            positions = rng.sample(range(8), 2)
            chars = list(text)
            for position in positions:
                chars[position] = rng.choice([d for d in "0123456789" if d != chars[position]])
            text = "".join(chars)
            candidate = _from_boxes([text[:2], text[2:4], text[4:]], today)
        if candidate is not None and candidate != born:
            return replace(details, date_of_birth=candidate)
    return None


def dob_one_digit(
    rng: random.Random, details: Details, pools: Pools, today: date | None = None
) -> Details | None:
    today = today or date.today()
    text = details.date_of_birth.strftime("%d%m%Y")
    for _ in range(40):
        position = rng.randrange(8)
        chars = list(text)
        chars[position] = rng.choice([d for d in "0123456789" if d != chars[position]])
        typed = "".join(chars)
        candidate = _from_boxes([typed[:2], typed[2:4], typed[4:]], today)
        if candidate is not None and candidate != details.date_of_birth:
            return replace(details, date_of_birth=candidate)
    return None


def day_month_swapped(rng: random.Random, details: Details, pools: Pools) -> Details | None:
    born = details.date_of_birth
    if born.day > 12 or born.day == born.month:
        return None
    return replace(details, date_of_birth=born.replace(day=born.month, month=born.day))


# --- Postcodes -------------------------------------------------------------------------------


def postcode_wrong(rng: random.Random, details: Details, pools: Pools) -> Details | None:
    """One character of the outward or the inward code wrong (an old letter, a slip)."""
    postcode = details.postcode
    if " " not in postcode:
        return None
    outward, inward = postcode.split(" ", 1)
    if rng.random() < 0.5:
        digits = [i for i, char in enumerate(outward) if char.isdigit()]
        if not digits:
            return None
        i = rng.choice(digits)
        outward = (
            outward[:i]
            + rng.choice([d for d in "0123456789" if d != outward[i]])
            + outward[i + 1 :]
        )
    else:
        i = rng.randrange(len(inward))
        alphabet = "0123456789" if inward[i].isdigit() else "ABDEFGHJLNPQRSTUWXYZ"
        inward = inward[:i] + rng.choice([c for c in alphabet if c != inward[i]]) + inward[i + 1 :]
    return replace(details, postcode=f"{outward} {inward}")


Corruption = Callable[[random.Random, Details, Pools], Details | None]

# The kinds of difference the search must survive, as the table names them.
KINDS: dict[str, Corruption] = {
    "name_typo": name_typo,
    "postcode_wrong": postcode_wrong,
    "names_swapped": names_swapped,
    "family_replaced": family_replaced,
    "given_replaced": given_replaced,
    "dob_transposed": dob_transposed,
    "dob_two_or_more_digits": dob_two_or_more_digits,
}
# What "two or more at once" draws from (the one-digit slip and the swap are today's kinds).
COMBINABLE: dict[str, Corruption] = {
    **KINDS,
    "dob_one_digit": dob_one_digit,
    "day_month_swapped": day_month_swapped,
}


def combined(rng: random.Random, details: Details, pools: Pools) -> Details | None:
    """Two (sometimes three) of the differences above at once; at most one to the date."""
    kinds = list(COMBINABLE)
    count = 3 if rng.random() < 0.25 else 2
    chosen: list[str] = []
    while len(chosen) < count:
        kind = rng.choice(kinds)
        if kind in chosen or (
            kind.startswith(("dob_", "day_"))
            and any(other.startswith(("dob_", "day_")) for other in chosen)
        ):
            continue
        chosen.append(kind)
    changed = details
    for kind in chosen:
        changed = COMBINABLE[kind](rng, changed, pools) or changed
    return changed if changed != details else None


KINDS["combined"] = combined


def corrupt(
    rng: random.Random, details: Details, kind: str, pools: Pools | None = None
) -> Details | None:
    """The details with one kind of difference, or None if it cannot apply."""
    return KINDS[kind](rng, details, pools or default_pools())


def first_given(given_names: str) -> tuple[str, str]:
    """(the first given name, the rest)."""
    parts = re.split(r"\s+", given_names.strip(), maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def moved(rng: random.Random, details: Details, pools: Pools) -> Details | None:
    """An address after a move: most moves are local (the same outward code, or another
    district of the same postcode area), some are further."""
    postcode = details.postcode
    if " " not in postcode:
        return None
    outward = postcode.split(" ", 1)[0]
    area = "".join(char for char in outward[:2] if char.isalpha())
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    inward = f"{rng.randint(0, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    roll = rng.random()
    if roll < 0.4:
        changed = f"{outward} {inward}"
    elif roll < 0.85:
        changed = f"{area}{rng.randint(1, 29)} {inward}"
    else:
        far = rng.choice([p for p in ("B", "LS", "M", "NE", "BS", "L", "CF", "S") if p != area])
        changed = f"{far}{rng.randint(1, 29)} {inward}"
    return replace(details, postcode=changed) if changed != postcode else None


# How a second record of the same child differs from the first (or what a practitioner types
# from what the record holds): the rate of each difference, applied independently. These
# rates shape the model's m probabilities; the search is measured against each kind alone
# (bench/search.py), and these say how common each is.
SECOND_RECORD_RATES: tuple[tuple[str, float], ...] = (
    ("name_typo", 0.12),
    ("names_swapped", 0.03),
    ("family_replaced", 0.06),
    ("given_replaced", 0.08),
    ("moved", 0.30),
    ("postcode_wrong", 0.05),
)
DATE_RATES: tuple[tuple[str, float], ...] = (
    ("dob_one_digit", 0.03),
    ("dob_transposed", 0.02),
    ("day_month_swapped", 0.02),
    ("dob_two_or_more_digits", 0.02),
)
_SECOND_RECORD_KINDS: dict[str, Corruption] = {**COMBINABLE, "moved": moved}


def second_record(rng: random.Random, details: Details, pools: Pools | None = None) -> Details:
    """A second record of the same child: each difference of SECOND_RECORD_RATES at its rate,
    at most one difference in the date of birth, and sometimes the sex not recorded."""
    pools = pools or default_pools()
    changed = details
    for kind, rate in SECOND_RECORD_RATES:
        if rng.random() < rate:
            changed = _SECOND_RECORD_KINDS[kind](rng, changed, pools) or changed
    roll = rng.random()
    for kind, rate in DATE_RATES:
        if roll < rate:
            changed = _SECOND_RECORD_KINDS[kind](rng, changed, pools) or changed
            break
        roll -= rate
    roll = rng.random()
    if roll < 0.05:
        changed = replace(changed, sex="")
    elif roll < 0.055 and changed.sex in ("female", "male"):  # recorded wrong
        changed = replace(changed, sex="male" if changed.sex == "female" else "female")
    if rng.random() < 0.01 and changed.given_name:  # an initial only
        changed = replace(changed, given_name=changed.given_name[0])
    return changed
