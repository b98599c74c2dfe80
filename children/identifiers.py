"""Identifiers and codes: the opaque public id, NHS numbers and UK postcodes."""

import re
import secrets

from django.core.exceptions import ValidationError
from stdnum.gb import nhs

# Crockford's base 32: no I, L, O or U, so ids read aloud or retyped stay unambiguous.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PUBLIC_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}$")


def check_character(body: str) -> str:
    """Luhn mod N over the base-32 alphabet: catches every single mistyped
    character and most swaps of neighbouring characters."""
    base, factor, total = len(ALPHABET), 2, 0
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        total += addend // base + addend % base
        factor = 1 if factor == 2 else 2
    return ALPHABET[(base - total % base) % base]


def new_public_id() -> str:
    """An opaque id like 7KQ-4M2-PX9: 8 random characters (40 bits) and a check character."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    raw = body + check_character(body)
    return f"{raw[0:3]}-{raw[3:6]}-{raw[6:9]}"


def is_valid_public_id(value: str) -> bool:
    if not PUBLIC_ID.match(value or ""):
        return False
    raw = value.replace("-", "")
    return check_character(raw[:8]) == raw[8]


def validate_public_id(value: str) -> None:
    if not is_valid_public_id(value):
        raise ValidationError("Enter a public ID like 7KQ-4M2-PX9", code="invalid_public_id")


def normalise_nhs_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


def validate_nhs_number(value: str) -> None:
    if not re.fullmatch(r"[0-9]{10}", value or "") or not nhs.is_valid(value):
        raise ValidationError(
            "Enter a valid 10-digit NHS number (its check digit does not match)",
            code="invalid_nhs_number",
        )


# The UK postcode format (BS 7666), including GIR 0AA.
_POSTCODE = re.compile(
    r"^(GIR0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])"
    r"[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def normalise_postcode(value: str) -> str:
    """Upper case with one space before the inward code: "sw1a1aa" -> "SW1A 1AA"."""
    compact = re.sub(r"\s+", "", value or "").upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def validate_postcode(value: str) -> None:
    if not _POSTCODE.match(re.sub(r"\s+", "", value or "").upper()):
        raise ValidationError("Enter a real UK postcode, like SW1A 1AA", code="invalid_postcode")


def outward_code(postcode: str) -> str:
    return normalise_postcode(postcode).split(" ")[0]
