"""Estimating the match model with Splink (DuckDB, in process): `manage.py train_match_model`.

The model is Fellegi-Sunter's, as Splink builds it: for each detail (children.matching.
comparisons) the probability of each level of agreement among records of the same child (m)
and among records of different children (u); their log-ratio is the level's match weight.

- u comes from the register itself, by random sampling: what a coincidence looks like here
  (two children born on the same day, a common family name);
- m comes from pairs known to be the same child: each sampled child's record beside a copy
  that differs as real records of one child differ (children.matching.corruption.
  second_record). Expectation maximisation is not used: on a register that holds almost no
  duplicates it learns nothing (the issue's feasibility run).
- family names carry a term-frequency adjustment: a match on a rare name counts for more.

The comparisons are written here in DuckDB's SQL, level for level as comparisons.py has them
in Python; tests/children/test_match_model.py checks that both give the same levels and
weights. Nothing here runs at request time: the search reads the model file (model.py).
"""

import json
import logging
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from children.matching import comparisons as levels
from children.matching.comparisons import CLOSE, FAIR, GIVEN_ALIKE, postcode_parts
from children.matching.corruption import Details, default_pools, first_given, second_record
from children.matching.keys import name_keys

logger = logging.getLogger(__name__)

# The columns the comparisons read (comparisons_sql), in compared_values' order.
COMPARED = (
    "family_key",
    "given_key",
    "family_sound",
    "given_sound",
    "given_alternatives",
    "dob",
    "dob_text",
    "dob_day",
    "dob_month",
    "dob_year",
    "postcode",
    "sector",
    "outward",
    "area",
    "sex",
)
COLUMNS = ("unique_id", "cluster", *COMPARED)


def compared_values(
    *,
    family_key: str,
    given_key: str,
    family_sound: str,
    given_sound: str,
    born: date,
    postcode: str,
    sex: str,
    alternatives: Sequence[str],
) -> tuple:
    """One record's values of COMPARED (missing values as NULL)."""
    full, sector, outward, area = postcode_parts(postcode) if postcode else ("",) * 4
    return (
        family_key or None,
        given_key or None,
        family_sound or None,
        given_sound or None,
        list(alternatives),
        born,
        born.strftime("%Y%m%d"),
        f"{born.day:02d}",
        f"{born.month:02d}",
        f"{born.year:04d}",
        full or None,
        sector or None,
        outward or None,
        area or None,
        sex if sex not in ("", "unknown") else None,
    )


@dataclass(frozen=True)
class Record:
    """One record as the model compares it (the keys, not the names as written)."""

    cluster: int  # the child: records of one child share it
    details: Details


def record_row(unique_id: int, record: Record) -> tuple:
    d = record.details
    keys = name_keys(given_names=d.given_name, family_name=d.family_name)
    return (
        unique_id,
        record.cluster,
        *compared_values(
            **keys,
            born=d.date_of_birth,
            postcode=d.postcode,
            sex=d.sex,
            alternatives=sorted(levels.known_alternatives(keys["given_key"])),
        ),
    )


# --- The comparisons in SQL (Splink's settings) --------------------------------------------


def _alike_sql(a: str, b: str, threshold: float) -> str:
    return (
        f"(jaro_winkler_similarity({a}, {b}) >= {threshold} OR damerau_levenshtein({a}, {b}) <= 1)"
    )


SWAPPED = (
    "(family_key_l <> family_key_r AND given_key_l IS NOT NULL AND given_key_r IS NOT NULL"
    f" AND {_alike_sql('family_key_l', 'given_key_r', CLOSE)}"
    f" AND {_alike_sql('given_key_l', 'family_key_r', CLOSE)})"
)


def _level(sql: str, label: str, **extra) -> dict:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


