"""Audit append throughput: events per second through audit.services.record, chained by the
sealer after commit, beside plain inserts of the same rows measured in the same run.

Measures, at 1, 2 and 4 concurrent clients (one process and one database connection each),
how many audit events per second are appended:

* "chained": through ``audit.services.record(request=None, action="search", ...)`` called
  outside any atomic block, so each event is its own transaction: one statement, the call
  of audit_append() that inserts the event, its child rows and the sealer's queue row (no
  signed-in actor, so no lookup-time rules to run with it), while a sealer runs in a process
  and connection of its own (``audit.sealer.seal_follow``, as ``seal_audit --follow`` runs
  it, polling every AUDIT_SEAL_INTERVAL_SECONDS). The run ends when the clients have
  committed; the sealer then catches up before it is stopped.
* "chained-tx" (with ``--mode all`` or by name): the same, with record() called inside a
  ``transaction.atomic()`` of the client's own: BEGIN, the call, COMMIT, three round trips
  where "chained" takes one. A lookup writes its event inside its own transaction, whose
  BEGIN and COMMIT it pays for anyway, so "chained" is the append's own cost to a lookup and
  "chained-tx" the cost of an event written alone in a transaction.
* "plain": the same rows (the event and its one or two AuditEventChild rows, one
  transaction per event) inserted by one raw SQL statement per event, with no record(), no
  queue and no chain: the database's own rate for these rows, the reference. They go to
  copies of the audit tables in a scratch schema (``bench_baseline``, same columns, indexes
  and foreign key; partitioned by month as the trail is, with the one partition the run's
  rows fall in, this month's and next), recreated at the start and dropped at the end.
* "orm" (only with ``--mode all``): the same rows through the ORM (three statements), the
  baseline issue 3's figures used.

Wall time runs from the barrier that starts all clients together to the last client's last
commit. The seal delay of a chained event is the time from its commit (record() returned
in the client) to the commit of the sealer's batch that sealed it (the sealer notes the time
of each batch's commit); p50 and p99 over every event of the run. After the chained runs the
script checks that exactly clients x N new events were added, each sealed once, at
gap-free positions, and that ``audit.verify.verify_chain()`` passes over the whole chain.

PostgreSQL only (SQLite serialises writers on its file lock, and seals inline). Run from the
repository root:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE signposting_bench'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signposting_bench \\
        SECRET_KEY=x .venv/bin/python manage.py migrate
    .venv/bin/python bench/audit_write.py                # defaults: --events 1000
    .venv/bin/python bench/audit_write.py --clients 4 --repeat 3 --events 2000
    .venv/bin/python bench/audit_write.py --profile 3000  # cProfile of record(), 1 client

DATABASE_URL defaults to the signposting_bench database above, SECRET_KEY to a throwaway
value. The chained runs add rows to the real audit trail of that database (append-only:
they cannot be removed), so never point it at data you care about.
"""

import argparse
import cProfile
import io
import json
import logging
import multiprocessing
import os
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/signposting_bench"
CRITERIA = {"family_name": "Smith", "date_of_birth": "2015-03-02"}
BARRIER_TIMEOUT = 120

