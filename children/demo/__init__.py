"""Synthetic children for seed_demo: realistic, deterministic for a seed, fast at a million.

Never real data: names are sampled from Faker's name lists, NHS numbers come
from the ranges that are never issued (999 for the first million), phone
numbers from Ofcom's drama ranges and e-mail addresses from .example domains.

Child number i (counted from 0 over all seeding runs) is the same child for a
given seed whatever the batch it is created in, so topping up a database gives
the same children as seeding it in one go. Rows are generated in plain Python
with random.Random, then written with COPY on PostgreSQL (bulk_create on
SQLite), a batch per transaction; the audit trail gets one event per run.
"""

from children.demo.data import (
    DEFAULT_CHILDREN,
    DEMO_AREA_CHILDREN,
    PARTNER_AGENCIES,
    SOURCE,
    demo_nhs_number,
    demo_public_id,
)
from children.demo.generator import ChildGenerator
from children.demo.seed import SeedResult, children_seed

__all__ = [
    "DEFAULT_CHILDREN",
    "DEMO_AREA_CHILDREN",
    "PARTNER_AGENCIES",
    "SOURCE",
    "ChildGenerator",
    "SeedResult",
    "children_seed",
    "demo_nhs_number",
    "demo_public_id",
]
