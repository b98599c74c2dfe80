"""Recomputes the audit hash chain; exits non-zero naming the first broken event."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.verify import Checkpoint, verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain (and, with --checkpoint, that no tail was cut)."

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
                data = json.loads(options["checkpoint"].read_text())
                checkpoint = Checkpoint(sequence=int(data["sequence"]), hash=str(data["hash"]))
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise CommandError(f"Cannot read the checkpoint: {error}") from None
        verdict = verify_chain(checkpoint=checkpoint)
        if verdict.ok:
            head = f"head {verdict.head.sequence} {verdict.head.hash}" if verdict.head else "empty"
            self.stdout.write(f"Audit chain intact: {verdict.events} events, {head}.")
            return
        where = (
            f"at sequence {verdict.broken_sequence}" if verdict.broken_sequence else "at the end"
        )
        self.stderr.write(f"Audit chain BROKEN {where}: {verdict.problem}.")
        sys.exit(1)
