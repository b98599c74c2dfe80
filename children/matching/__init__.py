"""Matching a child: name keys and sounds (keys), date-of-birth variants (dates), the match
model's comparisons (comparisons), realistic record errors (corruption).

children/search.py puts them together with the database.
"""

from children.matching.dates import dob_variants
from children.matching.keys import (
    ONE_SLIP,
    first_given_key,
    fold,
    name_key,
    name_keys,
    phonetic,
    similarity,
)

__all__ = [
    "ONE_SLIP",
    "dob_variants",
    "first_given_key",
    "fold",
    "name_key",
    "name_keys",
    "phonetic",
    "similarity",
]
