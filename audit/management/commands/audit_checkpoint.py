"""Prints the audit chain's head as JSON, for keeping off the host."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.checkpoints import checkpoint_json
from audit.verify import chain_head


class Command(BaseCommand):
    help = (
        'Print the head of the audit chain (its newest seal\'s position, as "sequence", '
        "hash and the time) as JSON."
    )

    def handle(self, *args, **options) -> None:
        head = chain_head()
        if head is None:
            raise CommandError("The audit chain is empty: nothing to checkpoint yet.")
        self.stdout.write(checkpoint_json(head=head, taken_at=timezone.now()))