def comparisons_sql(*, tf_minimum_u_value: float) -> list[dict]:
    L = levels
    family = [
        _level(
            "family_key_l IS NULL OR family_key_r IS NULL", L.FAMILY_LEVELS[0], is_null_level=True
        ),
        _level(
            "family_key_l = family_key_r",
            L.FAMILY_LEVELS[1],
            tf_adjustment_column="family_key",
            tf_adjustment_weight=1.0,
            tf_minimum_u_value=tf_minimum_u_value,
        ),
        _level(SWAPPED, L.FAMILY_LEVELS[2]),
        # A near miss on a rare name counts for more too (the record's name's frequency).
        _level(
            _alike_sql("family_key_l", "family_key_r", CLOSE),
            L.FAMILY_LEVELS[3],
            tf_adjustment_column="family_key",
            tf_adjustment_weight=1.0,
            tf_minimum_u_value=tf_minimum_u_value,
        ),
        _level(
            f"jaro_winkler_similarity(family_key_l, family_key_r) >= {FAIR}", L.FAMILY_LEVELS[4]
        ),
        _level(
            "least(length(family_key_l), length(family_key_r)) >= 3 AND"
            " (contains(family_key_l, family_key_r) OR contains(family_key_r, family_key_l))",
            L.FAMILY_LEVELS[5],
        ),
        _level("family_sound_l = family_sound_r", L.FAMILY_LEVELS[6]),
        _level("ELSE", L.FAMILY_LEVELS[7]),
    ]
    given = [
        # Names the wrong way round: the family comparison's swapped level speaks for both.
        _level(
            f"given_key_l IS NULL OR given_key_r IS NULL OR {SWAPPED}",
            L.GIVEN_LEVELS[0],
            is_null_level=True,
        ),
        _level("given_key_l = given_key_r", L.GIVEN_LEVELS[1]),
        _level(_alike_sql("given_key_l", "given_key_r", GIVEN_ALIKE), L.GIVEN_LEVELS[2]),
        _level("list_contains(given_alternatives_l, given_key_r)", L.GIVEN_LEVELS[3]),
        _level(
            "left(given_key_l, 1) = left(given_key_r, 1) AND"
            " (length(given_key_l) = 1 OR length(given_key_r) = 1)",
            L.GIVEN_LEVELS[4],
        ),
        _level("ELSE", L.GIVEN_LEVELS[5]),
    ]
    transposed = " OR ".join(
        f"({part}_l <> {part}_r AND hamming({part}_l, {part}_r) = 2"
        f" AND damerau_levenshtein({part}_l, {part}_r) = 1"
        + "".join(
            f" AND {other}_l = {other}_r"
            for other in ("dob_day", "dob_month", "dob_year")
            if other != part
        )
        + ")"
        for part in ("dob_day", "dob_month", "dob_year")
    )
    dob = [
        _level("dob_l IS NULL OR dob_r IS NULL", L.DATE_LEVELS[0], is_null_level=True),
        _level("dob_l = dob_r", L.DATE_LEVELS[1]),
        _level(
            "dob_year_l = dob_year_r AND dob_day_l = dob_month_r AND dob_month_l = dob_day_r",
            L.DATE_LEVELS[2],
        ),
        _level("hamming(dob_text_l, dob_text_r) = 1", L.DATE_LEVELS[3]),
        _level(transposed, L.DATE_LEVELS[4]),
        _level(
            "dob_day_l = dob_day_r AND dob_month_l = dob_month_r"
            " AND abs(cast(dob_year_l AS INTEGER) - cast(dob_year_r AS INTEGER)) <= 2",
            L.DATE_LEVELS[5],
        ),
        _level("dob_year_l = dob_year_r", L.DATE_LEVELS[6]),
        _level("ELSE", L.DATE_LEVELS[7]),
    ]
    postcode = [
        _level(
            "postcode_l IS NULL OR postcode_r IS NULL", L.POSTCODE_LEVELS[0], is_null_level=True
        ),
        _level("postcode_l = postcode_r", L.POSTCODE_LEVELS[1]),
        _level("sector_l = sector_r", L.POSTCODE_LEVELS[2]),
        _level("outward_l = outward_r", L.POSTCODE_LEVELS[3]),
        _level("area_l = area_r", L.POSTCODE_LEVELS[4]),
        _level("ELSE", L.POSTCODE_LEVELS[5]),
    ]
    sex = [
        _level("sex_l IS NULL OR sex_r IS NULL", L.SEX_LEVELS[0], is_null_level=True),
        _level("sex_l = sex_r", L.SEX_LEVELS[1]),
        _level("ELSE", L.SEX_LEVELS[2]),
    ]
    return [
        {"output_column_name": name, "comparison_levels": comparison_levels}
        for name, comparison_levels in (
            ("family_name", family),
            ("given_name", given),
            ("date_of_birth", dob),
            ("postcode", postcode),
            ("sex", sex),
        )
    ]


