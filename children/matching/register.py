"""Probable duplicates across the whole register, by the match model, with Splink on DuckDB:
`manage.py find_duplicates`.

Every name of every child is a record (a child known by a previous family name is compared
by it too), with the child's date of birth, current postcode and sex; so is each middle name
as the given name (a child may go by one), compared with other records' first given names
only (twins may share a middle name). Splink scores the
pairs that the duplicate blocks (children.matching.training.DUPLICATE_BLOCKS, each an
equi-join named for the error it catches) bring together, with the model file's m and u
probabilities, so that a pair scores here as the search would score it; the family names'
frequencies come from the register being checked. A pair of children is a probable
duplicate when its best pair of names reaches the model's show threshold, unless:

- the two look like twins or siblings (the family name agrees, the first given names differ
  entirely, by any pair of the two children's names), as in children.probable_duplicates,
  and either their recorded sexes differ or an organisation knows both, unless one goes by
  the other's middle name: twins are known to the same school, GP or social worker, while a
  second record of one child comes from a source that did not recognise the first. Two
  twin-looking records that no organisation shares are listed for a data manager to
  decide (an unrelated given name is what a preferred or anglicised name, or a mistake,
  looks like); a decision "different children" is never asked again;
- both have an NHS number and the numbers differ (two children, never mergeable).

For a national register the same settings run on Spark through Splink's Spark backend
(README, "Finding a child"); nothing here is DuckDB-specific but the connection.
"""

import copy
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from children.matching import comparisons as levels
from children.matching.keys import other_given_keys, phonetic
from children.matching.model import MatchModel
from children.matching.training import COMPARED, DUPLICATE_BLOCKS, compared_values

logger = logging.getLogger(__name__)

COLUMNS = ("unique_id", "child_id", "middle", "nhs_number", "known_to", *COMPARED)


@dataclass(frozen=True, slots=True)
class NameRecord:
    """One name of one child, as the register holds its keys."""

    name_id: int
    child_id: int
    nhs_number: str
    family_key: str
    given_key: str
    family_sound: str
    given_sound: str
    date_of_birth: date
    postcode: str
    sex: str
    other_given_keys: tuple[str, ...] = ()  # the middle names
    known_to: tuple[int, ...] = ()  # the organisations of the child's involvements


@dataclass(frozen=True, slots=True)
class Pair:
    """Two children (lower id first) that are probably one, with the best probability of
    their names' pairs."""

    child_a: int
    child_b: int
    probability: float


Progress = Callable[[str], None]


