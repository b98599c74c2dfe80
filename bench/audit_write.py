"""Audit append throughput: events per second through audit.services.record.

Measures, at 1, 2 and 4 concurrent clients (one process and one database
connection each), how many audit events per second are appended:

* "chained": through ``audit.services.record(request=None, action="search", ...)``
  called outside any atomic block, so each event is its own transaction
  (advisory lock, head read, event insert, child-row insert, commit);
* "baseline": the same rows (event + one or two AuditEventChild rows, one
  transaction per event) created through the ORM with a made-up unique
  sequence/hash/prev_hash: no advisory lock, no head read, no hashing. These
  go to copies of the audit tables in a scratch schema (``bench_baseline``,
  same columns, indexes and foreign key) so that they never touch the real
  chain; the schema is recreated at the start and dropped at the end.

Wall time runs from the barrier that starts all clients together to the last
client's last commit. After the chained runs the script checks that exactly
clients x N new events were added with gap-free sequences, and that
``audit.verify.verify_chain()`` passes over the whole chain.

PostgreSQL only (SQLite serialises writers on its file lock). Run from the
repository root:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE signposting_bench'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signposting_bench \\
        SECRET_KEY=x .venv/bin/python manage.py migrate
    .venv/bin/python bench/audit_write.py                # defaults: --events 1000
    .venv/bin/python bench/audit_write.py --clients 2 --repeat 3 --mode chained
    .venv/bin/python bench/audit_write.py --profile 3000  # cProfile of record(), 1 client

DATABASE_URL defaults to the signposting_bench database above, SECRET_KEY to
a throwaway value. The chained runs add rows to the real audit trail of that
database (append-only: they cannot be removed), so never point it at data
you care about.
"""

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/signposting_bench"
CRITERIA = {"family_name": "Smith", "date_of_birth": "2015-03-02"}
BARRIER_TIMEOUT = 120

# Scratch copies of the audit tables for the baseline (the schema name is fixed).
BASELINE_SETUP = (
    "DROP SCHEMA IF EXISTS bench_baseline CASCADE",
    "CREATE SCHEMA bench_baseline",
    "CREATE TABLE bench_baseline.audit_auditevent (LIKE public.audit_auditevent INCLUDING ALL)",
    "CREATE TABLE bench_baseline.audit_auditeventchild "
    "(LIKE public.audit_auditeventchild INCLUDING ALL)",
    "ALTER TABLE bench_baseline.audit_auditeventchild ADD FOREIGN KEY (event_id) "
    "REFERENCES bench_baseline.audit_auditevent (id) DEFERRABLE INITIALLY DEFERRED",
)
BASELINE_SEARCH_PATH = "SET search_path TO bench_baseline, public"
BASELINE_TEARDOWN = "DROP SCHEMA IF EXISTS bench_baseline CASCADE"


def setup_django() -> None:
    """Configures Django for this process; exits unless the database is PostgreSQL."""
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
            f"bench/audit_write.py needs PostgreSQL, but DATABASE_URL gives {connection.vendor}. "
            f"Set DATABASE_URL=postgres://... (default {DEFAULT_DATABASE_URL})."
        )


def children_for(tag: str, client: int, number: int) -> list[str]:
    """One or two fake public ids, like ABC-DEF-GH1, tagged with the run's tag.

    The tag lets the checks find this run's events among those of any other
    writer using the same database at the same time.
    """
    first = f"{tag}-{client:02d}{number:05d}-1"
    return [first, f"{tag}-{client:02d}{number:05d}-2"] if number % 2 else [first]


def run_tag() -> str:
    return "B" + uuid.uuid4().hex[:4]


def chained_operation(tag: str) -> Callable[[int, int], None]:
    from audit.services import record

    def append(client: int, number: int) -> None:
        record(
            request=None,
            action="search",
            children=children_for(tag, client, number),
            criteria=CRITERIA,
            result_count=1,
        )

    return append


