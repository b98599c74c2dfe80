"""Matching rules of children.search.find_children (the selector behind /search/)."""

import random
from datetime import date

import pytest
from django.db import connection

from children.matching import phonetic
from children.matching.model import current_model
from children.models import Name
from children.search import MAX_RESULTS, find_children
from tests.factories import make_area, make_child

pytestmark = pytest.mark.django_db

DOB = date(2015, 3, 2)


@pytest.fixture
def amara():
    area = make_area()
    # Someone else born the same day, to be ranked below or left out.
    make_child(area=area, given_names="Oliver", family_name="Smith", date_of_birth=DOB)
    child = make_child(
        area=area,
        given_names="Amara Zoë",
        family_name="O'Brien-Okafor",
        date_of_birth=DOB,
        nhs_number="9434765919",
    )
    Name.objects.create(child=child, kind="previous", given_names="Amara", family_name="Byrne")
    return child


def first(**criteria):
    outcome = find_children(**criteria)
    return outcome.child_ids[0] if outcome.child_ids else None


@pytest.mark.parametrize(
    "family_name",
    [
        "O'Brien-Okafor",  # exact
        "obrien okafor",  # missing apostrophe and hyphen, lower case
        "O'Brien-Okafer",  # one-letter edit
        "O'Brien-Okfaor",  # transposed letters
    ],
)
def test_family_name_variants_with_date_of_birth_find_the_child_first(amara, family_name):
    # A name this rare and the date of birth are enough on their own.
    assert first(family_name=family_name, date_of_birth=DOB) == amara.pk


def test_a_previous_name_finds_the_child(amara):
    assert first(family_name="Byrne", given_name="Amara", date_of_birth=DOB) == amara.pk


def test_a_common_family_name_and_the_date_alone_only_partly_match(amara):
    # Dozens of Byrnes are born in England each day: not enough to show a child, but the
    # search says that some partly match, rather than that none does.
    outcome = find_children(family_name="Byrne", date_of_birth=DOB)
    assert outcome.child_ids == [] and outcome.partial == 1


def test_accents_do_not_matter(amara):
    assert first(family_name="O'Brien-Okafor", given_name="Amara Zoe", date_of_birth=DOB) == (
        amara.pk
    )


def test_day_and_month_swapped(amara):
    assert first(family_name="O'Brien-Okafor", date_of_birth=date(2015, 2, 3)) == amara.pk


def test_a_one_digit_slip_in_the_date_with_a_sound_alike_name(amara):
    assert (
        first(family_name="OBrienOkafor", given_name="Amara", date_of_birth=date(2015, 3, 12))
        == amara.pk
    )


def test_typos_in_both_names(amara):
    assert first(family_name="O'Brian-Okafor", given_name="Amarra", date_of_birth=DOB) == (amara.pk)


def test_a_different_child_born_the_same_day_is_not_returned_for_another_name(amara):
    outcome = find_children(family_name="O'Brien-Okafor", date_of_birth=DOB)
    assert outcome.child_ids == [amara.pk]


def test_nhs_number_alone(amara):
    assert find_children(nhs_number="9434765919").child_ids == [amara.pk]
    assert find_children(nhs_number="4010232137").child_ids == []


def test_names_and_postcode_without_date_of_birth(amara):
    assert first(family_name="OBrien Okafor", given_name="Amara", postcode="SW1A 2AA") == amara.pk
    assert first(family_name="OBrien Okafor", given_name="Amara", postcode="M1 1AE") is None


def test_exact_matches_rank_first():
    area = make_area()
    near = make_child(area=area, given_names="Jon", family_name="Okonkwo", date_of_birth=DOB)
    exact = make_child(area=area, given_names="John", family_name="Okonkwo", date_of_birth=DOB)
    outcome = find_children(family_name="Okonkwo", given_name="John", date_of_birth=DOB)
    assert outcome.child_ids[:2] == [exact.pk, near.pk]


def test_at_most_ten_results_and_a_signal_to_refine():
    area = make_area()
    for _ in range(MAX_RESULTS + 2):
        make_child(area=area, given_names="Alex", family_name="Taylor", date_of_birth=DOB)
    outcome = find_children(family_name="Taylor", given_name="Alex", date_of_birth=DOB)
    assert len(outcome.child_ids) == MAX_RESULTS
    assert outcome.too_many


