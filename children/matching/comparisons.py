"""The match model's comparisons: for each detail, the levels of agreement between what was
typed (or one record) and a record, best first, as a Fellegi-Sunter model (Splink's) has them.

Each comparison is a list of level names and one function that gives the level of a pair.
Level 0 is always "null": the detail is missing on one side, and says nothing. The same
levels are written in SQL for Splink (children.matching.training, which estimates the m and
u probabilities of each level); a test checks that both give every pair the same level.

Names are compared by their keys (children.matching.name_key: case, accents, hyphens,
apostrophes and spaces folded away) and sounds (NYSIIS). When the given and family names are
the wrong way round, the family comparison says "swapped" and the given comparison is null,
so that a swap is one piece of evidence (the swapped level's weight, whose u is the chance
that both names coincide crosswise): neither two contradictions nor the crosswise given name
counted a second time.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

# Jaro-Winkler thresholds of the "alike" levels.
CLOSE = 0.92
FAIR = 0.80
GIVEN_ALIKE = 0.88

FAMILY_LEVELS = (
    "null",
    "exact",
    "swapped with the given name",
    "alike (0.92)",
    "alike (0.80)",
    "one part of the other",
    "same sound",
    "different",
)
GIVEN_LEVELS = (
    "null",
    "exact",
    "alike",
    "nickname or known alternative",
    "initial",
    "different",
)
DATE_LEVELS = (
    "null",
    "exact",
    "day and month swapped",
    "one digit different",
    "neighbouring digits transposed",
    "year one or two out",
    "same year",
    "different",
)
POSTCODE_LEVELS = ("null", "full", "sector", "outward code", "area", "different")
SEX_LEVELS = ("null", "same", "different")

# The levels at which a detail is right or a slip away: a letter or two (alike), a digit of
# the date, or its day and month the wrong way round. A candidate at these levels in every
# detail, both names typed, is the child with a slip in what was typed or in the record, or
# a look-alike: children.search shows it from the model's lower `slip` threshold, as a
# possible match that says which detail differs ("null": the detail was not typed; the names
# must be).
SLIPS: dict[str, frozenset[str]] = {
    "family_name": frozenset({"exact", "alike (0.92)"}),
    "given_name": frozenset({"exact", "alike"}),
    "date_of_birth": frozenset(
        {"exact", "day and month swapped", "one digit different", "neighbouring digits transposed"}
    ),
    "postcode": frozenset({"null", "full", "sector", "outward code"}),
    "sex": frozenset({"null", "same"}),
}


def only_slips(agreement: dict[str, str]) -> bool:
    """Whether every detail of a candidate (comparison -> level label) agrees or is a slip
    away (SLIPS)."""
    return all(agreement.get(name, "null") in levels for name, levels in SLIPS.items())


COMPARISONS: dict[str, tuple[str, ...]] = {
    "family_name": FAMILY_LEVELS,
    "given_name": GIVEN_LEVELS,
    "date_of_birth": DATE_LEVELS,
    "postcode": POSTCODE_LEVELS,
    "sex": SEX_LEVELS,
}


def alike(a: str, b: str, threshold: float) -> bool:
    """Jaro-Winkler at least `threshold`, or a single slip (one letter wrong, missing, extra
    or two neighbours swapped), which Jaro-Winkler marks down harshly in short names."""
    return JaroWinkler.similarity(a, b) >= threshold or OSA.distance(a, b, score_cutoff=1) <= 1


def _one_part_of(key: str, keys: list[str]) -> set[str]:
    """The keys (of three letters or more) that `key` is part of, or that are part of `key`:
    one part of a double-barrelled name, taken or added. By string search over all the keys
    at once, and a set lookup of each part of `key`."""
    if len(key) < 3:
        return set()
    found = {
        key[start:end] for start in range(len(key) - 2) for end in range(start + 3, len(key) + 1)
    }.intersection(keys)
    joined = "," + ",".join(keys) + ","
    at = joined.find(key)
    while at != -1:
        found.add(joined[joined.rfind(",", 0, at) + 1 : joined.find(",", at)])
        at = joined.find(key, at + 1)
    return found


def _jaro_winkler_at_least(key: str, keys: list[str], threshold: float) -> set[str]:
    """The keys whose Jaro-Winkler similarity to `key` is at least `threshold`, as
    JaroWinkler.similarity gives it one pair at a time. rapidfuzz's batch can round a score
    on the threshold just under it ("olasupo" and "olabode": 0.8 alone, left out of a batch
    cut at 0.8), so the batch is cut a little lower and its few keys checked one by one."""
    return {
        choice
        for choice, _, _ in process.extract(
            key, keys, scorer=JaroWinkler.similarity, score_cutoff=threshold - 1e-6, limit=None
        )
        if JaroWinkler.similarity(key, choice) >= threshold
    }


def _alike_in_batch(key: str, keys: list[str], threshold: float) -> set[str]:
    """The keys alike to `key` (as `alike` judges), found by rapidfuzz's C loops."""
    if not key or not keys:
        return set()
    found = _jaro_winkler_at_least(key, keys, threshold)
    found.update(
        choice
        for choice, _, _ in process.extract(
            key, keys, scorer=OSA.distance, score_cutoff=1, limit=None
        )
    )
    return found


