"""Search and reason forms: minimum criteria, clear messages, no wildcards."""

from datetime import date, timedelta

import pytest

from children.forms import ReasonForm, SearchForm
from children.matching import dob_variants, name_key, phonetic


def search(**data) -> SearchForm:
    form = SearchForm(data)
    form.is_valid()
    return form


@pytest.mark.parametrize(
    "data",
    [
        {"nhs_number": "943 476 5919"},
        {"family_name": "Okafor", "dob_day": "2", "dob_month": "3", "dob_year": "2015"},
        {"family_name": "Okafor", "given_name": "Amelia", "postcode": "sw1a1aa"},
    ],
)
def test_each_minimum_set_of_criteria_is_enough(data):
    assert search(**data).is_valid()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"family_name": "Okafor"},
        {"given_name": "Amelia", "dob_day": "2", "dob_month": "3", "dob_year": "2015"},
        {"family_name": "Okafor", "given_name": "Amelia"},
        {"family_name": "Okafor", "postcode": "SW1A 1AA"},
        {"postcode": "SW1A 1AA", "sex": "female"},
    ],
)
def test_too_little_is_refused_with_the_rule(data):
    form = search(**data)
    assert not form.is_valid()
    assert SearchForm.MINIMUM in form.non_field_errors()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"family_name": "Ok*", "nhs_number": "9434765919"}, "family_name", "wildcards"),
        ({"family_name": "%", "nhs_number": "9434765919"}, "family_name", "letters"),
        ({"nhs_number": "12345"}, "nhs_number", "10 digits"),
        (
            {"family_name": "A", "dob_day": "31", "dob_month": "2", "dob_year": "2015"},
            "dob_day",
            "real date",
        ),
        ({"family_name": "A", "dob_day": "1", "dob_year": "2015"}, "dob_day", "include a month"),
        ({"family_name": "A", "given_name": "B", "postcode": "!!!"}, "postcode", "UK postcode"),
        ({"family_name": "x" * 101, "nhs_number": "9434765919"}, "family_name", "100 characters"),
    ],
)
def test_bad_values_get_a_message_on_their_field(data, field, message):
    form = search(**data)
    assert not form.is_valid()
    assert any(message in error for error in form.errors[field])


def test_a_future_date_of_birth_is_refused():
    tomorrow = date.today() + timedelta(days=2)
    form = search(
        family_name="A",
        dob_day=str(tomorrow.day),
        dob_month=str(tomorrow.month),
        dob_year=str(tomorrow.year),
    )
    assert "Date of birth must be today or in the past" in form.errors["dob_day"]


def test_criteria_are_normalised_for_the_audit_trail():
    form = search(
        family_name=" Okafor ", dob_day="02", dob_month="3", dob_year="2015", nhs_number=""
    )
    assert form.criteria() == {"family_name": "Okafor", "date_of_birth": "2015-03-02"}


def test_reason_other_needs_details():
    assert ReasonForm({"reason": "assessment"}).is_valid()
    form = ReasonForm({"reason": "other", "details": "  "})
    assert not form.is_valid() and "Give the reason" in form.errors["details"][0]
    assert not ReasonForm({"reason": "curiosity"}).is_valid()
    assert not ReasonForm({}).is_valid()


@pytest.mark.parametrize(
    ("a", "b"),
    [("O'Brien", "obrien"), ("Zoë", "zoe"), ("Smith-Jones", "smith jones"), ("ŁUKASZ", "lukasz")],
)
def test_names_that_differ_only_in_case_accents_and_punctuation_share_a_key(a, b):
    assert name_key(a) == name_key(b)


def test_one_letter_slips_usually_share_a_phonetic_key():
    assert phonetic(name_key("Okafor")) == phonetic(name_key("Okafoor"))


def test_date_of_birth_variants_include_the_swap_and_one_digit_slips():
    close, slipped = dob_variants(date(2015, 3, 2))
    assert close == {date(2015, 3, 2), date(2015, 2, 3)}
    assert date(2015, 3, 12) in slipped and date(2016, 3, 2) in slipped
    assert date(2015, 3, 2) not in slipped