# Blocking rules for find_duplicates: each an equi-join on a few keys (never all pairs of a
# large group), named for the error it catches. Every rule but the two on the outward code
# with the date holds a name's sound, so the pairs it brings have a name in common.
DUPLICATE_BLOCKS = {
    "same given sound and date of birth (a changed family name)": (
        "l.given_sound = r.given_sound AND l.dob = r.dob"
    ),
    "same family sound and date of birth (a changed given name)": (
        "l.family_sound = r.family_sound AND l.dob = r.dob"
    ),
    "same date of birth and outward code (both names changed, the child still near)": (
        "l.dob = r.dob AND l.outward = r.outward"
    ),
    "day and month swapped, same family sound": (
        "l.dob_year = r.dob_year AND l.dob_day = r.dob_month AND l.dob_month = r.dob_day"
        " AND l.family_sound = r.family_sound"
    ),
    "same names' sounds, same year (a date with a slip)": (
        "l.family_sound = r.family_sound AND l.given_sound = r.given_sound"
        " AND l.dob_year = r.dob_year"
    ),
    "same names' sounds, same day and month (the year wrong)": (
        "l.family_sound = r.family_sound AND l.given_sound = r.given_sound"
        " AND l.dob_day = r.dob_day AND l.dob_month = r.dob_month"
    ),
    "names swapped": "l.family_sound = r.given_sound AND l.given_sound = r.family_sound",
    "same given sound and postcode (a changed family name, the date wrong)": (
        "l.given_sound = r.given_sound AND l.postcode = r.postcode"
    ),
    "same family sound and postcode (a changed given name, the date wrong)": (
        "l.family_sound = r.family_sound AND l.postcode = r.postcode"
    ),
    "same family sound and outward code (the date wrong, the child moved near)": (
        "l.family_sound = r.family_sound AND l.outward = r.outward"
    ),
    "same given sound and outward code (the family name and the date wrong)": (
        "l.given_sound = r.given_sound AND l.outward = r.outward"
    ),
}


def splink_settings(
    *, tf_minimum_u_value: float, probability_two_random_records_match: float
) -> dict:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": probability_two_random_records_match,
        "comparisons": comparisons_sql(tf_minimum_u_value=tf_minimum_u_value),
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule} for rule in DUPLICATE_BLOCKS.values()
        ],
        "retain_intermediate_calculation_columns": False,
        "retain_matching_columns": False,
    }


# --- Training -----------------------------------------------------------------------------


class TrainingRefused(Exception):
    """The estimated model is not fit to use; the message says why. Nothing is written."""


def labelled_copies(records: Sequence[Record], *, share: float, seed: int) -> list[Record]:
    """For a random `share` of the records, a second record of the same child that differs
    as a second source's record of one child does."""
    rng = random.Random(f"{seed}:copies")
    pools = default_pools()
    count = max(1, int(len(records) * share))
    return [
        Record(cluster=record.cluster, details=second_record(rng, record.details, pools))
        for record in rng.sample(list(records), min(count, len(records)))
    ]


def _with_initials(records: Sequence[Record], *, seed: int, share: float = 0.02) -> list[Record]:
    """The records as the u sampling sees them: a share given only an initial, as some source
    systems send them, so that the "initial" level's u is what a coincidence of initials is
    (about one in fifteen), not the near-zero of a register that holds no initials."""
    rng = random.Random(f"{seed}:initials")
    return [
        Record(
            cluster=record.cluster,
            details=replace(record.details, given_name=record.details.given_name[:1]),
        )
        if record.details.given_name and rng.random() < share
        else record
        for record in records
    ]


# A family name goes into the model file only if at least this many children have it: the
# file then names no child (a name held by one child would say that child is on the
# register). Rarer names count as the rarest listed share of those left out.
MIN_CHILDREN_PER_LISTED_NAME = 10


def family_frequencies(records: Iterable[Record]) -> tuple[dict[str, float], float, int]:
    """(family key -> share of the register, for names shared by enough children; the share a
    name left out counts as; how many names were counted)."""
    counts = Counter(
        name_keys(given_names="", family_name=record.details.family_name)["family_key"]
        for record in records
    )
    counts.pop("", None)
    total = sum(counts.values())
    listed = {
        key: count / total for key, count in counts.items() if count >= MIN_CHILDREN_PER_LISTED_NAME
    }
    rare = [count for count in counts.values() if count < MIN_CHILDREN_PER_LISTED_NAME]
    rare_value = (sum(rare) / len(rare) / total) if rare else 1 / max(1, total)
    return listed, rare_value, total


