"""The match model: the shipped model file, every comparison level, the blocks, and Splink's
agreement with the plain-Python scorer (children.matching)."""

import math
from datetime import date

import pytest

from children.matching import training
from children.matching.blocks import BLOCKS, statement
from children.matching.comparisons import (
    COMPARISONS,
    date_level,
    family_level,
    given_level,
    known_alternatives,
    postcode_level,
    sex_level,
)
from children.matching.dates import mistyped_dates
from children.matching.keys import name_key, phonetic
from children.matching.model import DEFAULT_MODEL, MatchModel, current_model

# --- The model file, reviewed like code ---------------------------------------------------


def test_the_shipped_model_loads_with_every_level_and_finite_weights():
    model = current_model()
    assert model.version
    for name, labels in COMPARISONS.items():
        weights = model.weights[name]
        assert len(weights) == len(labels)
        assert weights[0] == 0.0  # null says nothing
        assert all(math.isfinite(weight) for weight in weights)


def test_the_shipped_model_passes_the_training_checks():
    import json

    training.check(json.loads(DEFAULT_MODEL.read_text()))


def test_exact_counts_for_more_than_alike_and_alike_for_more_than_different():
    model = current_model()
    for name, levels in training.ORDERED.items():
        labels = model.levels[name]
        for better, worse in levels:
            assert (
                model.weights[name][labels.index(better)] > model.weights[name][labels.index(worse)]
            )


def test_a_rare_family_name_counts_for_more_than_a_common_one():
    model = current_model()
    assert model.family_weight(1, "oyelaran") > model.family_weight(1, "smith")
    # ...and a near miss of a rare name too (Splink's adjustment on the alike level).
    assert model.family_weight(3, "oyelaran") > model.family_weight(3, "smith")


def test_the_model_file_names_no_child():
    # Only family names held by at least MIN_CHILDREN_PER_LISTED_NAME children are listed.
    import json

    content = json.loads(DEFAULT_MODEL.read_text())
    values = content["term_frequencies"]["family_name"]["values"]
    records = content["trained_on"]["records"]
    assert min(values.values()) * records >= training.MIN_CHILDREN_PER_LISTED_NAME - 0.5


def test_a_model_with_an_unobserved_level_or_weights_out_of_order_is_refused():
    import copy
    import json

    good = json.loads(DEFAULT_MODEL.read_text())
    missing = copy.deepcopy(good)
    missing["comparisons"]["date_of_birth"][0]["m"] = None
    with pytest.raises(training.TrainingRefused, match="no m probability"):
        training.check(missing)
    reversed_order = copy.deepcopy(good)
    exact, alike = reversed_order["comparisons"]["given_name"][0:2]
    exact["m"], alike["m"] = alike["m"], exact["m"]
    with pytest.raises(training.TrainingRefused, match="must count for more"):
        training.check(reversed_order)


def test_probability_and_grades_follow_the_thresholds():
    model = current_model()
    assert model.probability(0) == 0.5
    assert model.grade(0.9999) == "certain"
    assert model.grade(0.96) == "probable"
    assert model.grade(0.6) == "possible"
    assert model.grade(0.1) == ""


def test_a_model_whose_levels_differ_from_the_comparisons_does_not_load():
    import json

    content = json.loads(DEFAULT_MODEL.read_text())
    content["comparisons"]["sex"] = content["comparisons"]["sex"][:1]
    with pytest.raises(ValueError, match="sex levels"):
        MatchModel(content)


# --- Every comparison level -----------------------------------------------------------------


