"""The pure parts of matching a child: name normalisation, phonetic keys, date-of-birth slips
and the score. children/search.py puts them together with the database."""

import contextlib
import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import jellyfish
from rapidfuzz.distance import OSA, JaroWinkler

# Letters that Unicode does not decompose into a base letter and an accent.
_FOLD = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "\u0131": "i",
        "þ": "th",
        "ð": "d",
        "ħ": "h",
        "ŀ": "l",
    }
)
_NOT_LETTER = re.compile(r"[^a-z]+")


def fold(text: str) -> str:
    """Lower case, accents and special letters folded to a-z, everything else a space."""
    text = unicodedata.normalize("NFKD", text.casefold()).translate(_FOLD)
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(_NOT_LETTER.sub(" ", text.replace("'", "").replace("\u2019", "")).split())


def name_key(text: str) -> str:
    """A name with case, accents, hyphens, apostrophes and spaces taken out: "O'Brien-Zoë" ->
    "obrienzoe". Two spellings that differ only in those have the same key."""
    return fold(text).replace(" ", "")


def first_given_key(given_names: str) -> str:
    """The key of the first given name ("Eilidh Anne" -> "eilidh")."""
    parts = fold(given_names).split()
    return parts[0] if parts else ""


def phonetic(key: str) -> str:
    """NYSIIS code of a name key: most one-letter slips and sound-alike spellings share it."""
    return jellyfish.nysiis(key)[:12] if key else ""


def name_keys(*, given_names: str, family_name: str) -> dict[str, str]:
    """The stored search keys of a recorded name (children.models.Name)."""
    family_key = name_key(family_name)
    given_key = first_given_key(given_names)
    return {
        "family_key": family_key,
        "given_key": given_key,
        "family_sound": phonetic(family_key),
        "given_sound": phonetic(given_key),
    }


@functools.lru_cache(maxsize=256)
def dob_variants(dob: date) -> tuple[frozenset[date], frozenset[date]]:
    """(close, slipped): the date and its day/month swap; the dates one digit away."""
    close = {dob}
    if dob.day <= 12 and dob.day != dob.month:
        with contextlib.suppress(ValueError):
            close.add(dob.replace(month=dob.day, day=dob.month))
    slipped: set[date] = set()
    text = dob.strftime("%Y%m%d")
    for position in range(8):
        for digit in "0123456789":
            if digit == text[position]:
                continue
            candidate = text[:position] + digit + text[position + 1 :]
            try:
                slipped.add(date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:])))
            except ValueError:
                continue
    return frozenset(close), frozenset(slipped - close)


@dataclass(frozen=True)
class Query:
    family_key: str
    given_key: str = ""
    date_of_birth: date | None = None
    outward_code: str = ""
    sex: str = ""


@dataclass(frozen=True)
class Candidate:
    child_id: int
    family_key: str
    given_key: str
    date_of_birth: date
    sex: str
    outward_codes: frozenset[str] = frozenset()


# A single slip (one letter wrong, missing or extra, or two neighbours swapped) scores at
# least this: Jaro-Winkler alone marks down short names harshly ("Lwa" for "Law": 0.56).
ONE_SLIP = 0.9


def similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    value = JaroWinkler.similarity(a, b)
    if value < ONE_SLIP and OSA.distance(a, b, score_cutoff=1) <= 1:
        return ONE_SLIP
    return value


FAMILY_WEIGHT, GIVEN_WEIGHT, DOB_WEIGHT = 0.45, 0.30, 0.25


class NameScorer:
    """Scores recorded names against one query's names and date of birth (no tie-breaks).

    Built once per search: a date-of-birth block holds a few hundred names, so the
    query's variants and weights are worked out once, not per name.
    """

    def __init__(self, query: Query) -> None:
        self.family_key = query.family_key
        self.given_key = query.given_key
        self.dob = query.date_of_birth
        self.close, self.slipped = (
            dob_variants(self.dob) if self.dob is not None else (frozenset(), frozenset())
        )
        self.total_weight = (
            FAMILY_WEIGHT
            + (GIVEN_WEIGHT if self.given_key else 0.0)
            + (DOB_WEIGHT if self.dob is not None else 0.0)
        )

    def __call__(self, family_key: str, given_key: str, dob: date) -> tuple[bool, float]:
        """(exact, score in 0..1)."""
        family = similarity(self.family_key, family_key)
        total = family * FAMILY_WEIGHT
        exact = family == 1.0
        if self.given_key:
            given = similarity(self.given_key, given_key)
            total += given * GIVEN_WEIGHT
            exact = exact and given == 1.0
        if self.dob is not None:
            if dob == self.dob:
                total += DOB_WEIGHT
            else:
                exact = False
                if dob in self.close:
                    total += 0.9 * DOB_WEIGHT
                elif dob in self.slipped:
                    total += 0.75 * DOB_WEIGHT
        return exact, total / self.total_weight


def score(query: Query, candidate: Candidate) -> tuple[bool, float]:
    """(exact, score in 0..1) of one candidate name against the query.

    Names weigh most; the date of birth counts fully when equal, nearly when
    day and month are swapped, less for a one-digit slip; postcode and sex
    break ties.
    """
    exact, total = NameScorer(query)(
        candidate.family_key, candidate.given_key, candidate.date_of_birth
    )
    if query.outward_code:
        total += 0.02 if query.outward_code in candidate.outward_codes else -0.02
    if query.sex and candidate.sex not in ("", "unknown"):
        total += 0.01 if query.sex == candidate.sex else -0.03
    return exact, max(0.0, min(1.0, total))