class NameComparer:
    """The family and given name levels of recorded names against one search's (or one
    record's) names. `prepare` works out the similarities of many recorded names at once;
    a name not prepared is compared on its own, with the same result."""

    def __init__(self, typed_family: str, typed_family_sound: str, typed_given: str) -> None:
        self.family_key = typed_family
        self.family_sound = typed_family_sound
        self.given_key = typed_given
        self._family_close: dict[str, bool] = {}  # record family alike typed family (0.92)
        self._family_fair: dict[str, bool] = {}  # Jaro-Winkler at least 0.80
        self._given_as_family: dict[str, bool] = {}  # record family alike typed given (swap)
        self._family_as_given: dict[str, bool] = {}  # record given alike typed family (swap)
        self._given_alike: dict[str, bool] = {}  # alike typed given (0.88)
        self._alternatives = known_alternatives(typed_given) if typed_given else frozenset()
        # The keys prepared, and those of them that could agree (could_agree).
        self._families_prepared: set[str] = set()
        self._givens_prepared: set[str] = set()
        self._families_could: set[str] = set()
        self._givens_could: set[str] = set()

    def prepare(self, family_keys: set[str], given_keys: set[str]) -> None:
        """Works out which of the keys not prepared yet could agree with the typed names (a
        search prepares the names on the typed date first, to narrow its blocks, then those
        the blocks found), and caches the comparisons that say yes; a comparison that says
        no is made again if a level needs it. In sets, not key by key: the names on a date
        at 11,000,000 children have about 1,600 family and 1,500 given keys, and a loop over
        them in Python cost more than rapidfuzz's comparisons."""
        families = list(set(family_keys).difference(self._families_prepared))
        givens = list(set(given_keys).difference(self._givens_prepared))
        self._families_prepared.update(families)
        self._givens_prepared.update(givens)
        qf, qg = self.family_key, self.given_key
        if qf:
            close = _alike_in_batch(qf, families, CLOSE)
            fair = _jaro_winkler_at_least(qf, families, FAIR)
            as_given = _alike_in_batch(qf, givens, CLOSE)
            self._family_close.update(dict.fromkeys(close, True))
            self._family_fair.update(dict.fromkeys(fair, True))
            self._family_as_given.update(dict.fromkeys(as_given, True))
            self._families_could.update(close, fair, _one_part_of(qf, families))
            if qf in family_keys:
                self._families_could.add(qf)
            self._givens_could.update(as_given)
        if qg:
            self._given_as_family.update(dict.fromkeys(_alike_in_batch(qg, families, CLOSE), True))
            # Given names only: a swap compares no given name with a family name (its given
            # comparison is null).
            alike_given = _alike_in_batch(qg, givens, GIVEN_ALIKE)
            self._given_alike.update(dict.fromkeys(alike_given, True))
            known = self._alternatives.intersection(givens)
            # An initial: one of the two is a single letter, the other's first.
            initials = (
                [key for key in givens if key[0] == qg]
                if len(qg) == 1
                else [qg[0]]
                if qg[0] in given_keys
                else []
            )
            self._givens_could.update(alike_given, known, initials)
            if qg in given_keys:
                self._givens_could.add(qg)

    def keys_that_could_agree(
        self, family_keys: set[str], given_keys: set[str]
    ) -> tuple[list[str], list[str]]:
        """Of these recorded keys (prepared here), the family keys and the given keys that
        could agree with the typed names (could_agree's first test), sorted."""
        self.prepare(family_keys, given_keys)
        return (
            sorted(self._families_could.intersection(family_keys)),
            sorted(self._givens_could.intersection(given_keys)),
        )

    def could_agree(self, family: str, family_sound: str, given: str) -> bool:
        """Whether either name of a record could be at a level better than "different":
        false means both names are "different" (and not swapped). A name that was not
        prepared could (it is scored, and the levels decide)."""
        if (
            family not in self._families_prepared
            or family in self._families_could
            or given not in self._givens_prepared
            or given in self._givens_could
        ):
            return True
        if self.family_key and self.family_sound and family_sound == self.family_sound:
            return True
        return not (self.family_key and self.given_key)  # with a name missing, nothing to rule out

    def _cached(self, cache: dict[str, bool], key: str, a: str, threshold: float) -> bool:
        found = cache.get(key)
        if found is None:
            found = cache[key] = alike(a, key, threshold)
        return found

    def swapped(self, family: str, given: str) -> bool:
        """The typed names are the record's the wrong way round (each alike the other)."""
        qf, qg = self.family_key, self.given_key
        if not (qf and qg and family and given) or qf == family:
            return False
        return self._cached(self._family_as_given, given, qf, CLOSE) and self._cached(
            self._given_as_family, family, qg, CLOSE
        )

    def family(self, family: str, family_sound: str, given: str) -> int:
        qf = self.family_key
        if not qf or not family:
            return 0
        if qf == family:
            return 1
        if self.swapped(family, given):
            return 2
        if self._cached(self._family_close, family, qf, CLOSE):
            return 3
        fair = self._family_fair.get(family)
        if fair is None:
            fair = self._family_fair[family] = JaroWinkler.similarity(qf, family) >= FAIR
        if fair:
            return 4
        if min(len(qf), len(family)) >= 3 and (qf in family or family in qf):
            return 5  # one part of a double-barrelled name, taken or added
        if self.family_sound and self.family_sound == family_sound:
            return 6
        return 7

    def levels(self, family: str, family_sound: str, given: str) -> tuple[int, int]:
        """(family level, given level) of one recorded name. When the names are the wrong way
        round, the swapped level speaks for both names (its u is the chance that both names
        coincide crosswise), so the given comparison is null: counting the crosswise given
        name again would make a swap weigh more than two right names."""
        level = self.family(family, family_sound, given)
        return level, 0 if level == 2 else self.given(given)

    def given(self, their_given: str) -> int:
        """The given names' level (of a pair whose names are not swapped)."""
        qg = self.given_key
        if not qg or not their_given:
            return 0
        if qg == their_given:
            return 1
        if self._cached(self._given_alike, their_given, qg, GIVEN_ALIKE):
            return 2
        if their_given in self._alternatives:
            return 3
        if qg[0] == their_given[0] and (len(qg) == 1 or len(their_given) == 1):
            return 4
        return 5


