"""Seals committed audit events into the hash chain (audit.sealer): once, or with --follow
as the worker beside gunicorn, which seals while it holds the sealer lock (the others wait
as hot spares) and stops cleanly on SIGTERM or Ctrl-C."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from audit.sealer import seal_all, seal_follow
from signposting.workers import stop_on_signals

INLINE = "SQLite: record() seals each event as it appends it; no sealer is needed."


class Command(BaseCommand):
    help = (
        "Seal the audit events waiting for their place in the hash chain; with --follow, "
        "keep sealing as they come (one sealer works at a time; others wait)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--follow",
            action="store_true",
            help="Keep running, sealing events as they commit, until stopped.",
        )

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            sealed = seal_all()
            self.stdout.write(f"{INLINE} Sealed {sealed} waiting event(s).")
            return
        if not options["follow"]:
            self.stdout.write(f"Sealed {seal_all()} event(s).")
            return
        stop = stop_on_signals()
        interval = settings.AUDIT_SEAL_INTERVAL_SECONDS
        self.stdout.write(
            f"Sealing the audit chain every {interval:g} s until stopped "
            "(waiting for the sealer lock if another sealer holds it)."
        )
        sealed = seal_follow(stop=stop, interval=interval)
        self.stdout.write(f"Stopped; {sealed} event(s) sealed.")
