"""Import throughput: rows per second through children.imports on PostgreSQL.

Generates a synthetic CSV of N rows (default 100,000; about 1.5 involvements
per child; names from Faker in several locales, seeded; NHS numbers from the
999 test range; a few children with other names or a move between areas),
then imports it twice with `children.imports.import_rows(rows=parse_file(...))`,
the code `manage.py import_records` runs:

* first run: every child and involvement is created;
* second run: the same file, so everything is unchanged (only confirmed_at moves).

Each run's time covers reading the file, checking it, and writing it in one
transaction, plus the audit event. The script checks the counts of both runs.
The target is 100,000 rows in 30 seconds or less on this 2-core machine.

PostgreSQL only. Run from the repository root:

    .venv/bin/python bench/import.py                  # 100,000 rows
    .venv/bin/python bench/import.py --rows 20000 --seed 7
    .venv/bin/python bench/import.py --profile second # cProfile of the second run

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/signposting_bench
(created and migrated if needed; the audit benchmarks share it). Children from
earlier runs of this script (sources named bench-import-*) are deleted first
with plain SQL, so NHS numbers never clash; each run adds two events to that
database's audit trail. Before each run the register's tables get VACUUM
ANALYZE, as autovacuum would have done between two daily imports (this
development server runs with autovacuum off); --no-vacuum skips that.
"""

import argparse
import cProfile
import csv
import io
import os
import pstats
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/signposting_bench"
SOURCE_PREFIX = "bench-import-"
LOCALES = ["en_GB", "en_IE", "pl_PL", "ro_RO", "it_IT", "pt_PT", "tr_TR", "fr_FR"]
# A county-sized spread of areas: the organisations they need are created once.
AREAS = [
    "E09000007",
    "E09000033",
    "E08000025",
    "E10000016",
    "E06000001",
    "E08000035",
    "E10000030",
    "E09000028",
]
POSTCODES = [
    "NW1 8NP",
    "W2 5EH",
    "B15 2TT",
    "ME14 1XX",
    "TS24 7QS",
    "LS1 4DY",
    "GU1 3UW",
    "SE1 7PB",
]
REGISTER_TABLES = (
    "children_child",
    "children_name",
    "children_address",
    "children_involvement",
    "children_sourcerecord",
    "accounts_organisation",
)
SERVICES = [
    ("social_care", None),
    ("early_help", None),
    ("health_visiting", "Health Visiting Service"),
    ("school_nursing", "School Nursing Team"),
    ("education", "Example School"),
    ("camhs", "CAMHS"),
    ("youth_justice", "Youth Justice Service"),
    ("police", "Police"),
    ("send", "SEND Team"),
    ("gp", "Example Medical Practice"),
    ("sexual_health", "Sexual Health Service"),
]