def fam(typed, recorded, typed_given="", recorded_given=""):
    keys = name_key(typed), name_key(recorded)
    return family_level(
        keys[0], phonetic(keys[0]), name_key(typed_given), keys[1], phonetic(keys[1]),
        name_key(recorded_given),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "recorded", "given", "recorded_given", "level"),
    [
        ("", "Okafor", "", "", "null"),
        ("O'Brien", "obrien", "", "", "exact"),
        ("Amara", "Okafor", "Okafor", "Amara", "swapped with the given name"),
        ("Okafro", "Okafor", "", "", "alike (0.92)"),
        ("Law", "Lwa", "", "", "alike (0.92)"),  # one slip in a short name
        ("Okafor", "Okafo", "", "", "alike (0.92)"),
        ("Thomson", "Tompson", "", "", "alike (0.80)"),
        ("Kowalski", "Kowalczyk", "", "", "alike (0.80)"),
        ("Jones", "Smith-Jones", "", "", "one part of the other"),
        ("Okafor-Smith", "Smith", "", "", "one part of the other"),
        ("Adams", "Adomah", "", "", "same sound"),
        ("Okafor", "Nowak", "", "", "different"),
    ],
)
def test_family_name_levels(typed, recorded, given, recorded_given, level):
    assert COMPARISONS["family_name"][fam(typed, recorded, given, recorded_given)] == level


@pytest.mark.parametrize(
    ("typed", "recorded", "level"),
    [
        ("", "Amara", "null"),
        ("Zoë", "zoe", "exact"),
        ("Amarra", "Amara", "alike"),
        ("Bill", "William", "nickname or known alternative"),
        ("J", "John", "initial"),
        ("Amara", "Keira", "different"),
    ],
)
def test_given_name_levels(typed, recorded, level):
    assert COMPARISONS["given_name"][given_level(name_key(typed), name_key(recorded))] == level


def test_nicknames_come_from_the_nicknames_data_set_both_ways():
    assert "bill" in known_alternatives("william")
    assert "william" in known_alternatives("bill")


@pytest.mark.parametrize(
    ("typed", "recorded", "level"),
    [
        (None, date(2014, 3, 12), "null"),
        (date(2014, 3, 12), date(2014, 3, 12), "exact"),
        (date(2014, 3, 12), date(2014, 12, 3), "day and month swapped"),
        (date(2014, 3, 12), date(2014, 3, 13), "one digit different"),
        (date(2014, 3, 12), date(2016, 3, 12), "one digit different"),
        (date(2014, 3, 12), date(2014, 3, 21), "neighbouring digits transposed"),
        (date(2012, 3, 12), date(2021, 3, 12), "neighbouring digits transposed"),
        (date(2014, 3, 12), date(2012, 3, 12), "one digit different"),
        (date(2014, 3, 28), date(2012, 3, 28), "one digit different"),
        (date(2019, 3, 12), date(2021, 3, 12), "year one or two out"),
        (date(2014, 3, 12), date(2014, 9, 25), "same year"),
        (date(2014, 3, 12), date(2009, 9, 25), "different"),
    ],
)
def test_date_of_birth_levels(typed, recorded, level):
    assert COMPARISONS["date_of_birth"][date_level(typed, recorded)] == level


@pytest.mark.parametrize(
    ("typed", "recorded", "level"),
    [
        ("", ("SW1A 1AA",), "null"),
        ("SW1A 1AA", ("SW1A 1AA",), "full"),
        ("SW1A 1AA", ("SW1A 1BB",), "sector"),
        ("SW1A 1AA", ("SW1A 2BB",), "outward code"),
        ("SW1A 1AA", ("SW2 2BB",), "area"),
        ("SW1A 1AA", ("M1 1AE",), "different"),
        ("SW1A 1AA", ("M1 1AE", "SW1A 1AA"), "full"),  # the best of the child's addresses
    ],
)
def test_postcode_levels(typed, recorded, level):
    assert COMPARISONS["postcode"][postcode_level(typed, recorded)] == level


@pytest.mark.parametrize(
    ("typed", "recorded", "level"),
    [("", "female", "null"), ("female", "unknown", "null"), ("male", "male", "same"),
     ("male", "female", "different")],
)  # fmt: skip
def test_sex_levels(typed, recorded, level):
    assert COMPARISONS["sex"][sex_level(typed, recorded)] == level


# --- Blocks ----------------------------------------------------------------------------------


