"""Runs the day rules of audit.oversight.flags (volume against a user's usual day, and fishing)."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.oversight.services import flags_raise_for_day


class Command(BaseCommand):
    help = (
        "Raise flags for the day rules over whole days (by default yesterday, local time): "
        "a user's lookups far above their limit or their usual day, and many searches "
        "with few record views. Safe to run again: a flag is raised once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--day", help="The (last) day to check, YYYY-MM-DD")
        parser.add_argument(
            "--days", type=int, default=1, help="How many days to check, ending with --day"
        )

    def handle(self, *args, day=None, days=1, **options) -> None:
        try:
            last = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
        except ValueError as error:
            raise CommandError(f"--day must be a date like 2026-11-24, not {day!r}") from error
        if not 1 <= days <= 400:
            raise CommandError("--days must be between 1 and 400")
        total = 0
        for offset in range(days - 1, -1, -1):
            checked = last - timedelta(days=offset)
            raised = flags_raise_for_day(day=checked)
            total += raised
            self.stdout.write(f"{checked.isoformat()}: {raised} new flag(s)")
        self.stdout.write(self.style.SUCCESS(f"Raised {total} new flag(s)."))