# Scratch copies of the audit tables for the plain and ORM inserts (the schema name is fixed).
BASELINE_SETUP = (
    "DROP SCHEMA IF EXISTS bench_baseline CASCADE",
    "CREATE SCHEMA bench_baseline",
    "CREATE TABLE bench_baseline.audit_auditevent (LIKE public.audit_auditevent INCLUDING ALL)",
    "CREATE TABLE bench_baseline.audit_auditeventchild "
    "(LIKE public.audit_auditeventchild INCLUDING ALL)",
    "ALTER TABLE bench_baseline.audit_auditeventchild ADD FOREIGN KEY (event_id) "
    "REFERENCES bench_baseline.audit_auditevent (id) DEFERRABLE INITIALLY DEFERRED",
    "CREATE SEQUENCE bench_baseline.event_number",
)
# The same where the trail is partitioned by month (audit migration 0015): the copies are
# partitioned too (LIKE copies the parents' indexes, the primary keys (id, occurred_at)), and
# the foreign key is the trail's, on (event_id, occurred_at). {start} and {end}: this month's
# first instant and the one two months on, in UTC.
BASELINE_SETUP_PARTITIONED = (
    "DROP SCHEMA IF EXISTS bench_baseline CASCADE",
    "CREATE SCHEMA bench_baseline",
    "CREATE TABLE bench_baseline.audit_auditevent (LIKE public.audit_auditevent INCLUDING ALL)"
    " PARTITION BY RANGE (occurred_at)",
    "CREATE TABLE bench_baseline.audit_auditeventchild "
    "(LIKE public.audit_auditeventchild INCLUDING ALL) PARTITION BY RANGE (occurred_at)",
    "ALTER TABLE bench_baseline.audit_auditeventchild ADD FOREIGN KEY (event_id, occurred_at) "
    "REFERENCES bench_baseline.audit_auditevent (id, occurred_at) DEFERRABLE INITIALLY DEFERRED",
    "CREATE TABLE bench_baseline.audit_auditevent_now PARTITION OF bench_baseline.audit_auditevent"
    " FOR VALUES FROM ('{start}') TO ('{end}')",
    "CREATE TABLE bench_baseline.audit_auditeventchild_now"
    " PARTITION OF bench_baseline.audit_auditeventchild FOR VALUES FROM ('{start}') TO ('{end}')",
    "CREATE SEQUENCE bench_baseline.event_number",
)
BASELINE_SEARCH_PATH = "SET search_path TO bench_baseline, public"
BASELINE_TEARDOWN = "DROP SCHEMA IF EXISTS bench_baseline CASCADE"
# One statement per event: the event and its child rows, as audit_append() inserts them.
PLAIN_INSERT = """
WITH event AS (
    INSERT INTO bench_baseline.audit_auditevent (
        sequence, occurred_at, action, actor_id, actor_username, actor_name, actor_role,
        actor_organisation, actor_organisation_code, children, criteria, reason_code,
        reason_text, outcome, result_count, detail, client_ip, request_id
    ) VALUES (
        nextval('bench_baseline.event_number'), %s, 'search', NULL, '', '', '', '', '', %s,
        %s, '', '', 'allowed', 1, '{}', NULL, ''
    ) RETURNING id, occurred_at
)
INSERT INTO bench_baseline.audit_auditeventchild (event_id, child_public_id, occurred_at)
SELECT event.id, public_id, event.occurred_at FROM event, unnest(%s::varchar[]) AS public_id
"""
MODES = ("plain", "chained")
CHAINED = ("chained", "chained-tx")  # through record(), with the sealer running


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


def chained_operation(tag: str) -> Callable[[int, int], Any]:
    from audit.services import record

    def append(client: int, number: int) -> int:
        return record(
            request=None,
            action="search",
            children=children_for(tag, client, number),
            criteria=CRITERIA,
            result_count=1,
        ).id

    return append


def chained_in_a_transaction_operation(tag: str) -> Callable[[int, int], Any]:
    from django.db import transaction

    append = chained_operation(tag)

    def append_in_a_transaction(client: int, number: int) -> int:
        with transaction.atomic():
            return append(client, number)

    return append_in_a_transaction


def plain_operation(tag: str) -> Callable[[int, int], Any]:
    from django.db import connection
    from django.utils import timezone

    criteria = json.dumps(CRITERIA)

    def insert(client: int, number: int) -> None:
        children = children_for(tag, client, number)
        with connection.cursor() as cursor:
            cursor.execute(PLAIN_INSERT, [timezone.now(), json.dumps(children), criteria, children])

    return insert


def orm_operation(tag: str) -> Callable[[int, int], Any]:
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


OPERATIONS = {
    "chained": chained_operation,
    "chained-tx": chained_in_a_transaction_operation,
    "plain": plain_operation,
    "orm": orm_operation,
}


def client_process(
    mode: str, tag: str, client: int, events: int, barrier: Any, results: Any
) -> None:
    """One client: its own connection, waits at the barrier, then appends `events` events."""
    try:
        setup_django()
        from django.db import connection

        with connection.cursor() as cursor:
            if mode not in CHAINED:
                cursor.execute(BASELINE_SEARCH_PATH)
            cursor.execute("SELECT 1")
        operation = OPERATIONS[mode](tag)
        latencies, committed = [], []
        barrier.wait(BARRIER_TIMEOUT)
        start = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
        for number in range(events):
            began = time.perf_counter()
            event_id = operation(client, number)
            latencies.append(time.perf_counter() - began)
            if event_id is not None:
                committed.append((event_id, time.time()))
        end = time.monotonic()
        connection.close()
        results.put((client, start, end, latencies, committed, None))
    except BaseException as error:
        barrier.abort()
        results.put((client, 0.0, 0.0, [], [], f"{type(error).__name__}: {error}"))
        raise


class _BatchCommits(logging.Handler):
    """Notes when each of the sealer's batches committed, and up to which position: the
    sealer logs its DEBUG line just after the commit."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.batches: list[tuple[float, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("Sealed %d event(s)"):
            self.batches.append((time.time(), record.args[1]))


def sealer_process(ready: Any, stop: Any, results: Any) -> None:
    """`seal_audit --follow` in a process of its own; reports its batches' commit times."""
    try:
        setup_django()
        import threading

        from django.conf import settings

        from audit.sealer import seal_follow

        batches = _BatchCommits()
        logger = logging.getLogger("audit.sealer")
        logger.addHandler(batches)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False  # the bench prints its own figures
        stopping = threading.Event()
        threading.Thread(target=lambda: (stop.wait(), stopping.set()), daemon=True).start()
        ready.set()
        sealed = seal_follow(stop=stopping, interval=settings.AUDIT_SEAL_INTERVAL_SECONDS)
        results.put((sealed, batches.batches, None))
    except BaseException as error:
        ready.set()
        results.put((0, [], f"{type(error).__name__}: {error}"))
        raise


