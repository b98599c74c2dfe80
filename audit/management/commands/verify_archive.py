"""Checks an audit archive directory (audit.archive.verify_archive); exits non-zero listing
what is wrong."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from audit.archive import verify_archive


class Command(BaseCommand):
    help = (
        "Check an audit archive: each month's files against its manifest, every seal against "
        "its event, the chain through the months with none missing, and (unless --standalone) "
        "that every month the database recorded as archived is there, with its manifest."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--standalone",
            action="store_true",
            help="Check the files alone, without the database's records of what was archived",
        )

    def handle(self, *args, **options) -> None:
        verdict = verify_archive(options["directory"], against_database=not options["standalone"])
        if verdict.ok:
            if not verdict.months:
                self.stdout.write(f"Archive {options['directory']} holds no month.")
                return
            self.stdout.write(
                f"Archive intact: {len(verdict.months)} month(s), {verdict.months[0]} to "
                f"{verdict.months[-1]}, {verdict.events} events, chain up to position "
                f"{verdict.head.position} {verdict.head.hash}."
            )
            return
        self.stderr.write(f"Archive BROKEN: {len(verdict.problems)} problem(s):")
        for problem in verdict.problems:
            self.stderr.write(f"  {problem}")
        sys.exit(1)