def baseline_operation(tag: str) -> Callable[[int, int], None]:
    from django.apps import apps
    from django.db import transaction
    from django.utils import timezone

    event_model = apps.get_model("audit", "AuditEvent")
    child_model = apps.get_model("audit", "AuditEventChild")

    def insert(client: int, number: int) -> None:
        children = children_for(tag, client, number)
        with transaction.atomic():
            event = event_model.objects.create(
                sequence=uuid.uuid4().int >> 65,  # fits a signed bigint
                prev_hash=uuid.uuid4().hex * 2,
                hash=uuid.uuid4().hex * 2,
                occurred_at=timezone.now(),
                action="search",
                actor_id=None,
                children=children,
                criteria=dict(CRITERIA),
                result_count=1,
                detail={},
                client_ip=None,
            )
            child_model.objects.bulk_create(
                child_model(event=event, child_public_id=public_id, occurred_at=event.occurred_at)
                for public_id in children
            )

    return insert


def client_process(
    mode: str, tag: str, client: int, events: int, barrier: Any, results: Any
) -> None:
    """One client: its own connection, waits at the barrier, then appends `events` events."""
    try:
        setup_django()
        from django.db import connection

        with connection.cursor() as cursor:
            if mode == "baseline":
                cursor.execute(BASELINE_SEARCH_PATH)
            cursor.execute("SELECT 1")
        operation = chained_operation(tag) if mode == "chained" else baseline_operation(tag)
        latencies = []
        barrier.wait(BARRIER_TIMEOUT)
        start = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
        for number in range(events):
            began = time.perf_counter()
            operation(client, number)
            latencies.append(time.perf_counter() - began)
        end = time.monotonic()
        connection.close()
        results.put((client, start, end, latencies, None))
    except BaseException as error:
        barrier.abort()
        results.put((client, 0.0, 0.0, [], f"{type(error).__name__}: {error}"))
        raise


