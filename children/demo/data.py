"""The demo register's constants and small helpers: services, job titles, phone ranges,
postcodes, street names, the columns written, and the deterministic public ids, NHS
numbers and e-mail addresses of synthetic children."""

import math
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from children.identifiers import ALPHABET, check_character

# Demo children are the children with a SourceRecord from this "source system";
# source_ref is the child's number, zero-padded so that it sorts.
SOURCE = "seed_demo"
DEFAULT_CHILDREN = 400
# Children numbered below this live in the demo areas; the rest (benchmark scale)
# anywhere in England.
DEMO_AREA_CHILDREN = DEFAULT_CHILDREN

# The partner agencies of an area, by what they provide.
PARTNER_AGENCIES = {
    "health": "{area} Community Health NHS Trust",
    "police": "{area} Police Safeguarding Hub",
    "schools": "{area} Primary Schools Partnership",
}

# Children are generated in blocks with their own RNG, so that child i does not
# depend on where a run starts.
BLOCK = 1_000
BATCH_BLOCKS = {"postgresql": 20, "sqlite": 2}

YEAR = 365.25


@dataclass(frozen=True)
class ServiceKind:
    """How a service of the catalogue turns up in children's lives."""

    code: str
    weight: int  # how common, relative to the others
    provider: str  # "la" or a key of PARTNER_AGENCIES
    min_age: float = 0  # years
    max_age: float | None = None  # years, exclusive
    can_lead: bool = True  # may be the lead professional
    # The same ages in days after birth, for the generator's arithmetic on day numbers.
    min_days: int = field(init=False)
    max_days: int = field(init=False)

    def __post_init__(self) -> None:
        # Rounded inwards, so that a child is of age whatever the leap years.
        object.__setattr__(self, "min_days", math.ceil(self.min_age * YEAR) + 1)
        never = 200 * 365
        object.__setattr__(
            self, "max_days", int(self.max_age * YEAR) if self.max_age is not None else never
        )


SERVICES = (
    ServiceKind("social_care", weight=18, provider="la"),
    ServiceKind("early_help", weight=16, provider="la"),
    ServiceKind("health_visiting", weight=10, provider="health", max_age=5),
    ServiceKind("school_nursing", weight=7, provider="health", min_age=5, max_age=17),
    ServiceKind("education", weight=16, provider="schools", min_age=4),
    ServiceKind("camhs", weight=8, provider="health", min_age=3),
    ServiceKind("youth_justice", weight=4, provider="la", min_age=10),
    ServiceKind("police", weight=6, provider="police", can_lead=False),
    ServiceKind("send", weight=7, provider="la"),
    ServiceKind("gp", weight=10, provider="health", can_lead=False),
    ServiceKind("sexual_health", weight=2, provider="health", min_age=13, can_lead=False),
    ServiceKind("substance_misuse", weight=2, provider="health", min_age=12, can_lead=False),
    ServiceKind("mental_health", weight=3, provider="health", min_age=11, can_lead=False),
)
JOB_TITLES = {
    "social_care": ("Social worker", "Senior social worker", "Advanced practitioner"),
    "early_help": ("Early help practitioner", "Family support worker", "Early help key worker"),
    "health_visiting": ("Health visitor", "Community nursery nurse"),
    "school_nursing": ("School nurse", "Specialist public health nurse"),
    "education": ("Designated safeguarding lead", "Head of year", "Class teacher"),
    "camhs": ("CAMHS practitioner", "Clinical psychologist"),
    "youth_justice": ("Youth justice officer", "Youth justice case manager"),
    "police": ("Police constable, child protection", "Detective constable, public protection"),
    "send": ("SEND caseworker", "Educational psychologist"),
    "gp": ("GP", "Practice nurse"),
    "sexual_health": ("Sexual health nurse", "Young people's sexual health adviser"),
    "substance_misuse": ("Young people's substance misuse worker",),
    "mental_health": ("Mental health practitioner", "Community psychiatric nurse"),
}

SHIELDING_REASONS = (
    "A court order restricts disclosure of the child's whereabouts",
    "The family fled domestic abuse: their address must not be disclosed",
    "Placed for adoption: the child's identity is protected",
    "Protected witness arrangements are in place for the family",
    "A relative who poses a risk is trying to find the child",
)

# Ofcom's ranges for drama (never allocated), by English region.
PHONE_RANGES = {
    "London": ("020 7946 0",),
    "North East": ("0191 498 0",),
    "North West": ("0161 496 0",),
    "Yorkshire and The Humber": ("0113 496 0", "0114 496 0"),
    "East Midlands": ("0115 496 0", "0116 496 0"),
    "West Midlands": ("0121 496 0",),
    "South West": ("0117 496 0",),
    "South East": ("01632 960",),
    "East of England": ("01632 960",),
}
MOBILE_RANGE = "07700 900"

