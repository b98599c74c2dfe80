"""Audit chain verification speed: audit.verify.verify_chain() over a large trail.

First tops the bench database's audit trail up to M sealed events (default
1,000,000) if it has fewer: events, their child links and their seals, a valid
chain computed in Python with audit.chain.body and audit.chain.link over the
same `fields` that audit.services.record builds, continuing from the current
head, loaded with PostgreSQL COPY in batches (one transaction per batch,
holding the sealer's batch lock, so an interrupted load leaves a valid chain), each seal
with its event's occurred_at; on PostgreSQL the trail's monthly partitions are made first
for every month the events fall in (audit.partitions.ensure_partitions).
Event numbers skip one now and then, as rolled-back lookups make them, so most
seals link with the number (chain version 2). The rows are a mix of anonymous
and signed-in searches, record views, sign-ins and denials, with zero to two
AuditEventChild rows each. Then it times verify_chain() over every seal and
prints events, seconds and events/s.

PostgreSQL only. Run from the repository root:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE signposting_bench'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signposting_bench \\
        SECRET_KEY=x .venv/bin/python manage.py migrate
    .venv/bin/python bench/verify_audit.py                  # M = 1,000,000
    .venv/bin/python bench/verify_audit.py --events 200000 --repeat 3
    .venv/bin/python bench/verify_audit.py --profile        # cProfile the verify

DATABASE_URL defaults to the signposting_bench database above, SECRET_KEY to
a throwaway value. Loaded events cannot be removed (the audit tables are
append-only), so never point it at data you care about.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit.chain import HASHED_FIELDS  # noqa: E402  (plain Python: no Django setup needed)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/signposting_bench"
TARGET_SECONDS_PER_MILLION = 60

# The event's columns: its number, then exactly what the hash covers.
EVENT_COLUMNS = ("id", "sequence", *HASHED_FIELDS)
JSON_COLUMNS = frozenset({"children", "criteria", "detail"})
COPY_EVENTS = f"COPY audit_auditevent ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
COPY_CHILDREN = "COPY audit_auditeventchild (event_id, child_public_id, occurred_at) FROM STDIN"
COPY_SEALS = (
    "COPY audit_auditseal (position, event_id, prev_hash, hash, sealed_at, occurred_at) FROM STDIN"
)
SKIP_EVERY = 50  # one number in this many is skipped (a lookup that rolled back)
RESERVE_IDS = (
    "SELECT nextval(pg_get_serial_sequence('audit_auditevent', 'id')) FROM generate_series(1, %s)"
)
FAMILY_NAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "O'Neill", "Nowak", "Khan")
ORGANISATIONS = (
    ("Example Borough Council", "E09000099"),
    ("Sample City Council", "E08000098"),
    ("Partner Health Trust", None),
)
ACTIONS = ("search", "record_view", "search", "access_denied", "search", "sign_in", "search")


def setup_django() -> None:
    """Configures Django; exits unless the database is PostgreSQL."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signposting.settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("SECRET_KEY", "bench-only-throwaway-key")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit(
            f"bench/verify_audit.py needs PostgreSQL, but DATABASE_URL gives {connection.vendor}. "
            f"Set DATABASE_URL=postgres://... (default {DEFAULT_DATABASE_URL})."
        )


def fake_fields(sequence: int, occurred_at: datetime) -> dict[str, Any]:
    """The `fields` dict audit.services.record would build for a plausible event.

    Same keys, types and clean-up as record: children sorted, unique and at
    most 16 characters, "" rather than None for absent text, None for an
    absent actor id or client IP.
    """
    action = ACTIONS[sequence % len(ACTIONS)]
    signed_in = sequence % 5 != 0 or action == "sign_in"
    user = sequence % 37
    organisation, ons_code = ORGANISATIONS[user % len(ORGANISATIONS)]
    children: list[str] = []
    if action in ("search", "record_view", "access_denied"):
        count = 1 + sequence % 2 if action != "access_denied" else 1
        children = sorted(
            {f"K{(sequence * 7 + n * 13) % 99991:05d}-{n}X-Q{n}" for n in range(count)}
        )
    criteria: dict[str, Any] = {}
    if action == "search":
        criteria = {
            "family_name": FAMILY_NAMES[sequence % len(FAMILY_NAMES)],
            "date_of_birth": (
                f"20{sequence % 18:02d}-{1 + sequence % 12:02d}-{1 + sequence % 28:02d}"
            ),
        }
    denied = action == "access_denied"
    return {
        "occurred_at": occurred_at,
        "action": action,
        "actor_id": 1000 + user if signed_in else None,
        "actor_username": f"worker{user}@example.org" if signed_in else "",
        "actor_name": f"Case Worker {user}" if signed_in else "",
        "actor_role": ("manager" if user % 4 == 0 else "practitioner") if signed_in else "",
        "actor_organisation": organisation if signed_in else "",
        "actor_organisation_code": (ons_code or f"partner:{1 + user % 3}") if signed_in else "",
        "children": children,
        "criteria": criteria,
        "reason_code": "safeguarding" if action == "record_view" else "",
        "reason_text": "Referral received; checking for an existing plan." if denied else "",
        "outcome": "denied" if denied else "allowed",
        "result_count": len(children) if action == "search" else None,
        "detail": {"target_account_exists": True} if action == "sign_in" else {},
        "client_ip": f"10.{sequence % 7}.{sequence % 251}.{1 + sequence % 250}",
        "request_id": f"{sequence * 2654435761 % 2**128:032x}",
    }


