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

With ``--mode partitions`` it answers instead whether appends are slower with the trail in
monthly partitions (audit migration 0015) than without, in one run: it makes two databases
of its own (``signposting_bench_append_0014_*``, its audit app migrated only to 0014, single
tables, as tests/audit/test_partition_migration.py builds one: ``migrate children`` then
``migrate audit 0014``, then every other app at its newest, which the loader's accounts
need; and ``signposting_bench_append_head_*``, migrated to the head, partitioned),
preloads each with the same trail (--preload events, default 200,000, over the last
--preload-months months, default 12, through bench/audit_queries.py's loader, then sealed
with the real chain.link as bench/scale.py seals its trail; indexes built after the load,
VACUUM ANALYZE), so that the indexes the appends update are not empty; then times
"chained" appends (record() outside any atomic block) against the two alternately, after an
untimed warm-up run on each, for --repeat rounds (default 3; the order flips each round),
and prints events/s for each, the ratio partitioned / unpartitioned (of the medians, and
round by round). No sealer runs during the timed runs, for either database: the sealer of
today's code does not work on the 0014 schema (its seals and queue have no occurred_at), so
appends alone are compared, each leaving its event in the sealer's queue. Afterwards it
checks that each database gained exactly the events, child links and queue rows written,
and seals the partitioned one with the real sealer and verifies its whole chain. Both
databases are dropped at the end.

PostgreSQL only (SQLite serialises writers on its file lock, and seals inline). Run from the
repository root:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE signposting_bench'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signposting_bench \\
        SECRET_KEY=x .venv/bin/python manage.py migrate
    .venv/bin/python bench/audit_write.py                # defaults: --events 1000
    .venv/bin/python bench/audit_write.py --clients 4 --repeat 3 --events 2000
    .venv/bin/python bench/audit_write.py --profile 3000  # cProfile of record(), 1 client
    .venv/bin/python bench/audit_write.py --mode partitions --clients 4 --events 3000

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
import queue
import statistics
import subprocess
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
SERVER = "postgres://postgres@127.0.0.1:5432"

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


def run(
    mode: str, tag: str, clients: int, events: int, *, with_sealer: bool = True
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients)
    results = context.Queue()
    sealer = None
    if mode in CHAINED and with_sealer:
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


# --- --mode partitions: appends with the trail partitioned by month and without ---------------

# "Appends are no slower with partitions than without": the share of the unpartitioned rate
# below which the partitioned one counts as slower, beyond this shared machine's noise.
TOLERANCE = 0.05
WARM_UP_EVENTS = 200  # per client, untimed, on each database before the rounds
COUNTS_SQL = (
    "SELECT (SELECT count(*) FROM audit_auditevent), (SELECT count(*) FROM audit_auditeventchild),"
    " (SELECT count(*) FROM audit_unsealedevent), (SELECT count(*) FROM audit_auditseal)"
)
COUNTED = ("events", "child links", "queue rows", "seals")


