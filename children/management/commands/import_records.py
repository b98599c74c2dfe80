"""Imports children and involvements from a source system's CSV or JSON file: all or nothing."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from audit.services import AuditWriteError
from children.imports import import_rows, parse_file


class Command(BaseCommand):
    help = (
        "Import a CSV or JSON file of involvements from a source system (one row per "
        "involvement; rows sharing a child_ref describe one child). The whole file is checked "
        "first: if any row is wrong nothing is imported and every problem is listed by row "
        "number. Running the same file again changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="a .csv file with a header row, or a .json list")
        parser.add_argument(
            "--source",
            required=True,
            help="the source system's name, e.g. 'westminster-lcs': the upsert keys are per source",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and count what would change, without writing anything",
        )

    def handle(self, *args, **options) -> None:
        try:
            parsed = parse_file(options["file"])
        except OSError as error:
            raise CommandError(f"Cannot read {options['file']}: {error.strerror}.") from None
        try:
            report = import_rows(rows=parsed, source=options["source"], dry_run=options["dry_run"])
        except AuditWriteError:
            raise CommandError(
                "The audit trail could not be written, so nothing was imported."
            ) from None
        except DatabaseError as error:
            raise CommandError(
                f"The database refused the import ({type(error).__name__}); nothing was imported."
            ) from None
        if report.refused:
            for line in report.lines():
                self.stderr.write(line)
            problems = "problem" if len(report.errors) == 1 else "problems"
            raise CommandError(f"File refused: {len(report.errors)} {problems}.")
        for line in report.lines():
            self.stdout.write(line)
