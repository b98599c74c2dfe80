"""Public ids, NHS numbers and postcodes."""

import pytest
from django.core.exceptions import ValidationError

from children.identifiers import (
    ALPHABET,
    is_valid_public_id,
    new_public_id,
    normalise_postcode,
    outward_code,
    validate_nhs_number,
    validate_postcode,
)


def test_public_ids_look_like_the_design_and_validate():
    ids = {new_public_id() for _ in range(2_000)}
    assert len(ids) == 2_000
    for public_id in ids:
        assert len(public_id) == 11 and public_id[3] == public_id[7] == "-"
        assert is_valid_public_id(public_id)


def test_every_single_mistyped_character_is_caught():
    public_id = new_public_id()
    raw = public_id.replace("-", "")
    for position in range(9):
        for char in ALPHABET:
            if char == raw[position]:
                continue
            typo = raw[:position] + char + raw[position + 1 :]
            assert not is_valid_public_id(f"{typo[:3]}-{typo[3:6]}-{typo[6:]}")


def test_most_swaps_of_neighbouring_characters_are_caught():
    caught = total = 0
    for _ in range(300):
        raw = new_public_id().replace("-", "")
        for position in range(8):
            if raw[position] == raw[position + 1]:
                continue
            swapped = raw[:position] + raw[position + 1] + raw[position] + raw[position + 2 :]
            total += 1
            caught += not is_valid_public_id(f"{swapped[:3]}-{swapped[3:6]}-{swapped[6:]}")
    assert caught / total > 0.95


@pytest.mark.parametrize("value", ["", "7KQ4M2PX9", "7kq-4m2-px9", "7KQ-4M2-PXI", "OOO-OOO-OOO"])
def test_malformed_public_ids_are_refused(value):
    assert not is_valid_public_id(value)


@pytest.mark.parametrize("number", ["9434765919", "4010232137"])
def test_valid_nhs_numbers_pass(number):
    validate_nhs_number(number)


@pytest.mark.parametrize("number", ["9434765918", "123456789", "94347659190", "abcdefghij", ""])
def test_invalid_nhs_numbers_are_refused(number):
    with pytest.raises(ValidationError):
        validate_nhs_number(number)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" M1  1AE ", "M1 1AE"),
        ("b338th", "B33 8TH"),
        ("GIR0AA", "GIR 0AA"),
    ],
)
def test_postcodes_are_normalised(raw, normal):
    validate_postcode(raw)
    assert normalise_postcode(raw) == normal


@pytest.mark.parametrize("postcode", ["Q1 1AA", "SW1A", "12345", "SW1A 1AAA", "", "ZZ99 9ZZZ"])
def test_bad_postcodes_are_refused(postcode):
    with pytest.raises(ValidationError):
        validate_postcode(postcode)


def test_outward_code():
    assert outward_code("sw1a 1aa") == "SW1A"


def test_digits_from_other_scripts_are_not_an_nhs_number():
    with pytest.raises(ValidationError):
        validate_nhs_number("٩٤٣٤٧٦٥٩١٩")  # Arabic-Indic digits for 9434765919