@pytest.mark.parametrize(
    ("recorded", "typed"),
    [("Law", "Lwa"), ("Ojo", "Ooj"), ("Ng", "Gn"), ("Holt", "Holu")],
)
def test_one_slip_in_a_short_family_name_still_finds_the_child(recorded, typed):
    child = make_child(given_names="Ivy", family_name=recorded, date_of_birth=DOB)
    assert first(family_name=typed, given_name="Iyv", date_of_birth=DOB) == child.pk


def test_a_short_family_name_that_is_nothing_alike_is_not_a_match():
    make_child(given_names="Ivy", family_name="Li", date_of_birth=DOB)
    assert find_children(family_name="Ng", given_name="Ivy", date_of_birth=DOB).child_ids == []


def test_an_alias_finds_the_child():
    child = make_child(given_names="Oluwaseun", family_name="Adeyemi", date_of_birth=DOB)
    Name.objects.create(child=child, kind="alias", given_names="Seun", family_name="Adams")
    assert first(family_name="Adams", given_name="Seun", date_of_birth=DOB) == child.pk


def test_a_past_address_postcode_still_finds_the_child_without_a_date_of_birth(amara):
    # The outward code of any recorded address counts, not only the current one.
    assert first(family_name="O'Brien-Okafor", given_name="Amara", postcode="SW1A 9ZZ") == (
        amara.pk
    )


def test_stored_search_keys_follow_the_name():
    child = make_child(given_names="Zoë-Anne Mary", family_name="Ó Súilleabháin", date_of_birth=DOB)
    name = child.names.get()
    assert (name.family_key, name.given_key, name.date_of_birth) == (
        "osuilleabhain",
        "zoe",
        DOB,
    )
    assert name.family_sound == phonetic("osuilleabhain")
    assert child.addresses.get().outward_code == "SW1A"


# --- Slips: shown as possible, from the model's lower slip threshold ------------------------


def test_a_common_name_with_one_digit_of_the_date_mistyped_is_shown_as_possible():
    # Oliver Taylor with one digit of the date wrong: many Oliver Taylors are born near any
    # date, so the match probability stays under the show threshold; every detail typed is
    # right or a slip away, so the child is shown as a possible match saying what differs,
    # rather than "no child found".
    child = make_child(given_names="Oliver", family_name="Taylor", date_of_birth=DOB)
    model = current_model()
    outcome = find_children(
        family_name="Taylor", given_name="Oliver", date_of_birth=date(2015, 3, 3)
    )
    assert outcome.child_ids == [child.pk]
    match = outcome.matches[0]
    assert model.slip_at <= match.probability < model.show_at
    assert match.grade == "possible"
    assert match.agreement["date_of_birth"] == "one digit different"
    assert outcome.partial == 0


def test_a_look_alike_with_another_given_name_is_not_shown_by_the_slip_threshold():
    # A sibling or a stranger: the same family name, another given name, a digit of the date
    # away. It partly matches; nothing is shown.
    make_child(given_names="Harry", family_name="Taylor", date_of_birth=DOB)
    outcome = find_children(
        family_name="Taylor", given_name="Oliver", date_of_birth=date(2015, 3, 3)
    )
    assert outcome.child_ids == []


def test_a_slip_with_a_different_postcode_typed_is_not_shown_by_the_slip_threshold():
    make_child(given_names="Oliver", family_name="Taylor", date_of_birth=DOB)  # lives in SW1A
    outcome = find_children(
        family_name="Taylor", given_name="Oliver", date_of_birth=date(2015, 3, 3), postcode="M1 1AE"
    )
    assert outcome.child_ids == []