# Postcode areas by region; the demo areas have their own outward codes.
POSTCODE_AREAS = {
    "London": ("E", "N", "NW", "SE", "SW", "W", "BR", "CR", "EN", "HA", "IG", "RM", "SM", "UB"),
    "North East": ("NE", "SR", "DH", "TS", "DL"),
    "North West": ("M", "L", "WA", "BL", "OL", "SK", "WN", "PR", "BB", "FY", "LA", "CA", "CW"),
    "Yorkshire and The Humber": ("LS", "BD", "HD", "HX", "WF", "S", "DN", "HU", "YO", "HG"),
    "East Midlands": ("DE", "NG", "LE", "LN", "NN"),
    "West Midlands": ("B", "CV", "DY", "WS", "WV", "ST", "TF", "HR", "WR"),
    "South West": ("BS", "BA", "GL", "SN", "PL", "TQ", "EX", "TR", "TA", "BH", "DT"),
    "South East": ("BN", "RH", "GU", "RG", "SL", "OX", "HP", "MK", "SO", "PO", "ME", "CT", "TN"),
    "East of England": ("CB", "IP", "NR", "PE", "CO", "CM", "SS", "LU", "SG", "AL"),
}
OUTWARD_CODES = {
    "E09000033": ("W1D", "W1F", "W1H", "W2", "W9", "NW8", "SW1P", "SW1V"),  # Westminster
    "E09000007": ("NW1", "NW3", "NW5", "NW6", "WC1H", "WC1N", "WC1X"),  # Camden
    "E10000016": ("CT1", "CT9", "ME14", "ME15", "TN23", "TN24", "DA11", "DA12"),  # Kent
}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
STREET_SUFFIXES = (
    "Road",
    "Street",
    "Lane",
    "Close",
    "Avenue",
    "Gardens",
    "Way",
    "Crescent",
    "Drive",
    "Place",
    "Grove",
    "Terrace",
    "Mews",
    "Court",
    "Rise",
    "Walk",
)

# Letters that Unicode does not decompose into a base letter and an accent.
_ASCII_LETTERS = str.maketrans({"ł": "l", "\u0131": "i", "ß": "ss", "ø": "o", "æ": "ae", "ɔ": "o"})


def email_local_part(given: str, family: str) -> str:
    text = f"{given.split()[0]}.{family}".lower().translate(_ASCII_LETTERS)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9.-]", "", text.replace(" ", "-")).strip(".-") or "practitioner"


def demo_public_id(*, number: int, keys: Sequence[int]) -> str:
    """The public id of demo child `number`: a keyed permutation (a Feistel network) of the
    40-bit id space, so every child gets a different id without asking the database, with
    the register's check character."""
    left, right = number >> 20 & 0xFFFFF, number & 0xFFFFF
    for key in keys:
        mixed = ((right ^ key) * 0x9E3779B1) & 0xFFFFFFFF
        left, right = right, left ^ ((mixed >> 12) & 0xFFFFF)
    value = left << 20 | right
    body = "".join(ALPHABET[value >> shift & 31] for shift in (35, 30, 25, 20, 15, 10, 5, 0))
    raw = body + check_character(body)
    return f"{raw[0:3]}-{raw[3:6]}-{raw[6:9]}"


# NHS numbers never issued to a patient: 999 000 0000-999 999 9999 is the test range, and
# none starting 900-998 is in the ranges England, Scotland or Northern Ireland issue.
_NHS_RANGES = ((999_000_000, 1_000_000, 387_331), (900_000_000, 99_000_000, 7_772_417))
_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def demo_nhs_number(*, number: int, offset: int) -> str | None:
    """A Modulus 11 valid NHS number for demo child `number`, different for every child
    (an affine permutation of the range), or None when its check digit would be 10
    (about 1 in 11: children whose NHS number is not known)."""
    for start, size, multiplier in _NHS_RANGES:
        if number < size:
            body = str(start + (multiplier * number + offset) % size)
            remainder = sum(int(d) * w for d, w in zip(body, _NHS_WEIGHTS, strict=True)) % 11
            check = (11 - remainder) % 11
            return None if check == 10 else f"{body}{check}"
        number -= size
    return None


class FastRandom(random.Random):
    """random.Random with choice and randint from one random() call each: about three times
    faster than the exact versions, and their tiny bias does not matter for demo data."""

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


@dataclass
class Area:
    """A local authority with what its children's records need, all as plain values."""

    id: int
    code: str
    organisations: dict[str, int]  # "la" or a PARTNER_AGENCIES key -> Organisation id
    outward_codes: tuple[str, ...]
    phone_ranges: tuple[str, ...]
    domains: dict[str, str]


@dataclass
class Batch:
    """Rows for consecutive demo children. Each row starts with the child's slot in `numbers`;
    the writer swaps it for the child's id."""

    numbers: list[int] = field(default_factory=list)
    children: list[tuple] = field(default_factory=list)
    names: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)
    involvements: list[tuple] = field(default_factory=list)
    moved: int = 0
    shielded: int = 0


CHILD_COLUMNS = (
    "id",
    "public_id",
    "nhs_number",
    "date_of_birth",
    "sex",
    "shielded",
    "shielding_reason",
    "shielded_by_id",
    "created_at",
    "updated_at",
    "retention_ends_on",
)
NAME_COLUMNS = (
    "child_id",
    "kind",
    "given_names",
    "family_name",
    "used_from",
    "used_until",
    "date_of_birth",
    "family_key",
    "given_key",
    "family_sound",
    "given_sound",
    "postcode",
    "outward_code",
)
ADDRESS_COLUMNS = (
    "child_id",
    "line_1",
    "postcode",
    "local_authority_id",
    "moved_in_on",
    "moved_out_on",
    "outward_code",
)
INVOLVEMENT_COLUMNS = (
    "child_id",
    "service_id",
    "organisation_id",
    "practitioner_name",
    "practitioner_job_title",
    "practitioner_phone",
    "practitioner_email",
    "started_on",
    "ended_on",
    "lead_professional",
    "source",
    "source_id",
    "confirmed_at",
    "created_at",
)
SOURCE_COLUMNS = ("child_id", "source", "source_ref")