def train(
    *,
    records: Sequence[Record],
    copies_share: float = 0.05,
    max_pairs: float = 2e7,
    seed: int = 2026,
    tf_keep: int = 20_000,
) -> dict:
    """Estimates the model from the register's records; returns the model file's content.
    Raises TrainingRefused for a model with a level never observed, or weights that are not
    finite or not ordered."""
    import duckdb
    import pyarrow as pa
    from splink import DuckDBAPI, Linker

    if len(records) < 1_000:
        raise TrainingRefused(f"{len(records)} records are too few to estimate a model from")
    copies = labelled_copies(records, share=copies_share, seed=seed)
    rows = [
        record_row(i, record)
        for i, record in enumerate([*_with_initials(records, seed=seed), *copies], start=1)
    ]
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)})
    frequencies, rare_value, counted = family_frequencies(records)
    tf_minimum_u_value = 1 / counted
    connection = duckdb.connect()
    connection.register("register_arrow", table)
    connection.execute("CREATE TABLE register AS SELECT * FROM register_arrow")
    db_api = DuckDBAPI(connection=connection)
    data = db_api.register("register")
    settings = splink_settings(
        tf_minimum_u_value=tf_minimum_u_value,
        probability_two_random_records_match=1 / len(records),
    )
    linker = Linker(data, settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    linker.training.estimate_m_from_label_column("cluster")
    trained = linker.misc.save_model_to_json(overwrite=True)
    filled = _fill_unobserved(trained, labelled_pairs=len(copies), sampled_pairs=max_pairs)
    model = _model_from_splink(
        trained,
        frequencies=frequencies,
        tf_keep=tf_keep,
        tf_minimum_u_value=tf_minimum_u_value,
        rare_value=rare_value,
        records=len(records),
        copies=len(copies),
        max_pairs=max_pairs,
        seed=seed,
        filled=filled,
    )
    check(model)
    return model


def _fill_unobserved(trained: dict, *, labelled_pairs: int, sampled_pairs: float) -> list[str]:
    """A level that no labelled pair (m) or no sampled pair (u) fell in gets half an
    observation's worth, explicitly, in the model file and in the settings find_duplicates
    uses (where Splink would quietly assume a default). Returns what was filled."""
    filled = []
    for comparison in trained["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            for side, pairs in (("m", labelled_pairs), ("u", sampled_pairs)):
                key = f"{side}_probability"
                if not isinstance(level.get(key), int | float) or level[key] <= 0:
                    level[key] = 0.5 / max(1.0, pairs)
                    name, label = comparison["output_column_name"], level["label_for_charts"]
                    filled.append(f"{name}: {side} of '{label}'")
    return filled


def _model_from_splink(
    trained: dict, *, frequencies, tf_keep, tf_minimum_u_value, rare_value, **facts
) -> dict:
    comparisons = {}
    for comparison in trained["comparisons"]:
        name = comparison["output_column_name"]
        out = []
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            found = {
                "label": level["label_for_charts"],
                "m": level.get("m_probability"),
                "u": level.get("u_probability"),
            }
            if level.get("tf_adjustment_column"):
                found["tf_adjustment_weight"] = level.get("tf_adjustment_weight", 1.0)
            out.append(found)
        comparisons[name] = out
    kept = dict(sorted(frequencies.items(), key=lambda item: -item[1])[:tf_keep])
    stamp = datetime.now(UTC)
    return {
        "version": stamp.strftime("%Y-%m-%d.%H%M%S"),
        "trained_at": stamp.isoformat(timespec="seconds"),
        "trained_on": {**facts, "splink": _splink_version()},
        "probability_two_random_records_match": trained["probability_two_random_records_match"],
        "comparisons": comparisons,
        "term_frequencies": {
            "family_name": {
                "tf_minimum_u_value": tf_minimum_u_value,
                "rare_value": rare_value,
                "values": {key: round(value, 10) for key, value in kept.items()},
            }
        },
        "thresholds": THRESHOLDS,
        "splink_settings": trained,
    }


def _splink_version() -> str:
    import splink

    return splink.__version__


# The match probabilities at which a search's candidate is shown (`show`; or `slip` when
# every detail typed agrees or is a slip away, children.matching.comparisons.SLIPS), said to
# partly match (`partial`), and graded (`probable`, `certain`). Chosen on bench/search.py at
# 1,000,000 children (README, "Finding a child").
THRESHOLDS = {"partial": 0.02, "slip": 0.05, "show": 0.5, "probable": 0.95, "certain": 0.999}

# For each comparison, pairs of levels (by label) whose weights must be in this order.
ORDERED = {
    "family_name": [
        ("exact", "alike (0.92)"),
        ("alike (0.92)", "alike (0.80)"),
        ("alike (0.80)", "different"),
    ],
    "given_name": [
        ("exact", "alike"),
        ("alike", "different"),
        ("nickname or known alternative", "different"),
    ],
    "date_of_birth": [
        ("exact", "day and month swapped"),
        ("exact", "one digit different"),
        ("one digit different", "same year"),
        ("same year", "different"),
    ],
    "postcode": [
        ("full", "sector"),
        ("sector", "outward code"),
        ("outward code", "area"),
        ("area", "different"),
    ],
    "sex": [("same", "different")],
}


def weight(level: dict) -> float:
    return math.log2(level["m"] / level["u"])


def check(model: dict) -> None:
    """Refuses a model with a level never observed (no m or u), a weight that is not finite,
    or weights out of order (exact must count for more than alike)."""
    for name, labels in levels.COMPARISONS.items():
        found = model["comparisons"].get(name)
        if found is None or [level["label"] for level in found] != list(labels[1:]):
            raise TrainingRefused(f"{name}: the levels are not the comparisons' levels")
        by_label = {}
        for level in found:
            for side in ("m", "u"):
                value = level[side]
                if not isinstance(value, int | float) or not 0 < value <= 1:
                    raise TrainingRefused(
                        f"{name}, {level['label']}: no {side} probability ({value!r})"
                    )
            value = weight(level)
            if not math.isfinite(value):
                raise TrainingRefused(f"{name}, {level['label']}: the weight is not finite")
            by_label[level["label"]] = value
        for better, worse in ORDERED[name]:
            if by_label[better] <= by_label[worse]:
                raise TrainingRefused(
                    f"{name}: '{better}' ({by_label[better]:.2f}) must count for more than"
                    f" '{worse}' ({by_label[worse]:.2f})"
                )
    # The swapped level stands for both names (the given comparison is null then): a swap is
    # at best as good as both names right, never better.
    family = {level["label"]: weight(level) for level in model["comparisons"]["family_name"]}
    given = {level["label"]: weight(level) for level in model["comparisons"]["given_name"]}
    if family["swapped with the given name"] > family["exact"] + given["exact"]:
        raise TrainingRefused(
            "family_name: 'swapped with the given name' must not count for more than both"
            " names exact"
        )
    thresholds = model.get("thresholds", {})
    if not thresholds.get("partial", 0) <= thresholds.get("slip", 0) <= thresholds.get("show", 1):
        raise TrainingRefused("thresholds: partial <= slip <= show")
    prior = model["probability_two_random_records_match"]
    if not 0 < prior < 1:
        raise TrainingRefused("the prior probability of a match is not a probability")


def register_records(*, limit: int | None = None) -> list[Record]:
    """The register's children as records: current name, date of birth, current postcode
    (from the replica inside a replica_reads() scope: signposting.db_router)."""
    from signposting.db_router import read_connection

    connection = read_connection()

    sql = (
        "SELECT c.id, n.given_names, n.family_name, c.date_of_birth, c.sex,"
        " (SELECT a.postcode FROM children_address a WHERE a.child_id = c.id"
        "  AND a.moved_out_on IS NULL)"
        " FROM children_child c JOIN children_name n ON n.child_id = c.id AND n.kind = 'current'"
        " ORDER BY c.id"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    records = []
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(20_000):
            for child_id, given_names, family_name, born, sex, postcode in rows:
                first, middle = first_given(given_names)
                records.append(
                    Record(
                        cluster=child_id,
                        details=Details(first, family_name, born, postcode or "", sex, middle),
                    )
                )
    return records


def write(model: dict, path) -> None:
    path.write_text(json.dumps(model, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def today() -> date:
    return date.today()
