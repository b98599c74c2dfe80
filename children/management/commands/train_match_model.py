"""Estimates the match model from the register with Splink and writes the model file.

u probabilities come from the register by random sampling (what a coincidence looks like
here), m probabilities from pairs known to be the same child (each sampled child beside a
second record that differs as records of one child do: children.matching.corruption), so the
register needs no duplicates to learn from. The model is refused, and nothing written, if a
level was never observed, a weight is not finite, or the weights are out of order.

    python manage.py train_match_model --output var/match_model.json
    MATCH_MODEL_PATH=var/match_model.json   # then, for the service to use it

The file holds no child's details: the family names' frequencies list only names that at
least ten children share. Review it like code (its weights) before using it.
"""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.models import Action
from audit.services import record
from children.matching import training
from signposting.db_router import read_on_replica


class Command(BaseCommand):
    help = "Estimate the match model from the register (Splink, DuckDB) and write the file."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output",
            default=str(Path(settings.BASE_DIR) / "var" / "match_model.json"),
            help="Where to write the model (default var/match_model.json)",
        )
        parser.add_argument(
            "--max-pairs",
            type=float,
            default=2e7,
            help="Random pairs sampled for the u probabilities (default 2e7)",
        )
        parser.add_argument(
            "--copies",
            type=float,
            default=0.05,
            help="Share of children given a labelled second record for the m probabilities",
        )
        parser.add_argument("--limit", type=int, default=None, help="Use at most this many")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        # From the read replica when there is one (signposting.db_router).
        records = read_on_replica(lambda: training.register_records(limit=options["limit"]))
        self.stdout.write(f"{len(records):,} children read from the register")
        try:
            model = training.train(
                records=records,
                copies_share=options["copies"],
                max_pairs=options["max_pairs"],
                seed=options["seed"],
            )
        except training.TrainingRefused as refused:
            raise CommandError(f"The model was refused, nothing written: {refused}") from None
        output = Path(options["output"])
        output.parent.mkdir(parents=True, exist_ok=True)
        training.write(model, output)
        with transaction.atomic():
            record(
                request=None,
                action=Action.MATCH_MODEL_TRAINED,
                detail={
                    "version": model["version"],
                    "records": len(records),
                    "file": str(output),
                    "filled": model["trained_on"]["filled"],
                },
            )
        for name, levels in model["comparisons"].items():
            weights = ", ".join(
                f"{level['label']} {training.weight(level):+.1f}" for level in levels
            )
            self.stdout.write(f"  {name}: {weights}")
        if model["trained_on"]["filled"]:
            self.stdout.write(
                "Levels never observed, given half an observation: "
                + "; ".join(model["trained_on"]["filled"])
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Model {model['version']} written to {output} in"
                f" {time.monotonic() - started:.0f} s. Set MATCH_MODEL_PATH to use it."
            )
        )
