"""Recomputes the audit hash chain; exits non-zero naming the first broken seal or event."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import CheckpointUnreadable, checkpoint_read
from audit.verify import verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain, and that every event older than "
        "AUDIT_SEAL_DELAY_SECONDS is sealed (with --checkpoint, also that no tail was cut)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--checkpoint",
            type=Path,
            help="A file written earlier by `audit_checkpoint`, kept off this host.",
        )

    def handle(self, *args, **options) -> None:
        checkpoint = None
        if options["checkpoint"]:
            try:
                checkpoint = checkpoint_read(path=options["checkpoint"])
            except CheckpointUnreadable as error:
                raise CommandError(f"Cannot read the checkpoint: {error}") from None
        verdict = verify_chain(checkpoint=checkpoint)
        if verdict.ok:
            head = (
                f"head position {verdict.head.position} {verdict.head.hash}"
                if verdict.head
                else "empty"
            )
            awaiting = (
                f"; {verdict.awaiting_seal} newer event(s) awaiting their seal"
                if verdict.awaiting_seal
                else ""
            )
            self.stdout.write(f"Audit chain intact: {verdict.events} events, {head}{awaiting}.")
            return
        self.stderr.write(f"Audit chain BROKEN {verdict.broken_at}: {verdict.problem}.")
        sys.exit(1)
