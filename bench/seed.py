"""Seeding speed: `manage.py seed_demo --children N` on a fresh PostgreSQL database.

Drops and recreates the database (default signposting_seedbench), migrates it,
then times `seed_demo --children N` (default 1,000,000) as a separate process,
the way an operator runs it, and a second run that must find everything there.
Prints the wall time of each (and the CPU time of the seeding process: on a
busy machine the wall time says more about the neighbours), the rows written
per table, the table sizes and whether the run met the target (3 minutes for a
million children on a 2-core machine).

PostgreSQL only. Run from the repository root:

    .venv/bin/python bench/seed.py                      # N = 1,000,000
    .venv/bin/python bench/seed.py --children 200000
    .venv/bin/python bench/seed.py --keep               # leave the database for exploring

The server is the one of DATABASE_URL's host (default postgres@127.0.0.1:5432);
the database named by --database is dropped first, so never name one you care about.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
TARGET_SECONDS_PER_MILLION = 180
TABLES = (
    "children_child",
    "children_name",
    "children_address",
    "children_involvement",
    "children_sourcerecord",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2010)
    parser.add_argument("--server", default=SERVER, help="postgres://user@host:port")
    parser.add_argument("--database", default="signposting_seedbench")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()

    url = f"{args.server}/{args.database}"
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SIGNPOSTING_DEMO": "true",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        "PYTHONUNBUFFERED": "1",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)

    seed = [*manage, "seed_demo", "--children", str(args.children), "--seed", str(args.seed)]
    print(f"seed_demo --children {args.children:,} into {args.database} ...", flush=True)
    cpu_before = _children_cpu()
    began = time.monotonic()
    subprocess.run(seed, env=env, check=True, cwd=ROOT)
    first = time.monotonic() - began
    python_cpu = _children_cpu() - cpu_before
    began = time.monotonic()
    again = subprocess.run(seed, env=env, check=True, cwd=ROOT, capture_output=True, text=True)
    second = time.monotonic() - began

    with psycopg.connect(url) as db:
        print(f"\n{'table':<24}{'rows':>12}{'size':>12}")
        for table in TABLES:
            rows = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            size = db.execute(
                "SELECT pg_size_pretty(pg_total_relation_size(%s::regclass))", [table]
            ).fetchone()[0]
            print(f"{table:<24}{rows:>12,}{size:>12}")
        server = db.execute("SHOW server_version").fetchone()[0]
    if not args.keep:
        with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')

    target = TARGET_SECONDS_PER_MILLION * args.children / 1_000_000
    print(f"\nPostgreSQL {server}, {os.cpu_count()} CPUs")
    print(f"first run:  {first:8.1f} s for {args.children:,} children (target {target:.0f} s)")
    print(f"            {python_cpu:8.1f} s of it CPU in the seed_demo process")
    print(f"second run: {second:8.1f} s ({again.stdout.splitlines()[0]})")
    met = first <= target
    print("target met" if met else "TARGET MISSED")
    return 0 if met else 1


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    sys.exit(main())
