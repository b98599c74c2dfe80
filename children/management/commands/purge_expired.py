"""Applies the retention rule: deletes every child whose retention period has ended."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from children.services import children_purge_expired


class Command(BaseCommand):
    help = (
        "Delete children whose retention period after their last involvement has ended, with "
        "everything recorded about them; one audit event (public id only) per child."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; delete nothing."
        )

    def handle(self, *args, **options) -> None:
        result = children_purge_expired(today=timezone.localdate(), dry_run=options["dry_run"])
        count = len(result.public_ids)
        if result.dry_run:
            self.stdout.write(f"Dry run: {count} child record(s) are due for deletion.")
        else:
            self.stdout.write(f"Deleted {count} child record(s) whose retention had ended.")