def test_names_the_wrong_way_round_count_for_less_than_both_names_right():
    # "Okafor Amara" for Amara Okafor: a swap is good evidence, never better than the names
    # as typed (the crosswise given name is not counted twice).
    right = make_child(given_names="Amara", family_name="Okafor", date_of_birth=DOB)
    swapped = make_child(given_names="Okafor", family_name="Amara", date_of_birth=DOB)
    outcome = find_children(family_name="Okafor", given_name="Amara", date_of_birth=DOB)
    assert outcome.child_ids == [right.pk, swapped.pk]
    assert outcome.matches[0].probability > outcome.matches[1].probability
    assert outcome.matches[1].agreement["family_name"] == "swapped with the given name"
    assert outcome.matches[1].agreement["given_name"] == "null"


def test_the_narrowed_blocks_find_just_what_the_whole_blocks_find(monkeypatch):
    """The date block fetches only the names the scorer would score (children.search
    ._narrowed), and the sounds block leaves out common names far from the typed date
    (children.search._cannot_count_far): for every kind of realistic difference, the
    results, their grades and agreements, and the count of partial matches are those of the
    whole blocks; and they do fetch fewer names."""
    from children import search
    from children.matching import blocks
    from children.matching.corruption import KINDS, Details, corrupt, default_pools

    rng = random.Random(19)
    pools = default_pools()
    area = make_area()
    born = [DOB, date(2015, 2, 3)]  # the date and its day and month swapped
    people = []
    common = ["Smith", "Jones", "Brown", "Williams"]  # the model's commonest family names
    for index in range(60):
        details = Details(
            given_name=rng.choice([*pools.girls, *pools.boys]),
            family_name=rng.choice(common if index % 3 == 0 else pools.family),
            date_of_birth=born[index % 2],
        )
        # The same names on the date, and far from it (other children, or the date wrong).
        for day in (details.date_of_birth, date(2012, 7, 19), date(2018, 11, 30)):
            make_child(
                area=area,
                given_names=details.given_name,
                family_name=details.family_name,
                date_of_birth=day,
            )
        people.append(details)
    fetched = {"narrowed": 0, "whole": 0}
    candidates = blocks.candidates

    def counted(way):
        def fetch(*args, **kwargs):
            rows = candidates(*args, **kwargs)
            fetched[way] += len(rows)
            return rows

        return fetch

    searches = 0
    for person in people[:24]:
        for kind in KINDS:
            typed = corrupt(rng, person, kind, pools)
            if typed is None:
                continue
            criteria = {
                "family_name": typed.family_name,
                "given_name": typed.given_name,
                "date_of_birth": typed.date_of_birth,
                "postcode": typed.postcode,
                "sex": typed.sex,
            }
            with monkeypatch.context() as patched:
                patched.setattr(blocks, "candidates", counted("narrowed"))
                narrowed = find_children(**criteria)
            with monkeypatch.context() as patched:
                patched.setattr(blocks, "candidates", counted("whole"))
                patched.setattr(search, "_narrowed", lambda *args, **kwargs: None)
                patched.setattr(search, "_cannot_count_far", lambda *args: [])
                whole = find_children(**criteria)
            assert narrowed == whole, (kind, typed)
            searches += 1
    assert searches > 100
    assert fetched["narrowed"] < fetched["whole"] / 2, fetched


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_postgresql_keeps_the_commonest_thousand_sounds_of_each_name():
    # Migration children/0010: with the default 100, a common sound's names were guessed at
    # a sixth of their number at 11,000,000 children, and a block was planned on the wrong
    # index (3.8 ms instead of 0.3).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstattarget FROM pg_attribute"
            " WHERE attrelid = 'children_name'::regclass AND attname LIKE '%%_sound'"
        )
        assert dict(cursor.fetchall()) == {"family_sound": 1000, "given_sound": 1000}


def test_the_near_dates_are_those_that_agree_better_than_the_same_year():
    from datetime import timedelta

    from children.matching.comparisons import DateComparer
    from children.matching.dates import near_dates

    rng = random.Random(3)
    for _ in range(40):
        typed = date(2005, 1, 1) + timedelta(days=rng.randrange(7000))
        comparer = DateComparer(typed)
        window = [typed + timedelta(days=offset) for offset in range(-1200, 1200)]
        assert {day for day in window if comparer.level(day) <= 5} == {
            day for day in near_dates(typed) if abs((day - typed).days) < 1200
        } | ({typed} if typed in window else set()), typed