def run(mode: str, tag: str, clients: int, events: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients)
    results = context.Queue()
    processes = [
        context.Process(target=client_process, args=(mode, tag, index, events, barrier, results))
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=BARRIER_TIMEOUT + 600) for _ in processes]
    for process in processes:
        process.join()
    errors = [error for *_, error in outcomes if error]
    if errors:
        sys.exit(f"{mode} run with {clients} clients failed: {errors[0]}")
    wall = max(end for _, _, end, _, _ in outcomes) - min(start for _, start, _, _, _ in outcomes)
    latencies = sorted(value for *_, values, _ in outcomes for value in values)
    total = clients * events
    return {
        "mode": mode,
        "clients": clients,
        "events": total,
        "seconds": wall,
        "rate": total / wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def chain_state() -> tuple[int, int]:
    """(events, head sequence) of the real audit trail."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(max(sequence), 0) FROM public.audit_auditevent")
        count, head = cursor.fetchone()
    return count, head


def check_chain(head_before: int, tag: str, expected: int, *, verify: bool = True) -> list[str]:
    """Problems in the events this run added (tagged `tag`), and (verify) in the whole chain."""
    from django.db import connection

    from audit.verify import verify_chain

    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT e.id), min(e.sequence) "
            "FROM public.audit_auditeventchild c "
            "JOIN public.audit_auditevent e ON e.id = c.event_id "
            "WHERE c.child_public_id LIKE %s",
            [f"{tag}-%-1"],
        )
        ours, distinct_ours, lowest_ours = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), count(DISTINCT sequence), min(sequence), max(sequence) "
            "FROM public.audit_auditevent WHERE sequence > %s",
            [head_before],
        )
        count, distinct, low, high = cursor.fetchone()
    others = f", {count - ours} from other writers" if count != ours else ""
    print(f"new events in the chain: {count} ({ours} from this run, expected {expected}{others})")
    if ours != expected or distinct_ours != ours:
        problems.append(
            f"{ours} events ({distinct_ours} distinct) from this run, expected {expected}"
        )
    if ours and lowest_ours <= head_before:
        problems.append(f"an event of this run has sequence {lowest_ours} <= {head_before}")
    if count and (distinct != count or low != head_before + 1 or high != head_before + count):
        problems.append(
            f"sequences not gap-free: {count} events, {distinct} distinct, {low}..{high}"
        )
    if not verify:
        return problems
    began = time.perf_counter()
    verdict = verify_chain()
    seconds = time.perf_counter() - began
    print(
        f"verify_chain(): ok={verdict.ok} events={verdict.events} "
        f"({seconds:.1f} s){'' if verdict.ok else ' ' + verdict.problem}"
    )
    if not verdict.ok:
        problems.append(f"verify_chain failed at {verdict.broken_sequence}: {verdict.problem}")
    elif verdict.head is None or verdict.head.sequence < head_before + expected:
        problems.append(f"chain head is {verdict.head}, expected >= {head_before + expected}")
    return problems


def profile(tag: str, events: int) -> None:
    """cProfile of `events` record() calls in this process, plus time per SQL statement."""
    from django.db import connection

    statements: dict[str, list[float]] = {}

    def timed(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.setdefault(sql.split(" ", 1)[0] + " " + sql[7:40], []).append(
                time.perf_counter() - began
            )

    append = chained_operation(tag)
    append(99, 0)  # warm up
    profiler = cProfile.Profile()
    began = time.perf_counter()
    with connection.execute_wrapper(timed):
        profiler.enable()
        for number in range(1, events + 1):
            append(99, number)
        profiler.disable()
    seconds = time.perf_counter() - began
    print(f"\n{events} record() calls, 1 client, under cProfile: {events / seconds:,.0f}/s")
    print(f"{'statement (execute_wrapper)':<45} {'calls':>7} {'mean us':>9} {'% wall':>7}")
    for sql, times in sorted(statements.items(), key=lambda item: -sum(item[1])):
        share = 100 * sum(times) / seconds
        print(f"{sql:<45} {len(times):>7} {1e6 * statistics.mean(times):>9.0f} {share:>6.1f}%")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=1000, help="events per client (1000)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4], help="(1 2 4)")
    parser.add_argument("--mode", choices=["both", "chained", "baseline"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration (median)")
    parser.add_argument("--skip-verify", action="store_true", help="skip verify_chain() at the end")
    parser.add_argument(
        "--profile", type=int, metavar="N", help="instead: cProfile N record() calls, 1 client"
    )
    args = parser.parse_args()

    setup_django()
    from django.db import connection

    tag = run_tag()
    if args.profile:
        head_before = chain_state()[1]
        profile(tag, args.profile)
        problems = check_chain(head_before, tag, args.profile + 1, verify=not args.skip_verify)
        sys.exit("\n".join(problems) or None)

    modes = ["baseline", "chained"] if args.mode == "both" else [args.mode]
    if "baseline" in modes:
        with connection.cursor() as cursor:
            for sql in BASELINE_SETUP:
                cursor.execute(sql)
    events_before, head_before = chain_state()
    print(
        f"database {connection.settings_dict['NAME']}: {events_before} audit events, "
        f"{args.events} events per client, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} (other work skews the figures)"
    )
    connection.close()  # the clients open their own

    rows = []
    for clients in args.clients:
        for mode in modes:
            runs = [run(mode, tag, clients, args.events) for _ in range(args.repeat)]
            median = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
            median["spread"] = (
                f"{min(r['rate'] for r in runs):,.0f}-{max(r['rate'] for r in runs):,.0f}"
            )
            rows.append(median)
            print(f"  {mode:<8} {clients} client(s): {median['rate']:,.0f} events/s", flush=True)

    print(
        f"\n{'mode':<9} {'clients':>7} {'events':>7} {'seconds':>8} {'events/s':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7}  {'range/s' if args.repeat > 1 else ''}"
    )
    for row in rows:
        print(
            f"{row['mode']:<9} {row['clients']:>7} {row['events']:>7} {row['seconds']:>8.2f} "
            f"{row['rate']:>9,.0f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f}  "
            f"{row['spread'] if args.repeat > 1 else ''}"
        )

    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")
    if "baseline" in modes:
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_TEARDOWN)
    problems = []
    if "chained" in modes:
        print()
        expected = sum(args.clients) * args.events * args.repeat
        problems = check_chain(head_before, tag, expected, verify=not args.skip_verify)
        two = [r for r in rows if r["mode"] == "chained" and r["clients"] == 2]
        if two:
            met = "met" if two[0]["rate"] >= 2500 else "NOT met"
            print(
                f"target >= 2,500 chained appends/s at 2 clients: {met} ({two[0]['rate']:,.0f}/s)"
            )
    if problems:
        sys.exit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    main()
