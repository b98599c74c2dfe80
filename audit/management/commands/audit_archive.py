"""Archives whole months of the audit trail to files, checks them, and only then removes
them from the database (audit.archive; docs/operations/audit-archive.md)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.archive import ArchiveRefused, archive_before, latest_month_allowed
from audit.partitions import Month


class Command(BaseCommand):
    help = (
        "Archive every month of the audit trail before YYYY-MM (UTC months) to DIR/YYYY-MM/, "
        "check the files, then remove those months from the database. Only months older "
        "than AUDIT_RETENTION_MONTHS. Run as the database owner."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--before",
            help="YYYY-MM: archive the months before this one (default: as far as "
            "AUDIT_RETENTION_MONTHS allows)",
        )
        parser.add_argument(
            "--to",
            type=Path,
            default=None,
            help="The archive directory (default: AUDIT_ARCHIVE_DIR)",
        )

    def handle(self, *args, **options) -> None:
        try:
            before = Month.parse(options["before"]) if options["before"] else latest_month_allowed()
        except ValueError as error:
            raise CommandError(f"--before: {error}") from None
        root = options["to"] or settings.AUDIT_ARCHIVE_DIR
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"Cannot use {root} for the archive: {error.strerror}") from None
        try:
            archived = archive_before(before=before, root=root)
        except ArchiveRefused as refusal:
            raise CommandError(f"Nothing more archived: {refusal}.") from None
        if not archived:
            self.stdout.write(f"Nothing to archive: no month before {before} is in the database.")
            return
        for month in archived:
            self.stdout.write(
                f"Archived {month.month}: {month.events} events, {month.links} child links, "
                f"{month.seals} seals to {month.directory} in {month.seconds:.1f} s."
            )
        self.stdout.write(
            self.style.SUCCESS(f"{len(archived)} month(s) archived and removed from the database.")
        )