def register_name_records(*, chunk: int = 50_000) -> Iterable[NameRecord]:
    """Every name of every child on the register, with the child's details and the
    organisations that know the child (two queries, read in chunks; from the replica inside
    a replica_reads() scope: signposting.db_router)."""
    from signposting.db_router import read_connection

    connection = read_connection()

    known_to: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT child_id, organisation_id FROM children_involvement"
            " ORDER BY child_id, organisation_id"
        )
        while rows := cursor.fetchmany(chunk):
            for child_id, organisation_id in rows:
                known_to.setdefault(child_id, []).append(organisation_id)
    sql = (
        "SELECT n.id, n.child_id, coalesce(c.nhs_number, ''), n.family_key, n.given_key,"
        " n.family_sound, n.given_sound, c.date_of_birth, n.postcode, c.sex, n.given_names"
        " FROM children_name n JOIN children_child c ON c.id = n.child_id"
        " ORDER BY n.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            for *row, given_names in rows:
                yield NameRecord(
                    *row,
                    other_given_keys=other_given_keys(given_names),
                    known_to=tuple(known_to.get(row[1], ())),
                )


# A name's records: the name itself, then one for each middle name as the given name.
MIDDLE_NAMES_PER_NAME = 15


def _variants(r: NameRecord) -> Iterable[tuple[int, bool, str, str]]:
    """(unique id, whether a middle name, given key, given sound) of each record of a name."""
    yield r.name_id * (MIDDLE_NAMES_PER_NAME + 1), False, r.given_key, r.given_sound
    for n, key in enumerate(r.other_given_keys[:MIDDLE_NAMES_PER_NAME], start=1):
        yield r.name_id * (MIDDLE_NAMES_PER_NAME + 1) + n, True, key, phonetic(key)


def _table(records: Iterable[NameRecord]):
    """The records as an Arrow table of the comparisons' columns."""
    import pyarrow as pa

    columns: dict[str, list] = {name: [] for name in COLUMNS}
    alternatives: dict[str, list[str]] = {}
    for r in records:
        for unique_id, middle, given_key, given_sound in _variants(r):
            if given_key not in alternatives:
                alternatives[given_key] = sorted(levels.known_alternatives(given_key))
            values = (
                unique_id,
                r.child_id,
                middle,
                r.nhs_number or None,
                list(r.known_to),
                *compared_values(
                    family_key=r.family_key,
                    given_key=given_key,
                    family_sound=r.family_sound,
                    given_sound=given_sound,
                    born=r.date_of_birth,
                    postcode=r.postcode,
                    sex=r.sex,
                    alternatives=alternatives[given_key],
                ),
            )
            for name, value in zip(COLUMNS, values, strict=True):
                columns[name].append(value)
    known_to = pa.array(columns.pop("known_to"), type=pa.list_(pa.int64()))
    return pa.table({**columns, "known_to": known_to})


def settings_for(model: MatchModel) -> dict:
    """Splink's settings from the model file: its m and u, the search's prior (one child
    against each other child, as a search is), and the duplicate blocks, each between two
    different children."""
    settings = copy.deepcopy(model.splink_settings)
    settings["probability_two_random_records_match"] = 2**model.search_prior / (
        1 + 2**model.search_prior
    )
    settings["blocking_rules_to_generate_predictions"] = [
        {
            "blocking_rule": f"{rule} AND l.child_id <> r.child_id AND NOT (l.middle AND r.middle)",
            "sql_dialect": "duckdb",
        }
        for rule in DUPLICATE_BLOCKS.values()
    ]
    settings["additional_columns_to_retain"] = ["child_id", "middle", "nhs_number", "known_to"]
    settings["retain_matching_columns"] = False
    # The comparison vector (gamma_*) of each pair, for the twins rule.
    settings["retain_intermediate_calculation_columns"] = True
    settings.pop("linker_uid", None)
    return settings


def find_pairs(
    records: Iterable[NameRecord],
    *,
    model: MatchModel,
    progress: Progress = lambda line: None,
    threads: int | None = None,
    threshold: float | None = None,
) -> list[Pair]:
    """The probable duplicate pairs among the records, best first: those whose probability
    reaches `threshold` (the model's show threshold unless told, as for a search)."""
    import duckdb
    from splink import DuckDBAPI, Linker

    started = time.monotonic()
    table = _table(records)
    progress(f"{table.num_rows:,} names read in {time.monotonic() - started:.0f} s")
    connection = duckdb.connect()
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    connection.register("names_arrow", table)
    connection.execute("CREATE TABLE names AS SELECT * FROM names_arrow")
    connection.unregister("names_arrow")
    del table
    linker = Linker(DuckDBAPI(connection=connection).register("names"), settings_for(model))
    scored = time.monotonic()
    predictions = linker.inference.predict(
        threshold_match_probability=model.show_at if threshold is None else threshold
    )
    progress(f"pairs scored in {time.monotonic() - scored:.0f} s")

    # Two children are twins to the rule when any pair of their names (first given names,
    # not middle ones) is: a previous family name must not make a pair of twins look like
    # one child who changed both names.
    # The twins rule by the comparisons' levels, which Splink's output gives as their match
    # weights (mw_*): a family name that is neither "different" nor missing (the null level
    # weighs 0), given names "different", and either an organisation that knows both
    # children (a second record of one child comes from a source that did not recognise the
    # first) or sexes recorded different (one child's record rarely has both its given name
    # and its sex wrong).
    def level(comparison: str, label: str) -> str:
        weight = model.weights[comparison][levels.COMPARISONS[comparison].index(label)]
        return f"abs(mw_{comparison} - {weight!r}) < 1e-6"

    shared = "list_has_any(known_to_l, known_to_r)"
    twins = (
        f"(NOT middle_l AND NOT middle_r"
        f" AND NOT {level('family_name', 'different')} AND mw_family_name <> 0"
        f" AND {level('given_name', 'different')}"
        f" AND ({shared} OR {level('sex', 'different')}))"
    )
    # ...unless one goes by the other's middle name.
    goes_by_a_middle_name = f"((middle_l OR middle_r) AND {level('given_name', 'exact')})"
    # A table Splink named and the model's floats: nothing from a user.
    rows = connection.execute(
        f"""
        SELECT least(child_id_l, child_id_r) AS a, greatest(child_id_l, child_id_r) AS b,
               max(match_probability) AS probability
        FROM {predictions.physical_name}
        WHERE NOT (nhs_number_l IS NOT NULL AND nhs_number_r IS NOT NULL
                   AND nhs_number_l <> nhs_number_r)
        GROUP BY 1, 2
        HAVING NOT (bool_or({twins}) AND NOT bool_or({goes_by_a_middle_name}))
        ORDER BY probability DESC, a, b
        """  # noqa: S608
    ).fetchall()
    connection.close()
    return [Pair(child_a=a, child_b=b, probability=p) for a, b, p in rows]