def run(mode: str, tag: str, clients: int, events: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients)
    results = context.Queue()
    sealer = None
    if mode in CHAINED:
        ready, stop, sealed_results = context.Event(), context.Event(), context.Queue()
        sealer = context.Process(target=sealer_process, args=(ready, stop, sealed_results))
        sealer.start()
        ready.wait(BARRIER_TIMEOUT)
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
        if sealer:
            sealer.terminate()
        sys.exit(f"{mode} run with {clients} clients failed: {errors[0]}")
    wall = max(o[2] for o in outcomes) - min(o[1] for o in outcomes)
    latencies = sorted(value for o in outcomes for value in o[3])
    total = clients * events
    row = {
        "mode": mode,
        "clients": clients,
        "events": total,
        "seconds": wall,
        "rate": total / wall,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
    }
    if sealer:
        committed = [pair for o in outcomes for pair in o[4]]
        wait_until_sealed({event_id for event_id, _ in committed})
        stop.set()
        _, batches, error = sealed_results.get(timeout=60)
        sealer.join()
        if error:
            sys.exit(f"the sealer failed: {error}")
        delays = sorted(seal_delays(committed, batches))
        row["seal_p50_ms"] = 1000 * percentile(delays, 0.50)
        row["seal_p99_ms"] = 1000 * percentile(delays, 0.99)
        row["batches"] = len(batches)
    return row


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


def wait_until_sealed(event_ids: set[int], timeout: float = 120.0) -> None:
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM audit_auditseal WHERE event_id = ANY(%s)", [list(event_ids)]
            )
            if cursor.fetchone()[0] == len(event_ids):
                return
            if time.monotonic() > deadline:
                sys.exit("the sealer did not seal this run's events in time")
            time.sleep(0.05)


def seal_delays(committed: list[tuple[int, float]], batches: list[tuple[float, int]]) -> list:
    """Seconds from each event's commit to the commit of the batch that sealed it."""
    import bisect

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id, position FROM audit_auditseal WHERE event_id = ANY(%s)",
            [[event_id for event_id, _ in committed]],
        )
        positions = dict(cursor.fetchall())
    batches = sorted(batches, key=lambda batch: batch[1])
    ends = [up_to for _, up_to in batches]
    delays = []
    for event_id, committed_at in committed:
        sealed_at = batches[bisect.bisect_left(ends, positions[event_id])][0]
        delays.append(sealed_at - committed_at)
    return delays


def baseline_setup() -> tuple[str, ...]:
    """The statements that make the scratch copies, partitioned where the trail is."""
    from django.db import connection

    from audit.partitions import Month

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relkind = 'p' FROM pg_class WHERE oid = 'public.audit_auditevent'::regclass"
        )
        if not cursor.fetchone()[0]:
            return BASELINE_SETUP
    this_month = Month.of(datetime.now(UTC))
    start, end = this_month.start.isoformat(), this_month.plus(2).start.isoformat()
    return tuple(sql.format(start=start, end=end) for sql in BASELINE_SETUP_PARTITIONED)