def setup_django() -> None:
    """Configures Django; creates the database if missing; exits unless it is PostgreSQL."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signposting.settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("SECRET_KEY", "bench-only-throwaway-key")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    url = urlsplit(os.environ["DATABASE_URL"])
    if not url.scheme.startswith("postgres"):
        sys.exit(
            "bench/import.py needs PostgreSQL, but DATABASE_URL is "
            f"{url.scheme or 'unset'}. Set DATABASE_URL=postgres://... "
            f"(default {DEFAULT_DATABASE_URL})."
        )
    _create_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_local_authorities", stdout=io.StringIO())


def _create_database(url) -> None:
    import psycopg
    from psycopg import sql

    name = url.path.lstrip("/")
    server = url._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Created database {name}")


def nhs_numbers(rng: random.Random, count: int) -> list[str]:
    """Distinct valid NHS numbers from the 999 range, which is never issued to anyone."""
    from stdnum.gb import nhs

    chosen: set[str] = set()
    while len(chosen) < count:
        body = f"999{rng.randrange(10**6):06d}"
        check = 11 - sum(int(digit) * (10 - i) for i, digit in enumerate(body)) % 11
        number = body + str(0 if check == 11 else check)
        if len(number) == 10 and nhs.is_valid(number):  # a check of 10 has no valid number
            chosen.add(number)
    numbers = sorted(chosen)  # not set order: that changes with each process's hash seed
    rng.shuffle(numbers)
    return numbers


def generate(path: Path, *, rows: int, seed: int, nhs_share: float = 0.8) -> int:
    """Writes a synthetic import file of `rows` rows; returns the number of children."""
    from faker import Faker

    from children.imports import COLUMNS

    rng = random.Random(seed)
    fake = Faker(LOCALES)
    fake.seed_instance(seed)
    today = date.today()
    numbers = iter(nhs_numbers(rng, rows))
    written = children = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        while written < rows:
            children += 1
            born = today - timedelta(days=rng.randrange(30, 17 * 365))
            area = rng.randrange(len(AREAS))
            since = born + timedelta(days=rng.randrange(0, (today - born).days + 1))
            child = {
                "child_ref": f"C{children:07d}",
                "nhs_number": next(numbers) if rng.random() < nhs_share else "",
                "given_names": fake.first_name(),
                "family_name": fake.last_name(),
                "other_names": (
                    f"{fake.last_name()}, {fake.first_name()}" if rng.random() < 0.1 else ""
                ),
                "date_of_birth": born.isoformat(),
                "sex": rng.choice(["female", "male", "female", "male", "unknown", "other"]),
                "address_line_1": f"{rng.randrange(1, 200)} {fake.street_name()}"[:200],
                "postcode": POSTCODES[area],
                "local_authority": AREAS[area],
                "address_since": since.isoformat(),
            }
            involvements = 1 if rng.random() < 0.5 else 2
            lead = rng.randrange(involvements) if rng.random() < 0.4 else None
            for number in range(involvements):
                row = dict(child)
                if number == 1 and rng.random() < 0.1 and since < today:
                    # A move: the second involvement is in another area, from a later date.
                    moved = since + timedelta(days=rng.randrange(1, (today - since).days + 1))
                    other = (area + 1) % len(AREAS)
                    row |= {
                        "address_line_1": f"{rng.randrange(1, 200)} {fake.street_name()}"[:200],
                        "postcode": POSTCODES[other],
                        "local_authority": AREAS[other],
                        "address_since": moved.isoformat(),
                    }
                service, organisation = rng.choice(SERVICES)
                started = born + timedelta(days=rng.randrange(0, (today - born).days + 1))
                ended = ""
                if rng.random() < 0.3 and started < today and number != lead:
                    ended = (
                        started + timedelta(days=rng.randrange(1, (today - started).days + 1))
                    ).isoformat()
                practitioner = fake.name()
                row |= {
                    "involvement_ref": f"I{children:07d}-{number}",
                    "service": service,
                    "organisation": organisation or "",
                    "practitioner_name": practitioner,
                    "practitioner_job_title": rng.choice(
                        ["Social worker", "Health visitor", "Teacher", "Nurse"]
                    ),
                    "practitioner_phone": f"01632 96{rng.randrange(10000):04d}",
                    "practitioner_email": f"practitioner{rng.randrange(5000)}@example.org",
                    "started_on": started.isoformat(),
                    "ended_on": ended,
                    "lead_professional": "yes" if number == lead else "no",
                }
                if not row["organisation"]:
                    row["organisation"] = _area_name(row["local_authority"])
                writer.writerow(row)
                written += 1
                if written == rows:
                    break
    return children


_area_names: dict[str, str] = {}


def _area_name(code: str) -> str:
    if not _area_names:
        from accounts.models import Organisation

        _area_names.update(
            Organisation.objects.filter(kind="local_authority").values_list("ons_code", "name")
        )
    return _area_names[code]


def clean() -> int:
    """Deletes children from earlier runs of this script (plain SQL: no per-row signals)."""
    from django.db import connection, transaction

    pattern = SOURCE_PREFIX + "%"
    children = "SELECT child_id FROM children_sourcerecord WHERE source LIKE %s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_gone ON COMMIT DROP AS {children}", [pattern])
        for table in ("children_name", "children_address", "children_involvement"):
            cursor.execute(
                f"DELETE FROM {table} WHERE child_id IN (SELECT child_id FROM bench_gone)"  # noqa: S608
            )
        cursor.execute(
            "DELETE FROM children_sourcerecord WHERE child_id IN (SELECT child_id FROM bench_gone)"
        )
        cursor.execute("DELETE FROM children_child WHERE id IN (SELECT child_id FROM bench_gone)")
        return cursor.rowcount


def maintain(*, vacuum: bool) -> str:
    """VACUUM ANALYZE the register's tables, as autovacuum does between real imports.

    Returns the server's autovacuum setting."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
        for table in REGISTER_TABLES if vacuum else ():
            cursor.execute(f"VACUUM ANALYZE {table}")
    return autovacuum