def swapped(typed_family: str, typed_given: str, family: str, given: str) -> bool:
    return NameComparer(typed_family, "", typed_given).swapped(family, given)


def family_level(
    typed_family: str,
    typed_family_sound: str,
    typed_given: str,
    family: str,
    family_sound: str,
    given: str,
) -> int:
    return NameComparer(typed_family, typed_family_sound, typed_given).family(
        family, family_sound, given
    )


@lru_cache(maxsize=1)
def _alternatives() -> dict[str, frozenset[str]]:
    """Given name key -> the keys of its nicknames and of the names it is a nickname of
    (the nicknames package's data set: "William" <-> "Bill", "Liam", "Will"...)."""
    from nicknames import NickNamer

    from children.matching.keys import name_key

    table: dict[str, set[str]] = {}
    namer = NickNamer()
    for canonical, nicknames in namer.nickname_lookup.items():
        key = name_key(canonical)
        for nickname in nicknames:
            other = name_key(nickname)
            if key and other and key != other:
                table.setdefault(key, set()).add(other)
                table.setdefault(other, set()).add(key)
    return {key: frozenset(values) for key, values in table.items()}


def known_alternatives(given_key: str) -> frozenset[str]:
    return _alternatives().get(given_key, frozenset())


def given_level(typed_given: str, given: str) -> int:
    """The given names' level of a pair whose names are not swapped (NameComparer.levels)."""
    return NameComparer("", "", typed_given).given(given)


