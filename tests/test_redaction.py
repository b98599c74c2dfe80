"""signposting.redaction: what a child could be identified by is blanked from free text, and
what an operator needs (the kind of error, the code's own words) is left."""

import pytest

from signposting.redaction import REDACTED, redact


@pytest.mark.parametrize(
    "child_shaped",
    [
        "7KQ-4M2-PX9",  # a public id
        "7kq-4m2-px9",
        "9434765919",  # an NHS number
        "943 476 5919",
        "943-476-5919",
        "2014-06-21",  # a date of birth
        "21/06/2014",
        "21.6.14",
        "21 June 2014",
        "21st Jun 2014",
        "datetime.date(2014, 6, 21)",
        "SW1A 1AA",  # a postcode
        "sw1a1aa",
        "M1 1AE",
        "practitioner@example.org",
        "'Keira Fitzgerald'",  # a quoted value, as Python and Django quote them
        '"Fitzgerald"',
        "Key (nhs_number)=(9434765919) already exists",
    ],
)
def test_a_child_shaped_value_is_blanked(child_shaped):
    redacted = redact(f"Lookup failed on {child_shaped}, try again")
    assert redacted.startswith("Lookup failed on ") and redacted.endswith(", try again")
    assert REDACTED in redacted
    for part in ("7KQ", "9434765919", "476", "2014", "SW1A", "M1 1AE", "Keira", "Fitzgerald"):
        assert part.lower() not in redacted.lower()


@pytest.mark.parametrize(
    "plain",
    [
        "Audit write failed for action search: OperationalError",
        "Import from source lcs hit a concurrent change; nothing written",
        "the child's record could not be read",  # an apostrophe is not a quote
        "Lookup refused, audit trail not written (AuditWriteError) request_id=3e9e5697063f",
        "took 250 ms over 12 rows",
    ],
)
def test_the_words_of_the_code_are_left_as_they_are(plain):
    assert redact(plain) == plain
