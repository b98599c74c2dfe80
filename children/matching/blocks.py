"""Candidate blocks: which recorded names a search scores. Each is an index lookup on the
search keys every name carries (children.models.Name), never a scan of the register, and each
exists for a kind of error. All of them run as one statement.

With a date of birth:
- "the date or its day and month swapped": every name of every child born on the date or its
  swap (a few hundred at a million children). This finds the child when a name is misspelt,
  replaced (a step-parent's family name, a nickname) or the names are the wrong way round;
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
from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import connection

from children.matching.dates import dob_variants, mistyped_dates

# The register holds children under 18, and their records for a while after: no candidate was
# born more than this long ago.
OLDEST = relativedelta(years=25)

NAME = 0  # a row of a recorded name
PAST_ADDRESS = 1  # a row of a past address in the typed outward code

_COLUMNS = "0, child_id, family_key, given_key, family_sound, date_of_birth, postcode"
_NAMES = f"SELECT {_COLUMNS} FROM children_name WHERE "  # noqa: S608 (constants; values bound)
BLOCKS = {
    "the date or its day and month swapped": "date_of_birth IN ({dates})",
    "a mistyped date, same family sound": (
        "date_of_birth IN ({mistyped}) AND family_sound IN ({family_sound})"
    ),
    "a mistyped date, same given sound": (
        "date_of_birth IN ({mistyped}) AND given_sound IN ({given_sound})"
    ),
    "both names' sounds": "family_sound IN ({sounds}) AND given_sound IN ({sounds})",
    "the outward code, same family sound": "outward_code = %s AND family_sound IN ({sounds})",
    "the outward code, same given sound": "outward_code = %s AND given_sound IN ({sounds})",
}
_PAST_ADDRESSES = (
    "SELECT 1, child_id, '', '', '', NULL, postcode FROM children_address"
    " WHERE outward_code = %s AND moved_out_on IS NOT NULL"
)


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def statement(
    typed, *, today: date, only: Collection[str] | None = None
) -> tuple[str, list | dict]:
    """The blocks for what was typed (`only` those named, to see what one block finds), as
    one SQL statement and its parameters. On PostgreSQL the lists go as arrays, so that the
    statement's text is the same for every search and psycopg prepares it once (planning the
    union took longer than running it); SQLite gets placeholders."""
    sounds = sorted({sound for sound in (typed.family_sound, typed.given_sound) if sound})
    born = typed.date_of_birth
    close = sorted(dob_variants(born)[0]) if born else []
    mistyped = sorted(mistyped_dates(born, oldest=today - OLDEST, newest=today)) if born else []
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
    if connection.vendor == "postgresql":
        return _postgresql(wanted, lists, typed.outward_code)
    parts: list[str] = []
    params: list = []
    for name in wanted:
        sql = BLOCKS[name]
        parts.append(_NAMES + sql.format(**{key: _marks(v) for key, v in lists.items()}))
        for mark in _TOKENS.findall(sql):
            params += [typed.outward_code] if mark == "%s" else lists[mark[1:-1]]
    if typed.outward_code and sounds:
        parts.append(_PAST_ADDRESSES)
        params.append(typed.outward_code)
    return " UNION ALL ".join(parts), params


# The placeholders of a block, in order: a list ({name}) or the outward code (%s).
_TOKENS = re.compile(r"\{\w+\}|%s")


def _postgresql(wanted, lists, outward) -> tuple[str, dict]:
    parts = []
    for name in wanted:
        sql = BLOCKS[name].replace("%s", "%(outward)s")
        for key in lists:
            sql = sql.replace(f"IN ({{{key}}})", f"= ANY(%({key})s)")
        parts.append(_NAMES + sql)
    if outward and lists["sounds"]:
        parts.append(_PAST_ADDRESSES.replace("%s", "%(outward)s"))
    return " UNION ALL ".join(parts), {**lists, "outward": outward}


def candidates(typed, *, today: date, only: Collection[str] | None = None) -> list[tuple]:
    """Rows of (kind, child id, family key, given key, family sound, date of birth,
    postcode): a NAME found by a block (a name found by two comes twice; its postcode is the
    child's current one), or a PAST_ADDRESS in the typed outward code (its postcode)."""
    sql, params = statement(typed, today=today, only=only)
    if not sql:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