def _digits(day: date) -> tuple[int, ...]:
    """YYYYMMDD as eight digits."""
    year, month, dd = day.year, day.month, day.day
    return (
        year // 1000 % 10,
        year // 100 % 10,
        year // 10 % 10,
        year % 10,
        month // 10,
        month % 10,
        dd // 10,
        dd % 10,
    )


# The typed boxes (day, month, year) as slices of the YYYYMMDD digits.
_BOXES = ((6, 8), (4, 6), (0, 4))


def _transposed(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Exactly one box differs, by two neighbouring digits the other way round."""
    changed = [(start, end) for start, end in _BOXES if a[start:end] != b[start:end]]
    if len(changed) != 1:
        return False
    start, end = changed[0]
    different = [i for i in range(start, end) if a[i] != b[i]]
    return (
        len(different) == 2
        and different[1] == different[0] + 1
        and a[different[0]] == b[different[1]]
        and a[different[1]] == b[different[0]]
    )


class DateComparer:
    """The date-of-birth levels of recorded dates against one typed date (each date once)."""

    def __init__(self, typed: date | None) -> None:
        self.typed = typed
        self.digits = _digits(typed) if typed else ()
        self._levels: dict[date, int] = {}

    def level(self, recorded: date | None) -> int:
        typed = self.typed
        if typed is None or recorded is None:
            return 0
        found = self._levels.get(recorded)
        if found is not None:
            return found
        if typed == recorded:
            found = 1
        elif (
            typed.year == recorded.year
            and typed.day == recorded.month
            and typed.month == recorded.day
        ):
            found = 2
        else:
            theirs = _digits(recorded)
            differ = sum(x != y for x, y in zip(self.digits, theirs, strict=True))
            if differ == 1:
                found = 3
            elif differ == 2 and _transposed(self.digits, theirs):
                found = 4
            elif (
                typed.day == recorded.day
                and typed.month == recorded.month
                and abs(typed.year - recorded.year) <= 2
            ):
                found = 5
            elif typed.year == recorded.year:
                found = 6
            else:
                found = 7
        self._levels[recorded] = found
        return found


def date_level(typed: date | None, recorded: date | None) -> int:
    return DateComparer(typed).level(recorded)


def postcode_parts(postcode: str) -> tuple[str, str, str, str]:
    """(full, sector, outward code, area) of a normalised postcode ("SW1A 1AA")."""
    outward, _, inward = postcode.partition(" ")
    area = outward[:2] if outward[1:2].isalpha() else outward[:1]
    return postcode, f"{outward} {inward[:1]}" if inward else "", outward, area


class PostcodeComparer:
    """The postcode level of a child's postcodes (the best of them) against the typed one."""

    def __init__(self, typed: str) -> None:
        self.typed = typed
        self.parts = postcode_parts(typed) if typed else ("", "", "", "")

    def level(self, recorded) -> int:
        if not self.typed or not recorded:
            return 0
        full, sector, outward, area = self.parts
        best = 5
        for postcode in recorded:
            if postcode == full:
                return 1
            theirs = postcode.partition(" ")[0]
            if theirs == outward:
                best = min(best, 2 if sector and postcode[: len(sector)] == sector else 3)
            elif (
                best > 4 and area and (theirs[:2] if theirs[1:2].isalpha() else theirs[:1]) == area
            ):
                best = 4
        return best


def postcode_level(typed: str, recorded: tuple[str, ...]) -> int:
    """The best level of the typed postcode against any of the child's postcodes."""
    return PostcodeComparer(typed).level(recorded)


def sex_level(typed: str, recorded: str) -> int:
    if typed in ("", "unknown") or recorded in ("", "unknown"):
        return 0
    return 1 if typed == recorded else 2


@dataclass(frozen=True)
class Comparison:
    name: str
    levels: tuple[str, ...]


LevelFunction = Callable[..., int]
