"""Runs the nightly jobs as one command (signposting.nightly): purge, misuse rules, verify,
checkpoint; prints a line a part and exits non-zero if any part failed.

The command sits in the project package, not in an app, because it composes all of them
(see signposting.nightly): the import-linter contracts in pyproject.toml let the project
package import every app, while children and the trail core may not import oversight.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from signposting.nightly import AlreadyRunning, nightly_lock, nightly_run

# sysexits' EX_TEMPFAIL: not run because another run holds the lock; try again later.
EXIT_ALREADY_RUNNING = 75


class Command(BaseCommand):
    help = (
        "The nightly jobs: the retention purge, yesterday's misuse rules, the audit chain "
        "verified against the last checkpoint in AUDIT_CHECKPOINT_DIR, and a new checkpoint "
        "there. Safe to run again; one run at a time. Exits 1 if any part failed (the others "
        f"still run), {EXIT_ALREADY_RUNNING} if another run holds the lock."
    )

    def handle(self, *args, **options) -> None:
        today = timezone.localdate()
        try:
            with nightly_lock():
                parts = nightly_run(today=today, checkpoint_dir=settings.AUDIT_CHECKPOINT_DIR)
        except AlreadyRunning as error:
            raise CommandError(
                f"Nightly run not started: {error}.", returncode=EXIT_ALREADY_RUNNING
            ) from None
        self.stdout.write(f"Nightly run of {today.isoformat()}:")
        width = max(len(part.name) for part in parts)
        for part in parts:
            status = "ok" if part.ok else "FAILED"
            self.stdout.write(f"  {part.name:<{width}}  {status:<6}  {part.outcome}")
        failed = [part.name for part in parts if not part.ok]
        if failed:
            raise CommandError(
                f"Nightly run: {len(failed)} of {len(parts)} parts failed ({', '.join(failed)}).",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"Nightly run: all {len(parts)} parts ok."))