def load(target: int, batch_size: int) -> None:
    """Appends valid sealed events until the chain has `target` seals."""
    from django.apps import apps
    from django.db import connection, transaction

    from audit import chain
    from audit.models import GENESIS_HASH
    from audit.partitions import Month, ensure_partitions
    from audit.sealer import CHAIN_LOCK_KEY

    seal_model = apps.get_model("audit", "AuditSeal")
    event_model = apps.get_model("audit", "AuditEvent")
    existing = seal_model.objects.count()
    missing = target - existing
    print(f"audit chain has {existing:,} sealed events; target {target:,}")
    if missing <= 0:
        return
    began = time.perf_counter()
    step = timedelta(milliseconds=5)
    # The events go from here (or just after the head's) to now: their months' partitions
    # first, or PostgreSQL has nowhere to put them.
    made = ensure_partitions(first=Month.of(datetime.now().astimezone() - missing * step))
    if made:
        print(f"  made {made} partition tables of the audit trail")
    while missing > 0:
        size = min(batch_size, missing)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
                cursor.execute(RESERVE_IDS, [size])
                ids = sorted(row[0] for row in cursor.fetchall())
            # The seal carries its event's time: no join to the events.
            head = (
                seal_model.objects.order_by("-position")
                .values_list("position", "hash", "occurred_at")
                .first()
            )
            position, prev_hash, last_at = head or (0, GENESIS_HASH, None)
            number = (
                event_model.objects.order_by("-sequence").values_list("sequence", flat=True).first()
                or 0
            )
            now = datetime.now().astimezone()
            occurred_at = (
                max(last_at + step, now - missing * step) if last_at else now - missing * step
            )
            events, links, seals = [], [], []
            for event_id in ids:
                position += 1
                number += 2 if position % SKIP_EVERY == 0 else 1
                occurred_at += step
                fields = fake_fields(position, occurred_at)
                event_hash = chain.link(
                    prev_hash=prev_hash,
                    position=position,
                    number=number,
                    content=chain.body(fields),
                )
                row = {"id": event_id, "sequence": number, **fields}
                events.append(
                    tuple(
                        json.dumps(row[name]) if name in JSON_COLUMNS else row[name]
                        for name in EVENT_COLUMNS
                    )
                )
                links.extend((event_id, child, occurred_at) for child in fields["children"])
                seals.append((position, event_id, prev_hash, event_hash, occurred_at, occurred_at))
                prev_hash = event_hash
            with connection.connection.cursor() as raw:
                for sql, rows in (
                    (COPY_EVENTS, events),
                    (COPY_CHILDREN, links),
                    (COPY_SEALS, seals),
                ):
                    with raw.copy(sql) as copy:
                        for values in rows:
                            copy.write_row(values)
            with connection.cursor() as cursor:
                # record() numbers from here on.
                cursor.execute("SELECT setval('audit_event_number', %s)", [number])
        missing -= size
        done = target - missing - existing
        rate = done / (time.perf_counter() - began)
        print(f"  loaded {done:,} events ({rate:,.0f}/s), head position {position:,}", flush=True)


def time_verify(profile: bool) -> tuple[Any, float, float]:
    """verify_chain() over the whole trail: (verdict, wall seconds, this process's CPU seconds)."""
    from django.db import connection

    from audit.verify import verify_chain

    connection.close()  # a fresh connection, as a verify command would have
    profiler = cProfile.Profile() if profile else None
    cpu, began = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    verdict = verify_chain()
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())
    return verdict, seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="M, events to verify (1e6)")
    parser.add_argument("--batch", type=int, default=100_000, help="events per load transaction")
    parser.add_argument("--repeat", type=int, default=1, help="timed verify runs (1)")
    parser.add_argument("--no-load", action="store_true", help="verify what is there, load nothing")
    parser.add_argument("--profile", action="store_true", help="run verify under cProfile")
    args = parser.parse_args()

    setup_django()
    from django.db import connection

    print(
        f"database {connection.settings_dict['NAME']}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} (other work skews the figures)"
    )
    if not args.no_load:
        load(args.events, args.batch)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_auditevent, audit_auditeventchild, audit_auditseal")

    results = []
    for _ in range(args.repeat):
        verdict, seconds, cpu = time_verify(args.profile)
        if not verdict.ok:
            sys.exit(f"FAILED: chain broken {verdict.broken_at}: {verdict.problem}")
        results.append((verdict.events, seconds, cpu))
        print(f"  verify_chain(): ok, {verdict.events:,} events in {seconds:.1f} s", flush=True)

    print(f"\n{'events':>10} {'seconds':>8} {'events/s':>9} {'python CPU s':>13}")
    for events, seconds, cpu in results:
        print(f"{events:>10,} {seconds:>8.1f} {events / seconds:>9,.0f} {cpu:>13.1f}")
    events, seconds, _ = min(results, key=lambda result: result[1])
    scaled = seconds * 1_000_000 / events if events else 0.0
    met = "met" if scaled <= TARGET_SECONDS_PER_MILLION else "NOT met"
    print(f"target <= 60 s per 1,000,000 events: {met} ({scaled:.1f} s per million, best run)")


if __name__ == "__main__":
    main()