def timed_import(path: Path, *, source: str, profiler: cProfile.Profile | None = None):
    from children.imports import import_rows, parse_file

    start = time.perf_counter()
    if profiler:
        profiler.enable()
    report = import_rows(rows=parse_file(path), source=source)
    if profiler:
        profiler.disable()
    return report, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the file (100,000)")
    parser.add_argument("--seed", type=int, default=2024, help="random and Faker seed (2024)")
    parser.add_argument("--profile", choices=["first", "second"], help="cProfile one of the runs")
    parser.add_argument(
        "--no-vacuum", action="store_true", help="skip VACUUM ANALYZE before each run"
    )
    parser.add_argument(
        "--without-nhs-numbers",
        action="store_true",
        help="rows carry no NHS number: for a database seeded by seed_demo, whose numbers "
        "come from the same test range (every new child then goes through the "
        "probable-duplicate check on names and date of birth)",
    )
    options = parser.parse_args()
    setup_django()
    removed = clean()
    if removed:
        print(f"Removed {removed:,} children left by earlier runs")
    source = f"{SOURCE_PREFIX}{int(time.time())}"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "import.csv"
        began = time.perf_counter()
        children = generate(
            path,
            rows=options.rows,
            seed=options.seed,
            nhs_share=0.0 if options.without_nhs_numbers else 0.8,
        )
        size = path.stat().st_size
        print(
            f"Generated {options.rows:,} rows for {children:,} children "
            f"({size / 1e6:.1f} MB) in {time.perf_counter() - began:.1f} s"
        )
        profiler = cProfile.Profile() if options.profile else None
        autovacuum = maintain(vacuum=not options.no_vacuum)
        first, first_seconds = timed_import(
            path, source=source, profiler=profiler if options.profile == "first" else None
        )
        maintain(vacuum=not options.no_vacuum)
        second, second_seconds = timed_import(
            path, source=source, profiler=profiler if options.profile == "second" else None
        )
    failures = []
    if first.refused:
        failures.append("first run refused: " + "; ".join(first.lines()[1:6]))
    if (first.children.created, first.involvements.created) != (children, options.rows):
        failures.append(f"first run: {first.children} / {first.involvements}")
    if (second.children.unchanged, second.involvements.unchanged) != (children, options.rows):
        failures.append(f"second run: {second.children} / {second.involvements}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'run':<22}{'seconds':>9}{'rows/s':>10}  counts")
    for label, report, seconds in (
        ("1: all created", first, first_seconds),
        ("2: all unchanged", second, second_seconds),
    ):
        print(
            f"{label:<22}{seconds:>9.1f}{options.rows / seconds:>10,.0f}  "
            f"children {report.children}; involvements {report.involvements}"
        )
    print(f"Peak memory of this process: {peak_mb:,.0f} MB")
    if options.no_vacuum:
        print(f"(autovacuum is {autovacuum} on this server; no VACUUM ANALYZE between runs)")
    else:
        print(
            f"(autovacuum is {autovacuum} on this server; each run starts after VACUUM ANALYZE "
            "of the register's tables, as autovacuum leaves them between daily imports)"
        )
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(35)
        print(stream.getvalue())
    if failures:
        sys.exit("FAILED: " + " | ".join(failures))


if __name__ == "__main__":
    main()
