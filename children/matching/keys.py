"""Names as the search compares them: folded to a-z keys, and their sounds (NYSIIS)."""

import re
import unicodedata

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


def other_given_keys(given_names: str) -> tuple[str, ...]:
    """The keys of the given names after the first ("Eilidh Anne" -> ("anne",)): the middle
    names a child may go by."""
    return tuple(fold(given_names).split()[1:])


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