def chain_state() -> tuple[int, int, int]:
    """(events, highest event number, seal head position) of the real audit trail."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM audit_auditevent),"
            " (SELECT coalesce(max(sequence), 0) FROM audit_auditevent),"
            " (SELECT coalesce(max(position), 0) FROM audit_auditseal)"
        )
        return cursor.fetchone()


def check_chain(
    number_before: int, head_before: int, tag: str, expected: int, *, verify: bool = True
) -> list[str]:
    """Problems in the events this run added (tagged `tag`) and their seals, and (verify)
    in the whole chain."""
    from django.db import connection

    from audit.sealer import seal_all
    from audit.verify import verify_chain

    seal_all()  # anything another writer left waiting
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT e.id), min(e.sequence), count(s.position) "
            "FROM public.audit_auditeventchild c "
            # Each in its event's month (a partition each, on PostgreSQL since 0015).
            "JOIN public.audit_auditevent e"
            " ON e.id = c.event_id AND e.occurred_at = c.occurred_at "
            "LEFT JOIN public.audit_auditseal s"
            " ON s.event_id = e.id AND s.occurred_at = e.occurred_at "
            "WHERE c.child_public_id LIKE %s",
            [f"{tag}-%-1"],
        )
        ours, distinct_ours, lowest_ours, sealed_ours = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), count(DISTINCT event_id), min(position), max(position) "
            "FROM public.audit_auditseal WHERE position > %s",
            [head_before],
        )
        count, distinct, low, high = cursor.fetchone()
    others = f", {count - ours} from other writers" if count != ours else ""
    print(
        f"new seals in the chain: {count} ({ours} events from this run, "
        f"expected {expected}{others})"
    )
    if ours != expected or distinct_ours != ours or sealed_ours != ours:
        problems.append(
            f"{ours} events ({distinct_ours} distinct, {sealed_ours} sealed) from this run, "
            f"expected {expected}"
        )
    if ours and lowest_ours <= number_before:
        problems.append(f"an event of this run has number {lowest_ours} <= {number_before}")
    if count and (distinct != count or low != head_before + 1 or high != head_before + count):
        problems.append(f"positions not gap-free: {count} seals, {distinct} events, {low}..{high}")
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
        problems.append(f"verify_chain failed {verdict.broken_at}: {verdict.problem}")
    elif verdict.head is None or verdict.head.position < head_before + expected:
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
    parser.add_argument(
        "--mode",
        choices=["both", "all", *OPERATIONS],
        default="both",
        help="both: plain and chained (default); all: also orm",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration (median)")
    parser.add_argument("--skip-verify", action="store_true", help="skip verify_chain() at the end")
    parser.add_argument(
        "--profile", type=int, metavar="N", help="instead: cProfile N record() calls, 1 client"
    )
    args = parser.parse_args()

    setup_django()
    from django.db import connection

    from audit.sealer import seal_all

    tag = run_tag()
    if args.profile:
        _, number_before, head_before = chain_state()
        profile(tag, args.profile)
        problems = check_chain(
            number_before, head_before, tag, args.profile + 1, verify=not args.skip_verify
        )
        sys.exit("\n".join(problems) or None)

    modes = {"both": list(MODES), "all": ["orm", *MODES, "chained-tx"]}.get(args.mode, [args.mode])
    if set(modes) - set(CHAINED):
        with connection.cursor() as cursor:
            for sql in baseline_setup():
                cursor.execute(sql)
    seal_all()  # start from a sealed trail
    events_before, number_before, head_before = chain_state()
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
            if mode in CHAINED:
                median["seal_p99_worst_ms"] = max(r["seal_p99_ms"] for r in runs)
            rows.append(median)
            print(f"  {mode:<10} {clients} client(s): {median['rate']:,.0f} events/s", flush=True)

    print(
        f"\n{'mode':<10} {'clients':>7} {'events':>7} {'seconds':>8} {'events/s':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'seal p50':>9} {'seal p99':>9}  "
        f"{'range/s' if args.repeat > 1 else ''}"
    )
    for row in rows:
        seal = (
            f"{row['seal_p50_ms']:>9.0f} {row['seal_p99_ms']:>9.0f}"
            if "seal_p50_ms" in row
            else f"{'':>9} {'':>9}"
        )
        print(
            f"{row['mode']:<10} {row['clients']:>7} {row['events']:>7} {row['seconds']:>8.2f} "
            f"{row['rate']:>9,.0f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {seal}  "
            f"{row['spread'] if args.repeat > 1 else ''}"
        )
    for clients in args.clients:
        by_mode = {row["mode"]: row for row in rows if row["clients"] == clients}
        for mode in CHAINED:
            if {mode, "plain"} <= set(by_mode):
                chained, plain = by_mode[mode], by_mode["plain"]
                how = "through record" if mode == "chained" else "through record in a transaction"
                print(
                    f"{clients} client(s): {mode} {how} {chained['rate']:,.0f}/s = "
                    f"{chained['rate'] / plain['rate']:.0%} of plain inserts"
                    f" ({plain['rate']:,.0f}/s); seal delay p50 {chained['seal_p50_ms']:.0f} ms,"
                    f" p99 {chained['seal_p99_ms']:.0f} ms (worst run's p99"
                    f" {chained['seal_p99_worst_ms']:.0f} ms)"
                )

    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")
    if set(modes) - set(CHAINED):
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_TEARDOWN)
    problems = []
    chained_modes = [mode for mode in modes if mode in CHAINED]
    if chained_modes:
        print()
        expected = sum(args.clients) * args.events * args.repeat * len(chained_modes)
        problems = check_chain(
            number_before, head_before, tag, expected, verify=not args.skip_verify
        )
        four = [r for r in rows if r["mode"] in CHAINED and r["clients"] == 4]
        if four:
            worst = max(r["seal_p99_worst_ms"] for r in four)
            met = "met" if worst <= 1000 else "NOT met"
            print(f"seal delay p99 <= 1 s at 4 clients: {met}")
    if problems:
        sys.exit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    main()
