"""Synthetic children for seed_demo: realistic, deterministic for a seed, fast at a million.

Never real data: names are sampled from Faker's name lists, NHS numbers come
from the ranges that are never issued (999 for the first million), phone
numbers from Ofcom's drama ranges and e-mail addresses from .example domains.

Child number i (counted from 0 over all seeding runs) is the same child for a
given seed whatever the batch it is created in, so topping up a database gives
the same children as seeding it in one go. Rows are generated in plain Python
with random.Random, then written with COPY on PostgreSQL (bulk_create on
SQLite), a batch per transaction; the audit trail gets one event per run.
"""

import csv
import math
import queue
import random
import re
import threading
import time
import unicodedata
import zlib
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import accumulate

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organisation
from accounts.services import LOCAL_AUTHORITIES_CSV, partner_agency_get_or_create
from audit.models import Action
from audit.services import record
from children.identifiers import ALPHABET, check_character, new_public_id
from children.matching import name_keys
from children.models import Address, Child, Involvement, Name, NameKind, Service, Sex, SourceRecord
from children.name_pools import LOCALES, NamePool, name_pools
from children.retention import retention_ends_on

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


class ChildGenerator:
    """Makes the rows of demo children from numbers. Touches no database, so it can run in a
    thread while the previous batch is written."""

    def __init__(
        self,
        *,
        seed: int,
        today: date,
        demo_areas: Sequence[Area],
        all_areas: Sequence[Area],
        service_ids: dict[str, int],
        now: datetime,
    ) -> None:
        self.seed = seed
        self.today = today.toordinal()
        self.demo_areas = list(demo_areas)
        self.all_areas = list(all_areas)
        self.service_ids = service_ids
        self.now = now
        keys = random.Random(f"{SOURCE}:{seed}:ids")
        self.public_id_keys = [keys.getrandbits(32) for _ in range(4)]
        self.nhs_offset = keys.getrandbits(32)
        pools = name_pools()
        self.pools = [pools[locale] for locale in LOCALES]
        self.locale_cumulative = list(accumulate(LOCALES.values()))
        self.english = pools["en_GB"]
        self.streets = sorted(set(self.english.family_male))
        # Inactive children's last involvement ended recently enough to be kept a while.
        retention_days = (today - (today - relativedelta(months=settings.RETENTION_MONTHS))).days
        self.recent_days = max(1, retention_days - 30)
        self.staff: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
        self.retention_cache: dict[tuple[int, date | None], date] = {}

    # Children

    def batch(self, start: int, stop: int) -> Batch:
        """Rows for children numbered start..stop-1."""
        batch = Batch()
        first_block = start // BLOCK
        for block in range(first_block, (stop - 1) // BLOCK + 1):
            rng = FastRandom(f"{SOURCE}:{self.seed}:{block}")
            for number in range(block * BLOCK, min((block + 1) * BLOCK, stop)):
                if number < start:
                    self._child(rng, number, None)  # keeps the RNG in step
                else:
                    self._child(rng, number, batch)
        return batch

    def _child(self, rng: random.Random, number: int, batch: Batch | None) -> None:
        today = self.today
        areas = self.demo_areas if number < DEMO_AREA_CHILDREN else self.all_areas
        area = rng.choice(areas)
        born = today - rng.randint(7, 18 * 365 - 6)
        roll = rng.random()
        sex = (
            Sex.FEMALE
            if roll < 0.485
            else Sex.MALE
            if roll < 0.97
            else Sex.UNKNOWN
            if roll < 0.995
            else Sex.OTHER
        )
        pool = self.pools[bisect(self.locale_cumulative, rng.random() * self.locale_cumulative[-1])]
        given, family = self._name(rng, pool, sex)

        previous = None
        moved_on = None
        if today - born > 120 and rng.random() < (0.12 if number < DEMO_AREA_CHILDREN else 0.04):
            previous = area
            while previous is area:
                previous = rng.choice(areas)
            moved_on = rng.randint(max(born + 60, today - 6 * 365), today - 14)
        active = rng.random() < 0.8
        count = 1 + bisect((0.62, 0.88, 0.97), rng.random())
        if previous is not None:
            count = max(count, 2)
        shielded = number % 50 == 7
        if batch is None:
            # A child created by an earlier run: made again, and thrown away, so that the
            # RNG is where it would be for the next child.
            batch = Batch()
        slot = len(batch.numbers)
        batch.numbers.append(number)

        # Names: current, and sometimes a previous name, an alias or a preferred name. They
        # carry the current postcode too, known once the addresses are made (below).
        birthday = date.fromordinal(born)
        first_name = len(batch.names)

        def add_name(*row) -> None:
            keys = name_keys(given_names=row[2], family_name=row[3])
            batch.names.append(
                (
                    *row,
                    birthday,
                    keys["family_key"],
                    keys["given_key"],
                    keys["family_sound"],
                    keys["given_sound"],
                )
            )

        add_name(slot, NameKind.CURRENT.value, given, family, None, None)
        roll = rng.random()
        if roll < 0.07 and today - born > 400:
            changed = rng.randint(born + 180, today - 30)
            _, old_family = self._name(rng, pool, sex)
            if old_family != family:
                add_name(
                    slot,
                    NameKind.PREVIOUS.value,
                    given,
                    old_family,
                    date.fromordinal(born),
                    date.fromordinal(changed),
                )
        elif roll < 0.11:
            alias_given, _ = self._name(rng, pool, sex)
            if alias_given != given:
                add_name(slot, NameKind.ALIAS.value, alias_given, family, None, None)
        elif roll < 0.14:
            preferred, _ = self._name(rng, pool, sex)
            if preferred != given:
                add_name(slot, NameKind.PREFERRED.value, preferred.split()[0], family, None, None)

        # Addresses: the current one, and the one before a move to another area.
        addresses = batch.addresses
        if previous is not None:
            lived_from = born if rng.random() < 0.5 else rng.randint(born, moved_on - 1)
            street = self._street(rng)  # before the postcode: the RNG's order is the seed's
            postcode = self._postcode(rng, previous)
            addresses.append(
                (
                    slot,
                    street,
                    postcode,
                    previous.id,
                    date.fromordinal(lived_from),
                    date.fromordinal(moved_on),
                    postcode.split(" ")[0],
                )
            )
            current_from = moved_on
            batch.moved += 1
        else:
            current_from = born if rng.random() < 0.6 else rng.randint(born, max(born, today - 30))
        street = self._street(rng)
        postcode = self._postcode(rng, area)
        addresses.append(
            (
                slot,
                street,
                postcode,
                area.id,
                date.fromordinal(current_from),
                None,
                postcode.split(" ")[0],
            )
        )
        batch.names[first_name:] = [
            (*row, postcode, postcode.split(" ")[0]) for row in batch.names[first_name:]
        ]

        # Involvements: before the move in the old area, then in the current one.
        periods = self._involvements(
            rng,
            batch,
            slot,
            born=born,
            area=area,
            previous=previous,
            moved_on=moved_on,
            count=count,
            active=active,
        )
        retention = self._retention_ends_on(born, periods)
        if shielded:
            batch.shielded += 1
        batch.children.append(
            (
                slot,
                demo_public_id(number=number, keys=self.public_id_keys),
                demo_nhs_number(number=number, offset=self.nhs_offset),
                date.fromordinal(born),
                sex.value,
                shielded,
                rng.choice(SHIELDING_REASONS) if shielded else "",
                area.id if shielded else None,
                self.now,
                self.now,
                retention,
            )
        )

    def _involvements(
        self,
        rng: random.Random,
        batch: Batch,
        slot: int,
        *,
        born: int,
        area: Area,
        previous: Area | None,
        moved_on: int | None,
        count: int,
        active: bool,
    ) -> list[tuple[date, date | None]]:
        today = self.today
        rows: list[list] = []  # [service, area, started, ended, lead]
        earliest = max(born, today - 8 * 365)

        if previous is not None:
            before = 1 if count < 4 else 2
            used: set[str] = set()
            for _ in range(before):
                kind, lo, hi = self._pick(rng, born, earliest, moved_on - 1, used)
                started = max(lo, hi - int(rng.expovariate(1 / 500)))
                ended = min(
                    started + 14 + int(rng.expovariate(1 / 300)),
                    moved_on + rng.randint(-10, 28),
                    born + kind.max_days - 1,
                    today - 1,
                )
                lead = kind.code in ("social_care", "early_help") and rng.random() < 0.6
                rows.append([kind, previous, started, max(started, ended), lead])
                used.add(kind.code)
            count -= before
            earliest = moved_on

        # The child's latest involvement: open if the child is active, otherwise ended
        # recently enough for the record to be kept.
        used = set()
        if active:
            kind, lo, hi = self._pick(rng, born, earliest, today - 1, used, open_today=True)
            started = max(lo, hi - int(rng.expovariate(1 / 300)))
            if previous is not None and rows[0][0].code == "social_care" and rng.random() < 0.5:
                kind = rows[0][0]  # the case transferred to the new area's social care
                started = min(today - 1, moved_on + rng.randint(0, 28))
            rows.append([kind, area, started, None, False])
        else:
            recent = today - self.recent_days
            kind, lo, hi = self._pick(rng, born, max(earliest, recent), today - 1, used)
            ended = rng.randint(lo, hi)
            started = max(earliest, born + kind.min_days, ended - int(rng.expovariate(1 / 200)))
            rows.append([kind, area, min(started, ended), ended, False])
        used.add(kind.code)

        for _ in range(count - 1):
            open_now = active and rng.random() < 0.35
            kind, lo, hi = self._pick(rng, born, earliest, today - 1, used, open_today=open_now)
            started = rng.randint(lo, hi)
            ended = None
            if not open_now or born + kind.max_days <= today:
                ended = min(
                    started + 14 + int(rng.expovariate(1 / 240)),
                    born + kind.max_days - 1,
                    today - 1,
                )
                ended = max(started, ended)
            rows.append([kind, area, started, ended, False])
            used.add(kind.code)

        # One open lead professional at most: the social worker if there is one.
        open_leads = [row for row in rows if row[3] is None and row[0].can_lead]
        if open_leads:
            social = [row for row in open_leads if row[0].code == "social_care"]
            if social and rng.random() < 0.9:
                social[0][4] = True
            elif rng.random() < 0.5:
                rng.choice(open_leads)[4] = True

        periods = []
        for kind, where, started, ended, lead in rows:
            name, title, phone, email, organisation = self._practitioner(rng, where, kind)
            started_on = date.fromordinal(started)
            ended_on = None if ended is None else date.fromordinal(ended)
            if ended is not None:
                confirmed = ended
            elif rng.random() < 0.85:
                confirmed = max(started, today - rng.randint(0, 45))
            else:  # stale: the source system has not confirmed it for months
                confirmed = max(started, today - rng.randint(120, 500))
            batch.involvements.append(
                (
                    slot,
                    self.service_ids[kind.code],
                    organisation,
                    name,
                    title,
                    phone,
                    email,
                    started_on,
                    ended_on,
                    lead,
                    "",
                    "",
                    _at_nine(confirmed),
                    self.now,
                )
            )
            periods.append((started_on, ended_on))
        return periods

    def _retention_ends_on(self, born: int, periods: list[tuple[date, date | None]]) -> date:
        """children.retention's rule, remembered: it depends only on the date of birth and
        the last end (or none, while open), which many children share."""
        last_end = None if any(end is None for _, end in periods) else max(e for _, e in periods)
        key = (born, last_end)
        retention = self.retention_cache.get(key)
        if retention is None:
            if len(self.retention_cache) > 200_000:
                self.retention_cache.clear()
            retention = self.retention_cache[key] = retention_ends_on(
                date_of_birth=date.fromordinal(born), involvement_periods=periods
            )
        return retention

    def _pick(
        self,
        rng: random.Random,
        born: int,
        lo: int,
        hi: int,
        used: set[str],
        *,
        open_today: bool = False,
    ) -> tuple[ServiceKind, int, int]:
        """A service, weighted, that the child was of an age for during lo..hi (and today, for
        an open involvement), and the days of lo..hi it could have started on."""
        candidates, total, today = [], 0, self.today
        for kind in SERVICES:
            if kind.code in used:
                continue
            end = born + kind.max_days
            if open_today and end <= today:
                continue
            end = min(hi, end - 1)
            start = max(lo, born + kind.min_days)
            if start <= end:
                total += kind.weight
                candidates.append((total, kind, start, end))
        if not candidates:  # social care is there for every age
            return SERVICES[0], max(lo, born), max(lo, born, min(hi, today - 1))
        pick = rng.random() * total
        for cumulative, kind, start, end in candidates:
            if pick < cumulative:
                return kind, start, end
        return candidates[-1][1:]

    # Names, places and people

    def _name(
        self, rng: random.Random, pool: NamePool, sex: Sex, *, adult: bool = False
    ) -> tuple[str, str]:
        female = sex == Sex.FEMALE or (sex != Sex.MALE and rng.random() < 0.5)
        if adult:
            given_pool = pool.female if female else pool.male
        else:
            given_pool = pool.girls if female else pool.boys
        given = rng.choice(given_pool)
        if rng.random() < 0.3:
            middle = rng.choice(given_pool)
            if middle != given:
                given = f"{given} {middle}"
        family = rng.choice(pool.family_female if female else pool.family_male)
        if rng.random() < 0.03:
            other = rng.choice(self.english.family_male)
            if other != family:
                family = f"{family}-{other}"
        return given, family

    def _street(self, rng: random.Random) -> str:
        street = f"{rng.randint(1, 180)} {rng.choice(self.streets)} {rng.choice(STREET_SUFFIXES)}"
        return f"Flat {rng.randint(1, 40)}, {street}" if rng.random() < 0.25 else street

    @staticmethod
    def _postcode(rng: random.Random, area: Area) -> str:
        letters = INWARD_LETTERS
        return (
            f"{rng.choice(area.outward_codes)} {rng.randint(0, 9)}"
            f"{rng.choice(letters)}{rng.choice(letters)}"
        )

    def _practitioner(
        self, rng: random.Random, area: Area, kind: ServiceKind
    ) -> tuple[str, str, str, str, int]:
        """Someone from the area's team for the service; teams are made once per area and
        service, from their own RNG, so they are the same whichever child meets them first."""
        key = (area.code, kind.code)
        team = self.staff.get(key)
        if team is None:
            team = self.staff[key] = self._team(area, kind)
        name, title, phone, email = rng.choice(team)
        return name, title, phone, email, area.organisations[kind.provider]

    def _team(self, area: Area, kind: ServiceKind) -> list[tuple[str, str, str, str]]:
        rng = FastRandom(f"{SOURCE}:{self.seed}:staff:{area.code}:{kind.code}")
        domain = area.domains[kind.provider]
        team, emails = [], set()
        for _ in range(12 if area.code in OUTWARD_CODES else 20):
            pool = self.pools[
                bisect(self.locale_cumulative, rng.random() * self.locale_cumulative[-1])
            ]
            sex = Sex.FEMALE if rng.random() < 0.75 else Sex.MALE
            given, family = self._name(rng, pool, sex, adult=True)
            given = given.split()[0]
            local = email_local_part(given, family)
            while local in emails:
                local += str(rng.randint(1, 9))
            emails.add(local)
            phone_range = MOBILE_RANGE if rng.random() < 0.2 else rng.choice(area.phone_ranges)
            phone = f"{phone_range}{rng.randint(0, 999):03d}"
            team.append(
                (f"{given} {family}", rng.choice(JOB_TITLES[kind.code]), phone, f"{local}@{domain}")
            )
        return team


def _at_nine(day: int) -> datetime:
    return datetime.fromordinal(day).replace(hour=9, tzinfo=UTC)


# Writing


@dataclass(frozen=True)
class SeedResult:
    existing: int
    created: int
    names: int
    involvements: int
    moved: int
    shielded: int
    seconds: float

    @property
    def total(self) -> int:
        return self.existing + self.created


def demo_children_count() -> int:
    return SourceRecord.objects.filter(source=SOURCE).count()


def children_seed(
    *,
    count: int,
    seed: int,
    demo_area_codes: Sequence[str],
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeedResult:
    """Makes sure at least `count` demo children exist, creating the missing ones.

    Deterministic for a seed and a day: the children are numbered, and child i is
    the same whether created in one run or by topping up. Bulk writes skip model
    validation and change history; tests check that what is written would pass both.
    """
    began = time.monotonic()
    existing = demo_children_count()
    if existing >= count:
        return SeedResult(
            existing=existing,
            created=0,
            names=0,
            involvements=0,
            moved=0,
            shielded=0,
            seconds=time.monotonic() - began,
        )
    last = (
        SourceRecord.objects.filter(source=SOURCE)
        .order_by("-source_ref")
        .values_list("source_ref", flat=True)
        .first()
    )
    start = int(last) + 1 if last else 0
    stop = start + count - existing
    today = today or timezone.localdate()
    demo_areas = _areas(codes=demo_area_codes)
    # Every authority of the shipped list (not areas a test or an operator added).
    all_areas = _areas(codes=list(_regions())) if stop > DEMO_AREA_CHILDREN else demo_areas
    generator = ChildGenerator(
        seed=seed,
        today=today,
        demo_areas=demo_areas,
        all_areas=all_areas,
        service_ids=dict(Service.objects.values_list("code", "id")),
        now=timezone.now(),
    )
    writer = _PostgresWriter() if connection.vendor == "postgresql" else _OrmWriter()
    check_clashes = Child.objects.exists()
    batch_size = BLOCK * BATCH_BLOCKS.get(connection.vendor, 2)
    batches = (
        generator.batch(first, min(first + batch_size, stop))
        for first in range(start, stop, batch_size)
    )
    created = names = involvements = moved = shielded = 0
    for batch in _in_background(batches):
        with transaction.atomic():
            if check_clashes:
                _avoid_clashes(batch)
            writer.write(batch)
        created += len(batch.numbers)
        names += len(batch.names)
        involvements += len(batch.involvements)
        moved += batch.moved
        shielded += batch.shielded
        if progress is not None:
            progress(created, stop - start)
    with transaction.atomic():
        record(
            request=None,
            action=Action.RECORD_IMPORT,
            detail={
                "source": SOURCE,
                "synthetic": True,
                "seed": seed,
                "children": created,
                "involvements": involvements,
            },
        )
    return SeedResult(
        existing=existing,
        created=created,
        names=names,
        involvements=involvements,
        moved=moved,
        shielded=shielded,
        seconds=time.monotonic() - began,
    )


def _areas(*, codes: Sequence[str]) -> list[Area]:
    """The local authorities with these ONS codes, in code order, with their partner
    agencies (created if missing)."""
    regions = _regions()
    authorities = Organisation.objects.filter(
        kind=Organisation.Kind.LOCAL_AUTHORITY, ons_code__in=codes
    )
    agencies = {
        (agency.local_authority_id, agency.name): agency.pk
        for agency in Organisation.objects.filter(kind=Organisation.Kind.PARTNER_AGENCY)
    }
    areas = []
    for authority in authorities.order_by("ons_code"):
        organisations = {"la": authority.pk}
        for provider, template in PARTNER_AGENCIES.items():
            name = template.format(area=authority.name)
            pk = agencies.get((authority.pk, name))
            if pk is None:
                pk = partner_agency_get_or_create(name=name, local_authority=authority).pk
            organisations[provider] = pk
        region = regions.get(authority.ons_code, "East of England")
        slug = re.sub(r"[^a-z0-9]+", "-", authority.name.lower()).strip("-")
        areas.append(
            Area(
                id=authority.pk,
                code=authority.ons_code,
                organisations=organisations,
                outward_codes=OUTWARD_CODES.get(authority.ons_code)
                or _outward_codes(authority.ons_code, region),
                phone_ranges=PHONE_RANGES.get(region, ("01632 960",)),
                domains={
                    "la": f"{slug}.gov.example",
                    "health": f"{slug}-health.nhs.example",
                    "police": f"{slug}.police.example",
                    "schools": f"{slug}-schools.example",
                },
            )
        )
    if len(areas) != len(set(codes)):
        raise ValueError("Load the local authorities first (load_local_authorities)")
    return areas


@lru_cache(maxsize=1)
def _regions() -> dict[str, str]:
    with LOCAL_AUTHORITIES_CSV.open(newline="", encoding="utf-8") as handle:
        return {row["ons_code"]: row["region"] for row in csv.DictReader(handle)}


def _outward_codes(code: str, region: str) -> tuple[str, ...]:
    """A few plausible outward codes for an area: made up, but of its region's postcode areas."""
    rng = random.Random(zlib.crc32(code.encode()))
    letters = POSTCODE_AREAS.get(region, POSTCODE_AREAS["East of England"])
    home = rng.choice(letters)
    return tuple(
        f"{home if rng.random() < 0.7 else rng.choice(letters)}{rng.randint(1, 28)}"
        for _ in range(6)
    )


def _avoid_clashes(batch: Batch) -> None:
    """Gives a fresh public id to, and drops the NHS number of, any new child that would
    clash with a record already there (from an import, or seeded with another seed)."""
    public_ids = {row[1] for row in batch.children}
    nhs_numbers = {row[2] for row in batch.children if row[2]}
    taken_ids = _existing("public_id", public_ids)
    taken_nhs = _existing("nhs_number", nhs_numbers)
    if not taken_ids and not taken_nhs:
        return
    for index, row in enumerate(batch.children):
        public_id, nhs_number = row[1], row[2]
        if public_id in taken_ids:
            while public_id in public_ids or _existing("public_id", {public_id}):
                public_id = new_public_id()
            public_ids.add(public_id)
        if nhs_number in taken_nhs:
            nhs_number = None
        batch.children[index] = (row[0], public_id, nhs_number, *row[3:])


def _existing(column: str, values: set[str]) -> set[str]:
    """Which of the values some child already has in the column."""
    if connection.vendor == "postgresql":
        # One array parameter: an IN list of 20,000 parameters is slow to plan.
        with connection.cursor() as cursor:
            quote = connection.ops.quote_name
            cursor.execute(
                "SELECT {column} FROM {table} WHERE {column} = ANY(%s)".format(  # noqa: S608
                    column=quote(column), table=quote(Child._meta.db_table)
                ),
                [sorted(values)],
            )
            return {row[0] for row in cursor.fetchall()}
    found = set()
    for chunk in _chunks(sorted(values), 900):
        found.update(
            Child.objects.filter(**{f"{column}__in": chunk}).values_list(column, flat=True)
        )
    return found


def _chunks(items: list, size: int) -> Iterator[list]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


class _PostgresWriter:
    """COPY into the register's tables, children's ids reserved from their sequence."""

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Child._meta.db_table])
            self.sequence = cursor.fetchone()[0]

    def write(self, batch: Batch) -> None:
        with connection.cursor() as cursor:
            # Demo data: losing the last batches in a crash costs nothing.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                [self.sequence, len(batch.numbers)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            sources = [(slot, SOURCE, f"{n:08d}") for slot, n in enumerate(batch.numbers)]
            self._copy(cursor, Child, CHILD_COLUMNS, batch.children, ids)
            self._copy(cursor, Name, NAME_COLUMNS, batch.names, ids)
            self._copy(cursor, Address, ADDRESS_COLUMNS, batch.addresses, ids)
            self._copy(cursor, Involvement, INVOLVEMENT_COLUMNS, batch.involvements, ids)
            self._copy(cursor, SourceRecord, SOURCE_COLUMNS, sources, ids)

    @staticmethod
    def _copy(cursor, model, columns: Sequence[str], rows: list[tuple], ids: list[int]) -> None:
        quote = connection.ops.quote_name
        statement = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table), ", ".join(quote(column) for column in columns)
        )
        with cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row((ids[row[0]], *row[1:]))