def compare_partitions(args: argparse.Namespace) -> int:
    """--mode partitions (see the module's docstring): 0 if the checks pass, else 1."""
    suffix = uuid.uuid4().hex[:6]
    databases = {
        "unpartitioned": f"signposting_bench_append_0014_{suffix}",
        "partitioned": f"signposting_bench_append_head_{suffix}",
    }
    urls = {kind: f"{args.server}/{name}" for kind, name in databases.items()}
    tag = run_tag()
    database_url = os.environ.get("DATABASE_URL")
    try:
        for kind, url in urls.items():
            build(args.server, databases[kind], url, partitioned=kind == "partitioned")
        for kind, url in urls.items():
            print(f"preloading {databases[kind]} ...", flush=True)
            in_process(url, preload_process, args.server, databases[kind], args.preload,
                       args.preload_months)  # fmt: skip
        before = {kind: counts(url) for kind, url in urls.items()}
        describe(urls, before, args)
        written = {kind: {"events": 0, "links": 0} for kind in urls}
        rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in urls}
        for clients in args.clients:
            for kind, url in urls.items():
                os.environ["DATABASE_URL"] = url
                run("chained", tag, clients, WARM_UP_EVENTS, with_sealer=False)
                add_written(written[kind], clients, WARM_UP_EVENTS)
            for round_number in range(args.repeat):
                order = list(urls) if round_number % 2 == 0 else list(reversed(urls))
                for kind in order:
                    os.environ["DATABASE_URL"] = urls[kind]
                    result = run("chained", tag, clients, args.events, with_sealer=False)
                    result["round"] = round_number + 1
                    rows[kind].append(result)
                    add_written(written[kind], clients, args.events)
                    print(
                        f"  round {round_number + 1}, {clients} clients, {kind:<13}"
                        f" {result['rate']:>7,.0f} events/s (p50 {result['p50_ms']:.2f} ms,"
                        f" p99 {result['p99_ms']:.2f} ms)",
                        flush=True,
                    )
        met = report_partitions(rows, args)
        problems = check_written(urls, before, written, tag)
        problems += seal_and_verify(urls["partitioned"], before["partitioned"], written)
    finally:
        if database_url is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = database_url
        for name in databases.values():
            drop_database(args.server, name)
    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print("checks: passed")
    return 0 if met else 1


# Every app but the audit app to its newest migration: the loader's accounts need them all
# (auditlog reads single sign-on settings when a user is saved), which `migrate children`
# alone does not reach.
OTHER_APPS = (
    "import django; django.setup()\n"
    "from django.core.management import call_command\n"
    "from django.db import connection\n"
    "from django.db.migrations.loader import MigrationLoader\n"
    "for label in sorted(MigrationLoader(connection).migrated_apps - {'audit'}):\n"
    "    call_command('migrate', label, verbosity=0, interactive=False)\n"
)


def build(server: str, name: str, url: str, *, partitioned: bool) -> None:
    """A new database: the register first (post-migrate handlers read it), then the audit
    app at 0014 and every other app at its newest (as tests/audit/test_partition_migration.py
    builds one, and the rest), or everything at its newest."""
    drop_database(server, name)
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    manage = [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"]
    steps = (
        [[*manage, "children"], manage]
        if partitioned
        else [[*manage, "children"], [*manage, "audit", "0014"], [sys.executable, "-c", OTHER_APPS]]
    )
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SIGNPOSTING_DEMO": "true",
        "DJANGO_SETTINGS_MODULE": "signposting.settings",
    }
    for step in steps:
        done = subprocess.run(
            step, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(step[1:3])} of {name} failed:\n{done.stderr[-2000:]}")
    with psycopg.connect(url) as conn:
        kind = conn.execute(
            "SELECT relkind FROM pg_class WHERE oid = 'public.audit_auditevent'::regclass"
        ).fetchone()[0]
    if (kind == "p") != partitioned:
        raise SystemExit(f"{name}: the trail is {'' if kind == 'p' else 'not '}partitioned")
    print(f"{name}: migrated ({'head' if partitioned else 'audit at 0014'})", flush=True)