def test_mistyped_dates_hold_every_kind_of_slip_and_nothing_outside_the_span():
    typed = date(2014, 3, 12)
    dates = mistyped_dates(typed, oldest=date(2001, 1, 1), newest=date(2026, 12, 1))
    assert date(2014, 3, 13) in dates  # one digit
    assert date(2014, 3, 21) in dates  # transposed day
    assert date(2016, 3, 12) in dates  # year two out
    assert date(2014, 12, 3) not in dates  # the swap has a block of its own
    assert all(date(2001, 1, 1) <= day <= date(2026, 12, 1) for day in dates)
    assert typed not in dates


def test_each_block_is_named_for_the_error_it_catches_and_all_run_as_one_statement():
    from children.search import Typed

    typed = Typed("okafor", "amara", "OCAFAR", "ANAR", date(2014, 3, 12), "SW1A 1AA", "SW1A", "")
    sql, _ = statement(typed, today=date(2026, 12, 1))
    # Every block, and the past addresses in the outward code: one statement.
    assert sql.count("UNION ALL") == len(BLOCKS)
    no_date = Typed("okafor", "amara", "OCAFAR", "ANAR", None, "SW1A 1AA", "SW1A", "")
    sql, _ = statement(no_date, today=date(2026, 12, 1))
    # Without a date of birth: the outward code with either name's sound, and past addresses.
    conditions = [part.split(" WHERE ", 1)[1] for part in sql.split(" UNION ALL ")]
    assert len(conditions) == 3 and not any("date_of_birth" in where for where in conditions)


BORN = date(2014, 3, 12)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("block", "family", "given", "born", "postcode"),
    [
        # Both names replaced (a step-parent's name and a preferred one), day and month swapped.
        ("the date or its day and month swapped", "Nowak", "Keira", date(2014, 12, 3), ""),
        # Another given name, a digit of the date wrong.
        ("a mistyped date, same family sound", "Okafor", "Keira", date(2014, 3, 13), ""),
        # A changed family name, a digit of the date wrong.
        ("a mistyped date, same given sound", "Nowak", "Amara", date(2014, 3, 13), ""),
        # The right names (or a swap of them), the date wrong in more ways than a slip.
        ("both names' sounds", "Okafor", "Amara", date(2009, 9, 25), ""),
        ("both names' sounds", "Amara", "Okafor", date(2009, 9, 25), ""),
        # The date wrong and a name changed: the outward code and the other name's sound.
        ("the outward code, same family sound", "Okafor", "Keira", date(2009, 9, 25), "SW1A 9ZZ"),
        ("the outward code, same given sound", "Nowak", "Amara", date(2009, 9, 25), "SW1A 9ZZ"),
    ],
)
def test_each_block_catches_the_error_it_is_named_for_and_no_other_block_does(
    block, family, given, born, postcode
):
    from children.matching.blocks import NAME, candidates
    from children.search import Typed
    from tests.factories import make_child

    child = make_child(given_names="Amara", family_name="Okafor", date_of_birth=BORN)
    make_child(given_names="Keira", family_name="Nowak", date_of_birth=date(2011, 7, 30))
    family_key, given_key = name_key(family), name_key(given)
    typed = Typed(
        family_key,
        given_key,
        phonetic(family_key),
        phonetic(given_key),
        born,
        postcode,
        postcode.split(" ")[0] if postcode else "",
        "",
    )
    today = date(2026, 12, 1)

    def found(only):
        return {row[1] for row in candidates(typed, today=today, only=only) if row[0] == NAME}

    assert child.pk in found([block])
    assert child.pk not in found([name for name in BLOCKS if name != block])


# --- Splink and the plain-Python scorer agree -------------------------------------------------


def _pairs(count: int):
    """Records and a second record of the same child, as the training makes them, plus pairs
    of different children born the same day (so that every level has company)."""
    import random

    from children.matching.corruption import Details, default_pools, second_record

    rng = random.Random(7)
    pools = default_pools()
    records = []
    for cluster in range(count):
        sex = rng.choice(["female", "male"])
        given = rng.choice(pools.girls if sex == "female" else pools.boys).split()[0]
        family = rng.choice(pools.family)
        born = date(2008 + rng.randint(0, 15), rng.randint(1, 12), rng.randint(1, 28))
        postcode = f"{rng.choice(['SW', 'M', 'LS', 'B'])}{rng.randint(1, 20)} {rng.randint(1, 9)}AB"
        first = Details(given, family, born, postcode, sex)
        records.append(training.Record(cluster=cluster, details=first))
        records.append(training.Record(cluster=cluster, details=second_record(rng, first, pools)))
    return records