class _OrmWriter:
    """bulk_create, for SQLite: correct rather than fast."""

    def write(self, batch: Batch) -> None:
        children = Child.objects.bulk_create(
            Child(**dict(zip(CHILD_COLUMNS[1:], row[1:], strict=True))) for row in batch.children
        )
        ids = [child.pk for child in children]
        sources = [(slot, SOURCE, f"{n:08d}") for slot, n in enumerate(batch.numbers)]
        for model, columns, rows in (
            (Name, NAME_COLUMNS, batch.names),
            (Address, ADDRESS_COLUMNS, batch.addresses),
            (Involvement, INVOLVEMENT_COLUMNS, batch.involvements),
            (SourceRecord, SOURCE_COLUMNS, sources),
        ):
            model.objects.bulk_create(
                (model(**dict(zip(columns, (ids[row[0]], *row[1:]), strict=True))) for row in rows),
                batch_size=500,
            )


def _in_background(batches: Iterator[Batch], depth: int = 2) -> Iterator[Batch]:
    """Yields the batches, generating the next ones in a thread meanwhile, so that Python
    makes rows while the database stores the previous batch."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        handoff.put(batch, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(done)
        except BaseException as error:  # re-raised in the consuming thread
            handoff.put(error)

    thread = threading.Thread(target=produce, name="seed-demo-generator", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