def drop_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def in_process(url: str, target: Callable, *arguments: Any) -> Any:
    """Runs target(*arguments, results) in a process of its own connected to `url` (Django's
    database is the one DATABASE_URL gave when it was set up); returns what it put."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        process = context.Process(target=target, args=(*arguments, results))
        process.start()
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
    while True:
        try:
            outcome, error = results.get(timeout=5)
            break
        except queue.Empty:
            if not process.is_alive() and results.empty():
                raise SystemExit(
                    f"{target.__name__} died on {url} (exit code {process.exitcode})"
                ) from None
    process.join()
    if error:
        raise SystemExit(f"{target.__name__} failed on {url}: {error}")
    return outcome


def preload_process(server: str, database: str, events: int, months: int, results: Any) -> None:
    """The trail every timed append goes on top of: bench/audit_queries.py's loader (which
    makes the partitions first, where there are any), then sealed as bench/scale.py seals."""
    try:
        setup_django()
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import audit_queries
        import scale

        audit_queries.load(
            server,
            database,
            events,
            events,
            audit_queries.SEED,
            span=round(months * 365.25 / 12),
        )
        scale.load_seals(f"{server}/{database}", events)
        results.put((None, None))
    except BaseException as error:
        results.put((None, f"{type(error).__name__}: {error}"))
        raise


def counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        return dict(zip(COUNTED, conn.execute(COUNTS_SQL).fetchone(), strict=True))


def add_written(written: dict[str, int], clients: int, events: int) -> None:
    """What `clients` clients appending `events` events each write (children_for: one child
    for an even number, two for an odd)."""
    written["events"] += clients * events
    written["links"] += clients * (events + events // 2)


def describe(urls: dict[str, str], before: dict[str, dict[str, int]], args: Any) -> None:
    import psycopg

    print()
    for kind, url in urls.items():
        with psycopg.connect(url) as conn:
            months, this_month = conn.execute(
                "SELECT (SELECT count(*) FROM pg_inherits"
                "        WHERE inhparent = 'public.audit_auditevent'::regclass),"
                " (SELECT count(*) FROM audit_auditevent"
                "  WHERE occurred_at >= date_trunc('month', now() AT TIME ZONE 'UTC')"
                "  AT TIME ZONE 'UTC')"
            ).fetchone()
        shape = f"{months} monthly partitions" if months else "single tables"
        print(
            f"{url.rsplit('/', 1)[1]}: {kind} ({shape}); "
            + ", ".join(f"{value:,} {name}" for name, value in before[kind].items())
            + f"; {this_month:,} events this month, where the appends go"
        )
    print(
        f"appends: record(request=None, action='search', 1-2 children) outside any atomic"
        f" block; {'/'.join(map(str, args.clients))} clients x {args.events:,} events,"
        f" {args.repeat} rounds, the order flipped each round, after an untimed warm-up of"
        f" {WARM_UP_EVENTS} events a client on each; no sealer running; {os.cpu_count()} CPUs,"
        f" load average {os.getloadavg()[0]:.2f} (other work skews the figures)",
        flush=True,
    )


def report_partitions(rows: dict[str, list[dict[str, Any]]], args: Any) -> bool:
    """Prints each database's rate and the ratio; whether partitioned appends are no slower
    (within TOLERANCE)."""
    met = True
    for clients in args.clients:
        mine = {kind: [r for r in runs if r["clients"] == clients] for kind, runs in rows.items()}
        medians = {kind: statistics.median(r["rate"] for r in runs) for kind, runs in mine.items()}
        print(f"\n{clients} clients: {'':<14} {'median events/s':>16} {'runs':>24}")
        for kind, runs in mine.items():
            rates = ", ".join(f"{r['rate']:,.0f}" for r in runs)
            print(f"{'':<12} {kind:<14} {medians[kind]:>16,.0f}   {rates}")
        by_round = [
            part["rate"] / unpart["rate"]
            for part, unpart in zip(mine["partitioned"], mine["unpartitioned"], strict=True)
        ]
        ratio = medians["partitioned"] / medians["unpartitioned"]
        print(
            f"partitioned / unpartitioned: {ratio:.3f} (medians); round by round "
            + ", ".join(f"{value:.3f}" for value in by_round)
        )
        reference = [r["rate"] for r in mine["unpartitioned"]]
        no_slower = ratio >= 1 - TOLERANCE
        met = met and no_slower
        print(
            f"Appends are no slower with partitions than without ({clients} clients):"
            f" {'met' if no_slower else 'NOT met'} (ratio {ratio:.3f}; met from"
            f" {1 - TOLERANCE:.2f}: the unpartitioned runs alone differed by up to"
            f" {max(reference) / min(reference) - 1:.1%} here)"
        )
    return met


def check_written(
    urls: dict[str, str],
    before: dict[str, dict[str, int]],
    written: dict[str, dict[str, int]],
    tag: str,
) -> list[str]:
    """Each database gained exactly the events, child links and queue rows written, all of
    this run (tagged), and no seal."""
    import psycopg

    problems = []
    print()
    for kind, url in urls.items():
        after = counts(url)
        added = {name: after[name] - before[kind][name] for name in COUNTED}
        expected = {
            "events": written[kind]["events"],
            "child links": written[kind]["links"],
            "queue rows": written[kind]["events"],
            "seals": 0,
        }
        with psycopg.connect(url) as conn:
            tagged_events, tagged_links = conn.execute(
                "SELECT count(DISTINCT event_id), count(*) FROM audit_auditeventchild"
                " WHERE child_public_id LIKE %s",
                [f"{tag}-%"],
            ).fetchone()
        print(
            f"{kind}: added "
            + ", ".join(f"{added[name]:,} {name} (expected {expected[name]:,})" for name in COUNTED)
            + f"; {tagged_events:,} events and {tagged_links:,} links of this run"
        )
        if added != expected:
            problems.append(f"{kind}: added {added}, expected {expected}")
        if (tagged_events, tagged_links) != (expected["events"], expected["child links"]):
            problems.append(f"{kind}: {tagged_events} events, {tagged_links} links of this run")
    return problems


def seal_and_verify(url: str, before: dict[str, int], written: dict[str, dict[str, int]]) -> list:
    """The partitioned database's appends, sealed by the real sealer and the whole chain
    verified (the 0014 one has no sealer that works on it today)."""
    expected = written["partitioned"]["events"]
    sealed, ok, walked, problem = in_process(url, seal_and_verify_process)
    print(
        f"partitioned: the sealer sealed {sealed:,} events (expected {expected:,});"
        f" verify_chain(): ok={ok}, {walked:,} events"
        f" (expected {before['seals'] + expected:,}){'' if ok else ' ' + problem}"
    )
    problems = []
    if sealed != expected:
        problems.append(f"partitioned: sealed {sealed}, expected {expected}")
    if not ok or walked != before["seals"] + expected:
        problems.append(f"partitioned: verify_chain ok={ok}, {walked} events: {problem}")
    return problems


def seal_and_verify_process(results: Any) -> None:
    try:
        setup_django()
        from audit.sealer import seal_all
        from audit.verify import verify_chain

        sealed = seal_all()
        verdict = verify_chain()
        results.put(((sealed, verdict.ok, verdict.events, verdict.problem), None))
    except BaseException as error:
        results.put((None, f"{type(error).__name__}: {error}"))
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=1000, help="events per client (1000)")
    parser.add_argument("--clients", type=int, nargs="+", help="(1 2 4; with --mode partitions, 4)")
    parser.add_argument(
        "--mode",
        choices=["both", "all", "partitions", *OPERATIONS],
        default="both",
        help="both: plain and chained (default); all: also orm; partitions: chained appends"
        " with the trail partitioned and not, two databases of its own",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help="runs per configuration (median; 1); with --mode partitions, rounds (3, at least 2)",
    )
    parser.add_argument(
        "--preload", type=int, default=200_000, help="--mode partitions: events preloaded"
    )
    parser.add_argument(
        "--preload-months", type=int, default=12, help="--mode partitions: over these months"
    )
    parser.add_argument(
        "--server", default=SERVER, help="--mode partitions: postgres://user@host:port"
    )
    parser.add_argument("--skip-verify", action="store_true", help="skip verify_chain() at the end")
    parser.add_argument(
        "--profile", type=int, metavar="N", help="instead: cProfile N record() calls, 1 client"
    )
    args = parser.parse_args()
    if args.mode == "partitions":
        args.clients = args.clients or [4]
        args.repeat = 3 if args.repeat is None else args.repeat
        if args.repeat < 2:
            parser.error("--mode partitions: --repeat at least 2 (rounds on each database)")
        sys.exit(compare_partitions(args))
    args.clients = args.clients or [1, 2, 4]
    args.repeat = args.repeat or 1

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