def test_splink_and_the_python_scorer_give_every_pair_the_same_levels_and_weights():
    """What the issue's feasibility run found (weights equal to 4e-15), kept: Splink scores the
    pairs in DuckDB with the shipped model's settings; the Python comparisons and weights (with
    the same term frequencies) must agree on every pair."""
    import json
    from collections import Counter

    import duckdb
    import pyarrow as pa
    from splink import DuckDBAPI, Linker

    from children.matching.comparisons import NameComparer, PostcodeComparer
    from children.matching.keys import name_keys

    records = _pairs(400)
    rows = [training.record_row(i, record) for i, record in enumerate(records, start=1)]
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(training.COLUMNS)})
    connection = duckdb.connect()
    connection.register("pairs_arrow", table)
    connection.execute("CREATE TABLE pairs AS SELECT * FROM pairs_arrow")
    settings = json.loads(DEFAULT_MODEL.read_text())["splink_settings"]
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": "l.cluster = r.cluster"}
    ]
    settings["retain_intermediate_calculation_columns"] = True
    settings["retain_matching_columns"] = True
    linker = Linker(DuckDBAPI(connection=connection).register("pairs"), settings)
    scored = linker.inference.predict().as_record_list()
    assert len(scored) == 400

    model = current_model()
    by_id = {row[0]: records[row[0] - 1].details for row in rows}
    keys = {
        uid: name_keys(given_names=d.given_name, family_name=d.family_name)
        for uid, d in by_id.items()
    }
    counts = Counter(key["family_key"] for key in keys.values())
    tf = {key: count / len(keys) for key, count in counts.items()}
    splink_levels = {name: [] for name in COMPARISONS}
    python_levels = {name: [] for name in COMPARISONS}
    for pair in scored:
        left, right = keys[pair["unique_id_l"]], keys[pair["unique_id_r"]]
        dl, dr = by_id[pair["unique_id_l"]], by_id[pair["unique_id_r"]]
        comparer = NameComparer(left["family_key"], left["family_sound"], left["given_key"])
        family, given = comparer.levels(
            right["family_key"], right["family_sound"], right["given_key"]
        )
        levels = {
            "family_name": family,
            "given_name": given,
            "date_of_birth": date_level(dl.date_of_birth, dr.date_of_birth),
            "postcode": PostcodeComparer(dl.postcode).level((dr.postcode,)),
            "sex": sex_level(dl.sex, dr.sex),
        }
        for name, level in levels.items():
            # Splink numbers levels from the best, the null level -1: ours from null, 0.
            splink_levels[name].append(pair[f"gamma_{name}"])
            python_levels[name].append(len(COMPARISONS[name]) - 1 - level if level else -1)
        weight = sum(
            model.weights[name][level] for name, level in levels.items() if name != "family_name"
        )
        family_weight = model.weights["family_name"][family]
        adjustment = model.family_tf_levels.get(family)
        if adjustment:
            share = max(tf[right["family_key"]], tf.get(left["family_key"], 0.0), model.tf_minimum)
            family_weight += adjustment * (math.log2(model.family_exact_u) - math.log2(share))
        prior = settings["probability_two_random_records_match"]
        expected = weight + family_weight + math.log2(prior / (1 - prior))
        assert pair["match_weight"] == pytest.approx(expected, abs=1e-9), pair
    for name in COMPARISONS:
        assert splink_levels[name] == python_levels[name], name
    # The pairs reached every level that matters, not only "exact".
    assert len(set(python_levels["family_name"])) >= 4
    assert len(set(python_levels["date_of_birth"])) >= 3


