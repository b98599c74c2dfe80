"""Candidate blocks: which recorded names a search scores. Each is an index lookup on the
search keys every name carries (children.models.Name), never a scan of the register, and each
exists for a kind of error. All of them run as one statement.

With a date of birth:
- "the date or its day and month swapped": every name of every child born on the date or its
  swap (about 370 at a million children, 3,800 at 11 million) that could count. This finds
  the child when a name is misspelt, replaced (a step-parent's family name, a nickname) or
  the names are the wrong way round. Most names on a date differ from both typed names and
  cannot reach the lowest threshold, so when the model says so the search first reads the
  keys on the date (keys_on_dates), works out which could agree with the typed names, and
  fetches only the names with one of those keys, its family sound or the typed postcode
  (Narrowed): the same names the scorer would have scored;
- "a mistyped date, same family sound": the dates a record may hold when this one was typed
  (one digit different, neighbouring digits transposed, the year one or two out) for names
  whose family name sounds like the typed one;
- "a mistyped date, same given sound": the same dates, names whose given name sounds like the
  typed one: a changed family name with a slipped date (names swapped with a slipped date
  are the next block's; each sound crosswise here too would double these two blocks' index
  descents, the search's largest cost, for a third error at once);
- "both names' sounds": names whose family and given names sound like the typed ones (either
  way round), whatever the date: the date wrong in more ways than a slip;
Always, with a postcode:
- "the outward code, same family sound" and "the outward code, same given sound": names of
  children living in the typed postcode's outward code (each name carries its child's current
  postcode) that sound like either typed name: a wrong date and a changed name at once (and,
  without a date of birth, the whole search).
Beside the names, the statement returns the past addresses in the typed outward code (a
partial index), so that a postcode from before a move counts in the score with no further
query.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import connection

from children.matching.dates import dob_variants, mistyped_dates, near_dates

# The register holds children under 18, and their records for a while after: no candidate was
# born more than this long ago.
OLDEST = relativedelta(years=25)

NAME = 0  # a row of a recorded name
PAST_ADDRESS = 1  # a row of a past address in the typed outward code

_COLUMNS = "0, child_id, family_key, given_key, family_sound, date_of_birth, postcode"
_NAMES = f"SELECT {_COLUMNS} FROM children_name WHERE "  # noqa: S608 (constants; values bound)
DATE = "the date or its day and month swapped"
MISTYPED_FAMILY = "a mistyped date, same family sound"
SOUNDS = "both names' sounds"
BLOCKS = {
    DATE: "date_of_birth IN ({dates})",
    MISTYPED_FAMILY: ("date_of_birth IN ({mistyped}) AND family_sound IN ({family_sound})"),
    "a mistyped date, same given sound": (
        "date_of_birth IN ({mistyped}) AND given_sound IN ({given_sound})"
    ),
    SOUNDS: "family_sound IN ({sounds}) AND given_sound IN ({sounds})",
    "the outward code, same family sound": "outward_code = %s AND family_sound IN ({sounds})",
    "the outward code, same given sound": "outward_code = %s AND given_sound IN ({sounds})",
}
# The sounds block without its names far from the typed date (worse than a slip: "same
# year" or "different") whose common family name cannot count there
# (children.search._cannot_count_far).
_SOUNDS_NEAR_OR_RARE = (
    "family_sound IN ({sounds}) AND given_sound IN ({sounds})"
    " AND (date_of_birth IN ({near}) OR NOT (family_key IN ({common_far})))"
)
# The mistyped-date block of the family sound without the names of a common family name
# whose given name cannot count.
_MISTYPED_FAMILY_NARROWED = (
    "date_of_birth IN ({mistyped}) AND family_sound IN ({family_sound})"
    " AND (NOT (family_key IN ({common})) OR given_key IN ({givens_kept}))"
)
# The date block narrowed to the names that could count (Narrowed).
_DATE_NARROWED = (
    "date_of_birth IN ({dates}) AND (family_key IN ({could_family})"
    " OR given_key IN ({could_given}) OR family_sound IN ({family_sound})"
    " OR postcode IN ({typed_postcode}))"
)
_PAST_ADDRESSES = (
    "SELECT 1, child_id, '', '', '', NULL, postcode FROM children_address"
    " WHERE outward_code = %s AND moved_out_on IS NOT NULL"
)


@dataclass(frozen=True)
class Narrowed:
    """The date block cut down to the names that could count: a name is kept if its family
    key is one of `families` or its given key one of `givens` (the keys on the date that
    could agree with a typed name: NameComparer.keys_that_could_agree), its family name
    sounds like the typed one, or its child's postcode is the one typed (or both are
    blank). These are the names the scorer would score; it skips the rest unscored
    (children.search.score: a name whose family and given names both differ cannot reach
    the lowest threshold), so the results are the same, without fetching the rest: at
    11,000,000 children the date and its swap hold about 3,800 names."""

    families: list[str]
    givens: list[str]
    # In the mistyped-date block of the typed family sound, a name with one of the family
    # keys `common` is kept only if its given key is one of `givens_kept`
    # (children.search._narrowed).
    common: list[str] = field(default_factory=list)
    givens_kept: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class KeysOnDates:
    families: set[str]  # the family keys on the date and its swap
    givens: set[str]  # their given keys
    # The given keys of the names on the mistyped dates with the typed family sound (the
    # "a mistyped date, same family sound" block's), when asked for.
    mistyped_givens: set[str]


def keys_on_dates(typed, *, today: date, mistyped_givens: bool = False) -> KeysOnDates:
    """The keys of every name on the typed date of birth and its swap (the date block's),
    and with `mistyped_givens` the given keys of the mistyped-date block of the typed
    family sound, read from the indexes without fetching the names."""
    dates = sorted(dob_variants(typed.date_of_birth)[0])
    mistyped = _mistyped(typed.date_of_birth, today) if mistyped_givens else []
    if connection.vendor == "postgresql":
        # Not DISTINCT: sorting the keys by the database's collation took longer (6 ms at
        # 11,000,000 children) than sending them all (1 ms) and making sets here.
        sql = (
            "SELECT string_agg(family_key, ','), string_agg(given_key, ','),"
            " (SELECT string_agg(given_key, ',') FROM children_name"
            "  WHERE date_of_birth = ANY(%s::date[]) AND family_sound = %s)"
            " FROM children_name WHERE date_of_birth = ANY(%s)"
        )
        params: list = [mistyped, typed.family_sound, dates]
    else:
        sql = (
            "SELECT group_concat(DISTINCT family_key), group_concat(DISTINCT given_key),"  # noqa: S608
            " (SELECT group_concat(DISTINCT given_key) FROM children_name"
            f"  WHERE date_of_birth IN ({_marks(mistyped)}) AND family_sound = %s)"
            f" FROM children_name WHERE date_of_birth IN ({_marks(dates)})"
        )
        params = [*mistyped, typed.family_sound, *dates]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        families, givens, mistyped_found = cursor.fetchone()
    # Keys are a-z only (children.matching.keys): a comma cannot be in one.
    return KeysOnDates(
        families={key for key in (families or "").split(",") if key},
        givens={key for key in (givens or "").split(",") if key},
        mistyped_givens={key for key in (mistyped_found or "").split(",") if key},
    )


def _mistyped(born: date, today: date) -> list[date]:
    """The mistyped dates of a typed date that the register can hold (mistyped_dates)."""
    return sorted(mistyped_dates(born, oldest=today - OLDEST, newest=today))


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def statement(
    typed,
    *,
    today: date,
    only: Collection[str] | None = None,
    narrowed: Narrowed | None = None,
    common_far: Collection[str] = (),
) -> tuple[str, list | dict]:
    """The blocks for what was typed (`only` those named, to see what one block finds; the
    date block `narrowed` if given; the names far from the typed date with one of the
    family keys `common_far` left out of the sounds block), as one SQL statement and its
    parameters. On PostgreSQL the lists go as arrays, so that the statement's text is the
    same for every search and psycopg prepares it once (planning the union took longer
    than running it); SQLite gets placeholders."""
    sounds = sorted({sound for sound in (typed.family_sound, typed.given_sound) if sound})
    born = typed.date_of_birth
    close = sorted(dob_variants(born)[0]) if born else []
    mistyped = _mistyped(born, today) if born else []
    wanted = []
    if born is not None:
        wanted.append("the date or its day and month swapped")
        if mistyped and typed.family_sound:
            wanted.append("a mistyped date, same family sound")
        if mistyped and typed.given_sound:
            wanted.append("a mistyped date, same given sound")
        if typed.family_sound and typed.given_sound:
            wanted.append("both names' sounds")
    if typed.outward_code and sounds:
        wanted += ["the outward code, same family sound", "the outward code, same given sound"]
    if only is not None:
        wanted = [name for name in wanted if name in only]
    lists = {
        "dates": close,
        "mistyped": mistyped,
        "sounds": sounds,
        "family_sound": [typed.family_sound],
        "given_sound": [typed.given_sound],
    }
    blocks = dict(BLOCKS)
    if narrowed is not None:
        blocks[DATE] = _DATE_NARROWED
        lists |= {
            # A blank key is never ruled out (the scorer scores it).
            "could_family": ["", *narrowed.families],
            "could_given": ["", *narrowed.givens],
            "typed_postcode": [typed.postcode],
        }
        if narrowed.common:
            blocks[MISTYPED_FAMILY] = _MISTYPED_FAMILY_NARROWED
            lists |= {"common": narrowed.common, "givens_kept": ["", *narrowed.givens_kept]}
    if common_far and born is not None:
        blocks[SOUNDS] = _SOUNDS_NEAR_OR_RARE
        lists |= {"near": sorted(near_dates(born)), "common_far": sorted(common_far)}
    if connection.vendor == "postgresql":
        return _postgresql(wanted, blocks, lists, typed.outward_code)
    parts: list[str] = []
    params: list = []
    for name in wanted:
        sql = blocks[name]
        parts.append(_NAMES + sql.format(**{key: _marks(v) for key, v in lists.items()}))
        for mark in _TOKENS.findall(sql):
            params += [typed.outward_code] if mark == "%s" else lists[mark[1:-1]]
    if typed.outward_code and sounds:
        parts.append(_PAST_ADDRESSES)
        params.append(typed.outward_code)
    return " UNION ALL ".join(parts), params


# The placeholders of a block, in order: a list ({name}) or the outward code (%s).
_TOKENS = re.compile(r"\{\w+\}|%s")


# Lists long enough that PostgreSQL should look each row up in a hash of them rather than
# compare it with each in turn (`= ANY(array)` with a parameter does the latter).
_HASHED = ("could_family", "could_given", "givens_kept")


def _postgresql(wanted, blocks, lists, outward) -> tuple[str, dict]:
    parts = []
    for name in wanted:
        sql = blocks[name].replace("%s", "%(outward)s")
        for key in lists:
            into = f"IN (SELECT unnest(%({key})s::text[]))" if key in _HASHED else None
            sql = sql.replace(f"IN ({{{key}}})", into or f"= ANY(%({key})s)")
        parts.append(_NAMES + sql)
    if outward and lists["sounds"]:
        parts.append(_PAST_ADDRESSES.replace("%s", "%(outward)s"))
    return " UNION ALL ".join(parts), {**lists, "outward": outward}


def candidates(
    typed,
    *,
    today: date,
    only: Collection[str] | None = None,
    narrowed: Narrowed | None = None,
    common_far: Collection[str] = (),
) -> list[tuple]:
    """Rows of (kind, child id, family key, given key, family sound, date of birth,
    postcode): a NAME found by a block (a name found by two comes twice; its postcode is the
    child's current one), or a PAST_ADDRESS in the typed outward code (its postcode)."""
    sql, params = statement(typed, today=today, only=only, narrowed=narrowed, common_far=common_far)
    if not sql:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
