"""Loads the 153 English local authorities with children's services (idempotent)."""

from django.core.management.base import BaseCommand

from accounts.services import local_authorities_load


class Command(BaseCommand):
    help = "Create or update the English local authorities from the shipped fixture, by ONS code."

    def handle(self, *args, **options) -> None:
        counts = local_authorities_load()
        self.stdout.write(
            f"Local authorities: {counts.created} created, {counts.updated} updated, "
            f"{counts.unchanged} unchanged."
        )
