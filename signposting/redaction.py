"""Child-shaped values found in free text (log messages, error messages) and blanked out.

Logs and error reports must carry no child data, but their free text is written by code
that may not know it holds some: an exception message quoting a value, a database error
naming a duplicate key. Names cannot be recognised by their shape, so what is blanked is
every value that looks like a child's identifier (a public id, an NHS number, a date, a
postcode, an e-mail address), every quoted literal (Python and Django quote the offending
value: `KeyError: 'Keira'`, `invalid literal for int(): 'x'`) and the key values of a
database's duplicate-key detail. What is left is the shape of the error, which is what an
operator needs; the request id leads to the rest.
"""

import re

REDACTED = "[redacted]"

_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|"
    "july|august|september|october|november|december"
)
_PATTERNS = [
    # A quoted literal: 'Keira', "SW1A 1AA" (not an apostrophe inside a word: "child's").
    r"(?<![A-Za-z0-9])'[^'\n]*'|\"[^\"\n]*\"",
    # PostgreSQL's duplicate-key detail: Key (nhs_number)=(9434765919) already exists.
    r"=\([^)\n]*\)",
    # A public id: 7KQ-4M2-PX9.
    r"\b[0-9A-Za-z]{3}-[0-9A-Za-z]{3}-[0-9A-Za-z]{3}\b",
    # An NHS number, with or without its spaces: 943 476 5919.
    r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b",
    # Dates: 2014-06-21, 21/06/2014, 21 June 2014, datetime.date(2014, 6, 21).
    r"\b\d{4}-\d{1,2}-\d{1,2}\b",
    r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b",
    rf"\b\d{{1,2}}(?:st|nd|rd|th)? (?:{_MONTHS})\.? \d{{4}}\b",
    r"\bdate(?:time)?\(\d{4}, ?\d{1,2}, ?\d{1,2}[^)]*\)",
    # A UK postcode: SW1A 1AA, sw1a1aa.
    r"\b[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}\b",
    # An e-mail address (a practitioner's, or one typed into a form).
    r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
]
_CHILD_SHAPED = re.compile("|".join(f"(?:{pattern})" for pattern in _PATTERNS), re.IGNORECASE)


def redact(text: str) -> str:
    """The text with every child-shaped value replaced by [redacted]."""
    return _CHILD_SHAPED.sub(REDACTED, text)