def test_a_swap_speaks_for_both_names_and_the_given_comparison_is_null():
    from children.matching.comparisons import NameComparer

    comparer = NameComparer("okafor", phonetic("okafor"), "amara")
    family, given = comparer.levels("amara", phonetic("amara"), "okafor")
    assert COMPARISONS["family_name"][family] == "swapped with the given name"
    assert COMPARISONS["given_name"][given] == "null"
    # Not swapped: the given names are compared as usual.
    assert comparer.levels("okafor", phonetic("okafor"), "amarra") == (1, 2)


def test_the_keys_that_could_agree_are_those_the_rule_names_one_by_one():
    """NameComparer.prepare works in sets (the names on a date, thousands of keys): it picks
    the same keys as could_agree's rule applied to each key on its own, and a prepared
    comparer gives every name the levels a fresh one does."""
    import random

    from rapidfuzz.distance import JaroWinkler

    from children.matching.comparisons import (
        CLOSE,
        FAIR,
        GIVEN_ALIKE,
        NameComparer,
        alike,
        known_alternatives,
    )
    from children.matching.corruption import default_pools, keyboard_typo

    rng = random.Random(10)
    pools = default_pools()
    families = sorted({name_key(name) for name in rng.sample(pools.family, 400)})
    givens = sorted({name_key(name) for name in rng.sample([*pools.girls, *pools.boys], 400)})
    extra = ["smith", "smithjones", "jonessmith", "smyth", "a", "o", "ol", "oliver", "bill"]
    typed = [("smith", "oliver"), ("jones", "o"), ("ng", "william"), ("okafor", "a")]
    typed += [(rng.choice(families), rng.choice(givens)) for _ in range(20)]
    for qf, qg in typed:
        family_keys = {*families, *extra, name_key(keyboard_typo(rng, qf))}
        given_keys = {*givens, *extra, name_key(keyboard_typo(rng, qg))}
        alternatives = known_alternatives(qg)

        def family_could(key, qf=qf):
            return (
                key == qf
                or alike(qf, key, CLOSE)
                or JaroWinkler.similarity(qf, key) >= FAIR
                or (min(len(qf), len(key)) >= 3 and (qf in key or key in qf))
            )

        def given_could(key, qf=qf, qg=qg, alternatives=alternatives):
            return alike(qf, key, CLOSE) or (
                key == qg
                or alike(qg, key, GIVEN_ALIKE)
                or key in alternatives
                or (key[0] == qg[0] and (len(key) == 1 or len(qg) == 1))
            )

        comparer = NameComparer(qf, phonetic(qf), qg)
        could = comparer.keys_that_could_agree(family_keys, given_keys)
        assert could == (
            sorted(key for key in family_keys if family_could(key)),
            sorted(key for key in given_keys if given_could(key)),
        ), (qf, qg)
        assert could[0] and could[1]
        fresh = NameComparer(qf, phonetic(qf), qg)
        for family, given in zip(sorted(family_keys), sorted(given_keys), strict=False):
            assert comparer.levels(family, phonetic(family), given) == fresh.levels(
                family, phonetic(family), given
            )


def test_a_model_where_a_swap_counts_for_more_than_both_names_right_is_refused():
    import copy
    import json

    bad = copy.deepcopy(json.loads(DEFAULT_MODEL.read_text()))
    swap = next(
        level
        for level in bad["comparisons"]["family_name"]
        if level["label"] == "swapped with the given name"
    )
    swap["u"] = swap["u"] / 2**12  # as when the crosswise given name was counted twice
    with pytest.raises(training.TrainingRefused, match="must not count for more than both"):
        training.check(bad)


def test_a_model_whose_slip_threshold_is_above_the_show_threshold_is_refused():
    import copy
    import json

    bad = copy.deepcopy(json.loads(DEFAULT_MODEL.read_text()))
    bad["thresholds"]["slip"] = 0.6
    with pytest.raises(training.TrainingRefused, match="partial <= slip <= show"):
        training.check(bad)


def test_a_model_file_without_a_slip_threshold_shows_only_from_the_show_threshold():
    import json

    content = json.loads(DEFAULT_MODEL.read_text())
    del content["thresholds"]["slip"]
    assert MatchModel(content).slip_at == content["thresholds"]["show"]
