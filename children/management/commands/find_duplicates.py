"""Finds the probable duplicates across the whole register and puts them into the data
managers' duplicates queue of the areas concerned. The register is read from the read
replica when there is one (DATABASE_REPLICA_URL; signposting.db_router).

The match model the search uses (children.matching), run by Splink on DuckDB in this process
over every name of every child (children.matching.register): pairs whose probability reaches
the model's show threshold, twins and siblings and children with different NHS numbers left
out. Idempotent: a pair already waiting is refreshed, one decided "different children" is
not asked again, and one no longer found leaves the queue. Audited (duplicates_found, with
counts only). Nothing about a child is printed.

    python manage.py find_duplicates               # about a minute for 1,000,000 children
    python manage.py find_duplicates --dry-run     # count, store nothing
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from audit.models import Action
from audit.services import record
from children.duplicates import probable_pairs_store
from children.matching import register
from children.matching.model import current_model
from signposting.db_router import read_on_replica

# pg_try_advisory_lock key: one run at a time.
FIND_DUPLICATES_LOCK = 0x5349_4744_5550  # "SIGDUP"


class Command(BaseCommand):
    help = "Find probable duplicates across the register (Splink, DuckDB) for the queue."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count the pairs only")
        parser.add_argument("--threads", type=int, default=None, help="DuckDB's threads")

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        if not self._lock():
            raise CommandError("find_duplicates is already running: nothing done.")
        try:
            self._run(started=started, dry_run=options["dry_run"], threads=options["threads"])
        finally:
            self._unlock()

    def _run(self, *, started: float, dry_run: bool, threads: int | None) -> None:
        model = current_model()
        self._progress(f"Match model {model.version}; reading the register")
        # The register's read (a minute of it at a million children) may go to the read
        # replica; the queue's reads and writes below are on the primary.
        pairs = read_on_replica(
            lambda: register.find_pairs(
                register.register_name_records(),
                model=model,
                progress=self._progress,
                threads=threads,
            )
        )
        self._progress(f"{len(pairs):,} probable duplicate pairs")
        if dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Dry run: {len(pairs):,} pairs found in"
                    f" {time.monotonic() - started:.0f} s; nothing stored."
                )
            )
            return
        with transaction.atomic():
            stored = probable_pairs_store(pairs=pairs, model_version=model.version)
            record(
                request=None,
                action=Action.DUPLICATES_FOUND,
                result_count=stored.found,
                detail={
                    "model_version": model.version,
                    "found": stored.found,
                    "new": stored.new,
                    "again": stored.again,
                    "decided_before": stored.decided_before,
                    "gone": stored.gone,
                    "seconds": round(time.monotonic() - started, 1),
                },
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{stored.found:,} pairs: {stored.new:,} new, {stored.again:,} waiting already,"
                f" {stored.decided_before:,} decided before, {stored.gone:,} no longer found"
                f" (taken out of the queue), in {time.monotonic() - started:.0f} s."
            )
        )

    def _progress(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _lock(self) -> bool:
        if connection.vendor != "postgresql":
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [FIND_DUPLICATES_LOCK])
            return bool(cursor.fetchall()[0][0])

    def _unlock(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [FIND_DUPLICATES_LOCK])
