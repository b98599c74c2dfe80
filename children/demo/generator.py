"""ChildGenerator: child number i, the same child for a given seed whatever the batch it is
created in, as rows of plain Python (random.Random)."""

import random
from bisect import bisect
from collections.abc import Sequence
from datetime import UTC, date, datetime
from itertools import accumulate

from dateutil.relativedelta import relativedelta
from django.conf import settings

from children.demo.data import (
    BLOCK,
    DEMO_AREA_CHILDREN,
    INWARD_LETTERS,
    JOB_TITLES,
    MOBILE_RANGE,
    OUTWARD_CODES,
    SERVICES,
    SHIELDING_REASONS,
    SOURCE,
    STREET_SUFFIXES,
    Area,
    Batch,
    FastRandom,
    ServiceKind,
    demo_nhs_number,
    demo_public_id,
    email_local_part,
)
from children.matching import name_keys
from children.models import NameKind, Sex
from children.name_pools import LOCALES, NamePool, name_pools
from children.retention import retention_ends_on


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
