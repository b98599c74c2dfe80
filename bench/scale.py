"""ContactPoint's size (issue 19): 11,000,000 children and 20,000,000 audit events over 24
months in a PostgreSQL database of its own; what each read costs there, and disk per table.

1. Loads (unless --keep finds the database already loaded to the asked size):
   a. the children, with names, addresses, involvements, moves and shielding: `seed_demo
      --children N` itself (children.demo, which writes with COPY through psycopg 3's
      cursor.copy, one transaction a batch), with the register's secondary indexes and
      unique constraints dropped for the load and built after it;
   b. the audit trail: bench/audit_queries.py's loader (INSERT ... SELECT over
      generate_series, one transaction a batch of --batch events; set-based SQL in the
      server: 20,000-35,000 events a second with their links here, where generating
      them in Python for COPY, as bench/verify_audit.py does, made about 6,000 a second
      with their seals, indexes kept; with the seals, below, 11,000-15,000 a second), the
      events spread over the working days of --months months and concerning the children
      of the register (a power law: a few children looked up far more than most), with
      their child links, flags and outcomes; the trail's monthly partitions made first for
      every month of the span (audit.partitions); audit indexes and the links' foreign key
      dropped during the load (on a partitioned table, the parent's index and with it every
      partition's) and made again on the parents, which makes them on every partition;
   c. the seals: every event sealed into the hash chain with the real audit.chain.link,
      oldest first, written with COPY into its event's month (the seal carries the event's
      occurred_at; the seal table's indexes and its foreign key to the events made after),
      so that verify_audit passes on the whole loaded trail;
   then VACUUM ANALYZE. Prints each step's rows a second.
2. Times, after a short untimed warm-up, p50/p95 in milliseconds, beside the issue's targets
   (met / NOT met): the search selector children.search.find_children over the typo kinds of
   bench/search.py (with its raw blocking query as the same-run reference); the record
   view's queries (child_for_viewer, may_read, child_record) as a demo practitioner; the
   child access report and a user's 30-day activity (the selectors, with raw SQL as the
   reference) and the auditor's pages (the event list filtered by user and by child, the
   flags queue...) through Django's test client; find_duplicates (once; --skip-duplicates
   leaves it out); verify_audit over the whole chain (once); and, if the command exists,
   `manage.py audit_archive --before <the second-oldest month> --to DIR` (exactly the
   oldest month, UTC as the partitions are; run with AUDIT_RETENTION_MONTHS=1, since it
   refuses months within the retention period) against the issue's 5 minutes, beside
   the same month's rows copied out with COPY (the reference), then `verify_archive DIR`
   and `verify_audit` over what is left (each a process of its own, as an operator runs
   them; their times include a second or so of start-up). DIR is --archive-to, or a
   temporary directory removed at the end. Anything not there yet is reported "not
   available".
3. Reports the size of every table and index (a partitioned table's or index's is the sum
   of its partitions'), and writes the figures with --json FILE.
   `--compare SMALL.json LARGE.json` prints how each figure grows between two runs (e.g.
   1 M children / 5 M events and 11 M / 20 M).

PostgreSQL only. Run from the repository root:

    .venv/bin/python bench/scale.py --keep --json /tmp/scale-11m.json     # the issue's size
    .venv/bin/python bench/scale.py --children 1000000 --events 5000000 \\
        --database signposting_scalebench_1m --keep --json /tmp/scale-1m.json
    .venv/bin/python bench/scale.py --compare /tmp/scale-1m.json /tmp/scale-11m.json
    .venv/bin/python bench/scale.py --children 100000 --events 300000 \\
        --database signposting_scalebench_smoke --queries 50            # smoke run, ~3 minutes

How long: on this 2-core machine (shared) the 1,000,000 / 2,000,000 run loaded about 6,000
children, 22,000 events (36,000 before indexes and VACUUM) and 28,000 seals a second, so the
full size takes about 31 min for the children, 8 min for their indexes, 15 min for the
events, 12 min for the seals: about an hour; then verify_audit about 12 min (35 s a million
events) and find_duplicates about 14 min (76 s a million children), and the timings a few
minutes: about 1.5 hours in all; and about 40 GB of disk (1.6 GB for the register and 2.1
GB for the trail at 1,000,000 / 2,000,000, tables and indexes; scaled, 18 GB and 21 GB).
The timings alone, with --keep: some minutes, plus find_duplicates (about 76 s a
million children) and verify_audit. --keep reuses the load; a run that archived a month
leaves it for --reads-only (the search, the record view and the auditor's reads, timed
again after a change) but loads again for a whole run.
Without --keep the database is dropped first and again at the end: never name one you care
about. The server is postgres@127.0.0.1:5432 unless --server says otherwise.
"""

import argparse
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import audit_queries as trail
import search as search_bench
import seed as seed_bench

if TYPE_CHECKING:
    from audit.partitions import Month

ROOT = Path(__file__).resolve().parent.parent
SEED = 2019

# The acceptance figures of issue 19 (p95, milliseconds; seconds for the one-off jobs).
TARGET_SELECTOR_MS = 10.0
TARGET_RECORD_MS = 20.0
TARGET_CHILD_ACCESS_MS = 5.0
TARGET_USER_ACTIVITY_MS = 15.0
TARGET_EVENTS_BY_USER_MS = 50.0
TARGET_PAGE_MS = 100.0
TARGET_ARCHIVE_S = 300.0
# audit_archive refuses months within the retention period (default 72 months): the bench's
# trail spans --months, so it archives its oldest month with a retention of one.
ARCHIVE_ENVIRONMENT = {"AUDIT_RETENTION_MONTHS": "1"}
# A month of the trail: the tables whose rows carry the event's occurred_at.
MONTH_TABLES = {
    "events": "audit_auditevent",
    "links": "audit_auditeventchild",
    "seals": "audit_auditseal",
}
# What the other benches ask of the one-off jobs, per million (reference only).
VERIFY_S_PER_MILLION_EVENTS = 60.0  # bench/verify_audit.py
DUPLICATES_S_PER_MILLION_CHILDREN = 600.0  # bench/duplicates.py

MIN_QUERIES = 50

REGISTER_TABLES = seed_bench.TABLES  # the register's tables, as bench/seed.py counts them
# Secondary indexes and unique constraints of some tables (not primary keys).
INDEXES_SQL = """
SELECT t.relname, i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.conrelid = t.oid AND c.contype = 'u'
WHERE t.relname = ANY(%s) AND NOT x.indisprimary
ORDER BY t.relname, i.relname
"""
# Tables and indexes of the public schema; a partitioned one (the audit trail's) counts its
# partitions (schema audit_partitions), which are not listed on their own.
SIZES_SQL = """
SELECT c.relname, CASE WHEN c.relkind IN ('r', 'p') THEN 'r' ELSE 'i' END,
    coalesce(t.relname, c.relname), sum(pg_relation_size(l.relid))::bigint,
    sum(CASE WHEN c.relkind IN ('r', 'p') THEN pg_table_size(l.relid)
        ELSE pg_relation_size(l.relid) END)::bigint,
    sum(greatest(lc.reltuples, 0))::bigint,
    count(*) FILTER (WHERE c.relkind IN ('p', 'I'))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
LEFT JOIN pg_index x ON x.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = x.indrelid
CROSS JOIN LATERAL (
    SELECT relid FROM pg_partition_tree(c.oid) WHERE isleaf AND c.relkind IN ('p', 'I')
    UNION ALL SELECT c.oid WHERE c.relkind IN ('r', 'i')
) AS l
JOIN pg_class lc ON lc.oid = l.relid
WHERE c.relkind IN ('r', 'i', 'p', 'I')
GROUP BY c.oid, c.relname, c.relkind, t.relname
ORDER BY 5 DESC
"""


# --- Loading --------------------------------------------------------------------------------


def drop_indexes(conn: psycopg.Connection, tables: tuple[str, ...]) -> list[tuple]:
    indexes = conn.execute(INDEXES_SQL, [list(tables)]).fetchall()
    for table, index, _, constraint, _ in indexes:
        if constraint:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
        else:
            conn.execute(f'DROP INDEX "{index}"')
    conn.commit()
    return indexes


def build_indexes(conn: psycopg.Connection, indexes: list[tuple]) -> float:
    return trail.build_indexes(conn, indexes, maintenance_work_mem="1GB")


def load_children(url: str, children: int, seed: int) -> dict[str, float]:
    """seed_demo --children N, as an operator runs it, with the register's indexes dropped."""
    with psycopg.connect(url) as conn:
        indexes = drop_indexes(conn, REGISTER_TABLES)
    print(
        f"seed_demo --children {children:,} ({len(indexes)} register indexes dropped) ...",
        flush=True,
    )
    began = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "seed_demo",
            "--children",
            str(children),
            "--seed",
            str(seed),
            "--allow-outside-demo",
        ],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # its progress, as it goes
    )
    seeded = time.perf_counter() - began
    with psycopg.connect(url) as conn:
        rows = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in REGISTER_TABLES
        }
        indexed = build_indexes(conn, indexes)
    print(
        f"  {rows['children_child']:,} children, {sum(rows.values()):,} register rows in"
        f" {seeded:.1f} s ({rows['children_child'] / seeded:,.0f} children/s,"
        f" {sum(rows.values()) / seeded:,.0f} rows/s); indexes {indexed:.1f} s",
        flush=True,
    )
    return {"children_seconds": seeded, "children_index_seconds": indexed, **rows}


def load_seals(url: str, batch: int) -> dict[str, float]:
    """Seals every event, oldest first, with the real chain.link: as the sealer would have,
    had each been recorded at its time, so that verify_audit passes. Reads the events
    through the ORM (the values the verifier reads) and writes the seals with COPY, each
    with its event's occurred_at (on PostgreSQL the seal goes to its event's month; the
    loader made the partitions). Seals a trail at audit migration 0014 too, whose seals
    have no occurred_at (bench/audit_write.py --mode partitions)."""
    from django.db import connection

    from audit import chain
    from audit.models import GENESIS_HASH, AuditEvent

    began = time.perf_counter()
    with psycopg.connect(url) as conn:
        indexes = drop_indexes(conn, ("audit_auditseal",))
        foreign_keys = trail.drop_foreign_keys(conn, ("audit_auditseal",))
        conn.commit()
        with_time = seals_carry_time(conn)
    names = ("id", "sequence", *chain.HASHED_FIELDS)
    # In time order: the back-dated trail first, then seed_demo's own events of today,
    # numbered before the trail was loaded. In number order, today's events would come
    # first, and the oldest month would not be the chain's first positions, as it is in a
    # real trail and as audit_archive, which takes the oldest months off, expects.
    events = AuditEvent.objects.order_by("occurred_at", "sequence").values_list(*names)
    prev_hash, position, sealed_at = GENESIS_HASH, 0, datetime.now(UTC)
    rows: list[tuple] = []
    with psycopg.connect(url) as conn:
        for values in events.iterator(chunk_size=10_000):
            fields = dict(zip(names, values, strict=True))
            position += 1
            number = fields["sequence"]
            event_hash = chain.link(
                prev_hash=prev_hash, position=position, number=number, content=chain.body(fields)
            )
            rows.append(
                (position, fields["id"], prev_hash, event_hash, sealed_at, fields["occurred_at"])
            )
            prev_hash = event_hash
            if len(rows) >= batch:
                _copy_seals(conn, rows, with_time=with_time)
                rows = []
                seconds = time.perf_counter() - began
                print(f"  {position:>11,} seals ({position / seconds:,.0f}/s)", flush=True)
        _copy_seals(conn, rows, with_time=with_time)
        # seed_demo's own event waited in the sealer's queue: sealed now, so out of it.
        _dequeue_sealed(conn)
        sealing = time.perf_counter() - began
        indexed = build_indexes(conn, indexes)
        indexed += trail.add_foreign_keys(conn, foreign_keys)
    connection.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) audit_auditseal")
    print(f"  {position:,} seals in {sealing:.1f} s ({position / sealing:,.0f}/s)", flush=True)
    return {"seals": position, "seal_seconds": sealing, "seal_index_seconds": indexed}


def _dequeue_sealed(conn: psycopg.Connection) -> None:
    """seed_demo's own event waited in the sealer's queue: sealed by the load, so out of it
    (else the sealer would seal it again, and the unique seal-per-event index refuse)."""
    in_month = " AND s.occurred_at = u.occurred_at" if seals_carry_time(conn) else ""
    conn.execute(
        "DELETE FROM audit_unsealedevent u USING audit_auditseal s"  # noqa: S608 (constants)
        f" WHERE s.event_id = u.event_id{in_month}"
    )
    conn.commit()


def seals_carry_time(conn: psycopg.Connection) -> bool:
    """Whether the seals (and the sealer's queue) carry their event's occurred_at: audit
    migration 0015 on."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'"
        " AND table_name = 'audit_auditseal' AND column_name = 'occurred_at')"
    ).fetchone()[0]


def _copy_seals(conn: psycopg.Connection, rows: list[tuple], *, with_time: bool) -> None:
    """COPYs the seals (position, event id, prev_hash, hash, sealed_at, the event's
    occurred_at); without `with_time`, a seal table of before migration 0015, the last
    left out."""
    columns = "position, event_id, prev_hash, hash, sealed_at" + (
        ", occurred_at" if with_time else ""
    )
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY audit_auditseal ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row if with_time else row[:5])
    conn.commit()


def loaded(
    server: str, database: str, children: int, events: int, months: int, *, archived_ok: bool
) -> dict | None:
    """The load's meta if the database holds a whole load of this size (with archived_ok,
    also one whose oldest month a run has since archived)."""
    meta = trail.loaded_state(server, database)
    state = meta.get("scale_complete") if meta else None
    if state != "yes" and not (archived_ok and state == "archived"):
        return None
    asked = {"scale_children": children, "events": events, "months": months}
    return meta if all(meta.get(key) == str(value) for key, value in asked.items()) else None


def load(args: argparse.Namespace, url: str) -> dict[str, float]:
    trail.recreate_database(args.server, args.database)
    trail.migrate()
    began = time.perf_counter()
    figures = load_children(url, args.children, args.seed)
    trail.setup_django()
    span = round(args.months * 365.25 / 12)
    started = time.perf_counter()
    trail.load(
        args.server, args.database, args.events, args.batch, args.seed, span=span, register=True
    )
    figures["events_seconds"] = time.perf_counter() - started
    figures.update(load_seals(url, args.batch))
    figures["load_seconds"] = time.perf_counter() - began
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        meta = {
            "scale_children": args.children,
            "months": args.months,
            "scale_figures": json.dumps(figures),
            "scale_complete": "yes",
        }
        cursor.executemany(
            "INSERT INTO bench_meta (key, value) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [(key, str(value)) for key, value in meta.items()],
        )
    return figures


# --- Timing ---------------------------------------------------------------------------------


def row(group: str, name: str, target: float | None, **more: Any) -> trail.Row:
    return trail.Row(group, name, target, **more)


def measure_search(queries: int, seed: int) -> tuple[list[trail.Row], list]:
    typos = search_bench.typo_queries(queries, seed)
    selector = search_bench.run_selector(typos)
    raw = search_bench.run_raw(typos)
    rows = [
        _summary_row(
            "search",
            "find_children, typo kinds",
            TARGET_SELECTOR_MS,
            selector,
            len(typos),
            note=f"recall@10 {selector['recall']:.3f}, first {selector['first']:.3f}",
        ),
        _summary_row("search", "reference: raw blocking query", None, raw, len(typos)),
    ]
    return rows, typos


def _summary_row(
    group: str, name: str, target: float | None, figures: dict, n: int, note: str = ""
) -> trail.Row:
    # run_selector and run_raw give p50 and p95 only: a row whose figures are those.
    summary = SummaryRow(group, name, target, note=note)
    summary.given = {"p50": figures["p50"], "p95": figures["p95"], "p99": figures["p95"]}
    summary.times_ms = [figures["p95"]] * n  # for the count and the verdict only
    return summary


class SummaryRow(trail.Row):
    given: dict[str, float]

    def figures(self) -> dict[str, float]:
        return dict(self.given) if self.times_ms else {}


def measure_record(typos: list, queries: int) -> list[trail.Row]:
    from accounts.models import Role, User
    from children import access, selectors

    record = row("record", "record view queries (practitioner)", TARGET_RECORD_MS)
    viewer = User.objects.filter(role=Role.PRACTITIONER, username__endswith=".demo.example").first()
    if viewer is None:
        record.unavailable = "no demo practitioner"
        return [record]
    from children.models import Child

    ids = [query.child_id for query in typos[:queries]]
    public_ids = list(Child.objects.filter(pk__in=ids).values_list("public_id", flat=True))

    def view(public_id: str):
        def call() -> None:
            child = selectors.child_for_viewer(public_id=public_id, viewer=viewer)
            if child is not None and access.may_read(viewer=viewer, child=child):
                trail.materialise(selectors.child_record(child=child, viewer=viewer))

        return call

    trail.timed(record, (view(value) for value in trail._warm(public_ids)))
    if public_ids and not record.unavailable:
        statements = len(trail.captured_sql(view(public_ids[0])))
        record.note = f"{statements} SQL statements for the first child"
    return [record]


def measure_trail(queries: int, seed: int) -> list[trail.Row]:
    targets = trail.pick_targets(queries, seed)
    rows = trail.measure_raw(targets) + trail.measure_selectors(targets)
    for each in rows:
        if each.group == "raw SQL":
            each.target_ms = None  # the same-run reference
        elif each.name.startswith("child_access_events"):
            each.target_ms = TARGET_CHILD_ACCESS_MS
        elif each.name.startswith("user_activity"):
            each.target_ms = TARGET_USER_ACTIVITY_MS
    pages = trail.measure_pages(targets, queries)
    user = targets.typical_users[0] if targets.typical_users else 0
    child = targets.children[0] if targets.children else ""
    first_paths = {
        "child access report": f"/audit/children/{child}/",
        "user activity": f"/audit/users/{user}/",
        "flags queue": "/audit/flags/",
        "extra: /audit/?child=": f"/audit/?child={child}",
        "extra: /audit/?username=": (
            f"/audit/?username=bench-actor-{trail._actor_k(user):04d}@bench.invalid"
        ),
        "event list /audit/": "/audit/",
    }
    for each in pages:
        each.kind = next(
            (path for start, path in first_paths.items() if each.name.startswith(start)), ""
        )
        # The figures: every auditor page <= 100 ms, the list by user <= 50 ms.
        if "username=" in each.name:
            each.name = "event list /audit/?username=<user>"
            each.target_ms = TARGET_EVENTS_BY_USER_MS
        elif "?child=" in each.name:
            each.name = "event list /audit/?child=<id>"
            each.target_ms = TARGET_PAGE_MS
        else:
            each.target_ms = TARGET_PAGE_MS
    return rows + pages


def explain_missed_pages(rows: list[trail.Row]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of each page that missed its
    target (its first target's path, as measure_trail noted it)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = None
    for each in rows:
        if each.group != "page" or verdict(each) != "NOT met" or not each.kind.startswith("/"):
            continue
        client = client or trail.auditor_client()
        with CaptureQueriesContext(connection) as captured:
            client.get(each.kind, secure=True)
        selects = [
            query
            for query in captured.captured_queries
            if query["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
        ]
        if not selects:
            continue
        slowest = max(selects, key=lambda query: float(query["time"]))
        print(f"\n--- {each.name} missed: its slowest statement ({slowest['time']} s), {each.kind}")
        print(slowest["sql"][:2000])
        try:
            print(trail.explain(slowest["sql"]))
        except Exception as error:
            print(f"(could not explain: {type(error).__name__}: {error})")


def once(group: str, name: str, target_s: float | None, call) -> trail.Row:
    """A one-off job, timed once; its figures are seconds."""
    job = row(group, name, target_s)
    began = time.perf_counter()
    try:
        job.note = call() or ""
    except CommandFailed as error:
        job.unavailable = f"FAILED: {error}"[:240]
        return job
    except Exception as error:
        job.unavailable = f"{type(error).__name__}: {error}"[:200]
        return job
    job.times_ms = [time.perf_counter() - began]
    return job


def measure_verify(events: int) -> trail.Row:
    """verify_audit's walk over the whole chain; before the pages are timed, whose own events
    would be unsealed (no sealer runs here) and soon older than the seal delay allows."""
    from audit.sealer import seal_all
    from audit.verify import verify_chain

    # What earlier runs' pages recorded (with --keep) waits in the queue: sealed first, by
    # the real sealer, as a running service would have. (Loads before the bench dequeued
    # what it sealed left seed_demo's event queued.)
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        _dequeue_sealed(conn)
    waiting = seal_all()

    def verify() -> str:
        verdict = verify_chain()
        if not verdict.ok:
            raise RuntimeError(f"chain broken: {verdict.broken_at}")
        return f"{verdict.events:,} events verified; {waiting:,} sealed first"

    return once(
        "job", "verify_audit (whole chain)", VERIFY_S_PER_MILLION_EVENTS * events / 1e6, verify
    )


def measure_jobs(args: argparse.Namespace, children: int, events: int) -> list[trail.Row]:
    from django.core.management import call_command, get_commands

    rows = []
    if args.skip_duplicates:
        skipped = row("job", "find_duplicates", None)
        skipped.unavailable = "--skip-duplicates"
        rows.append(skipped)
    elif "find_duplicates" in get_commands():
        logging.getLogger("splink").setLevel(logging.WARNING)  # its progress, line by line
        rows.append(
            once(
                "job",
                "find_duplicates",
                DUPLICATES_S_PER_MILLION_CHILDREN * children / 1_000_000,
                lambda: call_command("find_duplicates", stdout=open(os.devnull, "w")),  # noqa: SIM115
            )
        )
    rows += measure_archive(args, events)
    return rows


class CommandFailed(Exception):
    """A manage.py command that exists exited non-zero: a failure, not "not available"."""


def manage(*arguments: str) -> str:
    """Runs `manage.py ARGUMENTS` in a process of its own, as an operator would, with
    ARCHIVE_ENVIRONMENT; returns the last line it printed. CommandFailed if it fails."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        cwd=ROOT,
        env={**os.environ, **ARCHIVE_ENVIRONMENT},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CommandFailed(
            f"exit status {done.returncode}: {_last_words(done.stderr + done.stdout)}"
        )
    return _last_words(done.stdout)


def _last_words(output: str) -> str:
    """The last line a command printed that is not one of its JSON log lines."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    said = [line for line in lines if not line.startswith("{")]
    return (said or lines or [""])[-1][:160]


def measure_archive(args: argparse.Namespace, events: int) -> list[trail.Row]:
    """`audit_archive --before <second-oldest month>` (exactly the oldest month), beside the
    reference of that month's rows copied out with COPY; then `verify_archive DIR` of what
    it wrote and `verify_audit` of the trail left. Not available while the command is not
    there; a command that fails is reported FAILED."""
    from django.core.management import get_commands

    from audit import partitions
    from audit.sealer import seal_all

    commands = get_commands()
    if "audit_archive" not in commands:
        missing = row("job", "audit_archive of one month", TARGET_ARCHIVE_S)
        missing.unavailable = "no audit_archive command yet"
        return [missing]
    # The events the pages recorded, sealed as a running sealer would have: verify_audit
    # afterwards would find them unsealed past the seal delay.
    seal_all()
    month = oldest_month()
    before = str(month.next())
    counts = month_rows(month)
    if args.archive_to:
        directory = Path(args.archive_to)
        directory.mkdir(parents=True, exist_ok=True)
    else:
        directory = Path(tempfile.mkdtemp(prefix="scale-archive-"))
    rows = [copy_month_out(month, counts)]
    archive = once(
        "job",
        f"audit_archive --before {before} ({month})",
        TARGET_ARCHIVE_S,
        lambda: manage("audit_archive", "--before", before, "--to", str(directory)),
    )
    forget_load(args)  # the month may be gone: the next --keep loads again (--reads-only not)
    rows.append(archive)
    if not archive.unavailable:
        left = month in partitions.months()
        written = sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
        archive.note = (
            f"{counts['events']:,} events, {counts['links']:,} links, {counts['seals']:,} seals;"
            f" {written / 2**20:,.1f} MB in {directory};"
            f" {'its partitions still there' if left else 'its partitions gone'}"
            + (f"; said: {archive.note}" if archive.note else "")
        )
        if left:
            archive.unavailable = f"FAILED: exited 0, but {month}'s partitions are still there"
    checked = row(
        "job",
        "verify_archive DIR",
        VERIFY_S_PER_MILLION_EVENTS * counts["events"] / 1e6,
    )
    if "verify_archive" not in commands:
        checked.unavailable = "no verify_archive command yet"
    elif archive.unavailable:
        checked.unavailable = "the archive did not complete"
    else:
        checked = once(
            checked.group,
            checked.name,
            checked.target_ms,
            lambda: manage("verify_archive", str(directory)),
        )
    rows.append(checked)
    remaining = events - (0 if archive.unavailable else counts["events"])
    # audit_archive recorded itself (an audit_archive event), which a running sealer would
    # have sealed by now: sealed here, so that verify_audit below judges the chain, not the
    # absence of a sealer.
    seal_all()
    rows.append(
        once(
            "job",
            "verify_audit after the archive",
            VERIFY_S_PER_MILLION_EVENTS * remaining / 1e6,
            lambda: manage("verify_audit"),
        )
    )
    if not args.archive_to:
        shutil.rmtree(directory, ignore_errors=True)
    return rows


def oldest_month() -> "Month":
    """The oldest month the trail holds, in UTC as the partitions are (the oldest partition;
    without partitions, the oldest event's month): --before the month after it archives
    exactly that one."""
    from django.db import connection

    from audit.partitions import Month, months

    held = months()
    if held:
        return held[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(occurred_at) FROM audit_auditevent")
        return Month.of(cursor.fetchone()[0])


def month_rows(month: "Month") -> dict[str, int]:
    """How many events, child links and seals the month holds."""
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for name, table in MONTH_TABLES.items():
            cursor.execute(
                f"SELECT count(*) FROM {table} WHERE occurred_at >= %s AND occurred_at < %s",  # noqa: S608
                [month.start, month.next().start],
            )
            counts[name] = cursor.fetchone()[0]
    return counts


def copy_month_out(month: "Month", counts: dict[str, int]) -> trail.Row:
    """The reference: the month's events, links and seals read out with COPY (text format)
    and thrown away, which any archive of the month must at least do."""

    def copy_out() -> str:
        size = 0
        with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cursor:
            for table in MONTH_TABLES.values():
                # COPY takes no server-side parameters: psycopg binds these client-side.
                query = (
                    f"COPY (SELECT * FROM {table} WHERE occurred_at >= %s"  # noqa: S608
                    " AND occurred_at < %s) TO STDOUT"
                )
                with cursor.copy(query, [month.start, month.next().start]) as copy:
                    for data in copy:
                        size += len(data)
        return f"{sum(counts.values()):,} rows, {size / 2**20:,.1f} MB of COPY text"

    return once("job", f"reference: COPY {month}'s rows out", None, copy_out)


def forget_load(args: argparse.Namespace) -> None:
    with psycopg.connect(f"{args.server}/{args.database}") as conn:
        conn.execute("UPDATE bench_meta SET value = 'archived' WHERE key = 'scale_complete'")


def sizes(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        return [
            {"name": name, "kind": "table" if kind == "r" else "index", "table": table,
             "main_bytes": main, "bytes": total, "rows": tuples, "partitions": parts}
            for name, kind, table, main, total, tuples, parts in conn.execute(SIZES_SQL).fetchall()
            if total > 0
        ]  # fmt: skip


# --- Output ---------------------------------------------------------------------------------


def verdict(each: trail.Row) -> str:
    if each.unavailable.startswith("FAILED"):
        return each.unavailable
    if each.unavailable:
        return f"not available: {each.unavailable}"
    if not each.times_ms:
        return "not available: no targets"
    if each.target_ms is None:
        return "(reference)"
    p95 = each.figures()["p95"] if each.group != "job" else each.times_ms[0]
    return "met" if p95 <= each.target_ms else "NOT met"


def print_rows(rows: list[trail.Row]) -> None:
    print(f"\n{'':<8} {'measurement':<46} {'n':>5} {'p50':>8} {'p95':>8} {'target':>8}  verdict")
    for each in rows:
        target = f"{each.target_ms:.0f}" if each.target_ms is not None else "-"
        if each.unavailable or not each.times_ms:
            print(f"{each.group:<8} {each.name:<46} {'':>5} {'':>8} {'':>8} {target:>8}  ", end="")
        elif each.group == "job":
            seconds = each.times_ms[0]
            print(
                f"{each.group:<8} {each.name:<46} {1:>5} {'':>8} {seconds:>7.1f}s {target:>7}s  ",
                end="",
            )
        else:
            figures = each.figures()
            print(
                f"{each.group:<8} {each.name:<46} {len(each.times_ms):>5} {figures['p50']:>8.2f}"
                f" {figures['p95']:>8.2f} {target:>8}  ",
                end="",
            )
        print(verdict(each) + (f"  ({each.note})" if each.note and not each.unavailable else ""))
    print(
        "(milliseconds, target is p95; jobs: seconds, timed once; for verify_audit and"
        " find_duplicates the target is the rate their own benches ask, scaled)"
    )


def progress(rows: list[trail.Row]) -> list[trail.Row]:
    """Prints a phase's figures as soon as it ends (a full-size run takes hours; a run cut
    short still leaves what it measured), and hands them on."""
    print_rows(rows)
    sys.stdout.flush()
    return rows


def print_sizes(table_sizes: list[dict[str, Any]], limit: int = 40) -> None:
    print(f"\n{'table or index':<58} {'kind':<6} {'rows':>12} {'size':>10}")
    for entry in table_sizes[:limit]:
        parts = entry.get("partitions")
        name = f"{entry['name']} ({parts} partitions)" if parts else entry["name"]
        print(
            f"{name[:58]:<58} {entry['kind']:<6}"
            f" {entry['rows'] if entry['kind'] == 'table' else '':>12}"
            f" {entry['bytes'] / 2**20:>8.1f}MB"
        )
    rest = sum(entry["bytes"] for entry in table_sizes[limit:])
    total = sum(entry["bytes"] for entry in table_sizes)
    print(
        f"({max(0, len(table_sizes) - limit)} smaller ones: {rest / 2**20:.1f} MB;"
        f" all: {total / 2**30:.2f} GB; a table's size includes its TOAST, not its indexes)"
    )


def compare(small_file: str, large_file: str) -> int:
    small, large = (json.loads(Path(name).read_text()) for name in (small_file, large_file))
    print(
        f"from {small['children']:,} children / {small['events']:,} events ({small_file})"
        f"\n  to {large['children']:,} children / {large['events']:,} events ({large_file})"
        f"\n  children x{large['children'] / small['children']:.1f},"
        f" events x{large['events'] / small['events']:.1f}"
    )
    before = {(each["group"], each["name"]): each for each in small["rows"]}
    print(f"\n{'':<8} {'measurement':<46} {'p95 before':>11} {'p95 after':>10} {'growth':>7}")
    print("(milliseconds; jobs: seconds)")
    for each in large["rows"]:
        old = before.get((each["group"], each["name"]))
        then, now = _figure(old or {}), _figure(each)
        if then is None or now is None:
            print(f"{each['group']:<8} {each['name']:<46} {'':>11} {'':>10}  not in both")
            continue
        print(
            f"{each['group']:<8} {each['name']:<46} {then:>11.2f} {now:>10.2f}"
            f" {now / then if then else float('inf'):>6.1f}x"
        )
    old_sizes = {entry["name"]: entry["bytes"] for entry in small["sizes"]}
    print(f"\n{'table or index':<58} {'before':>10} {'after':>10} {'growth':>7}")
    for entry in large["sizes"][:30]:
        old = old_sizes.get(entry["name"])
        growth = f"{entry['bytes'] / old:>6.1f}x" if old else "    new"
        print(
            f"{entry['name'][:58]:<58} {(old or 0) / 2**20:>8.1f}MB"
            f" {entry['bytes'] / 2**20:>8.1f}MB {growth}"
        )
    return 0


def _figure(entry: dict) -> float | None:
    """A row's p95 in milliseconds, or a job's seconds."""
    return entry.get("seconds", entry.get("p95_ms"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=11_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--months", type=int, default=24, help="the events span these months")
    parser.add_argument("--queries", type=int, default=300, help="timed targets per measurement")
    parser.add_argument("--database", default="signposting_scalebench")
    parser.add_argument("--server", default=trail.SERVER, help="postgres://user@host:port")
    parser.add_argument("--keep", action="store_true", help="reuse a loaded database; keep it")
    parser.add_argument("--batch", type=int, default=500_000, help="events (seals) a transaction")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--skip-duplicates", action="store_true", help="do not time find_duplicates"
    )
    parser.add_argument(
        "--skip-verify",
        action="store_true",
        help="do not time verify_audit over the whole chain before the reads (the one after"
        " audit_archive still runs)",
    )
    parser.add_argument(
        "--reads-only",
        action="store_true",
        help="time the reads only (no verify_audit, find_duplicates or audit_archive); with"
        " --keep, reuses a load whose oldest month an earlier run archived",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--archive-to",
        metavar="DIR",
        help="where audit_archive writes (kept); default a temporary directory, removed",
    )
    parser.add_argument("--compare", nargs=2, metavar=("SMALL", "LARGE"), help="two --json files")
    args = parser.parse_args()
    if args.queries < MIN_QUERIES:
        parser.error(
            f"--queries {args.queries}: at least {MIN_QUERIES} (fewer draws may find no child"
            " for a kind of typo, and then nothing to time)"
        )
    if args.compare:
        return compare(*args.compare)

    url = f"{args.server}/{args.database}"
    trail.environment(args.server, args.database)
    meta = loaded(
        args.server,
        args.database,
        args.children,
        args.events,
        args.months,
        archived_ok=args.reads_only,
    )
    if meta:
        print(
            f"reusing {args.database}, loaded {meta['loaded_at']}"
            + (" (its oldest month since archived)" if meta["scale_complete"] != "yes" else "")
        )
        trail.migrate()
        trail.setup_django()
        figures = json.loads(meta["scale_figures"])
        loaded_now = False
    else:
        figures = load(args, url)
        loaded_now = True

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM children_child), (SELECT count(*) FROM audit_auditevent),"
            " (SELECT count(*) FROM audit_auditeventchild), (SELECT count(*) FROM audit_auditseal),"
            " (SELECT min(occurred_at)::date || ' to ' || max(occurred_at)::date"
            "  FROM audit_auditevent), pg_database_size(current_database()), version()"
        )
        children, events, links, seals, span, size, version = cursor.fetchone()
    print(
        f"\n{args.database}: {children:,} children, {events:,} audit events ({span}),"
        f" {links:,} child links, {seals:,} seals; {size / 2**30:.2f} GB;"
        f" {version.split(',')[0]}; {os.cpu_count()} CPUs, load average"
        f" {os.getloadavg()[0]:.2f} (other work skews the figures)",
        flush=True,
    )
    verified = [] if args.reads_only or args.skip_verify else progress([measure_verify(events)])
    rows, typos = measure_search(args.queries, args.seed)
    progress(rows)
    rows += progress(measure_record(typos, args.queries))
    rows += progress(measure_trail(args.queries, args.seed))
    if not args.reads_only:
        rows += [*verified, *progress(measure_jobs(args, children, events))]
    table_sizes = sizes(url)
    print("\nall figures:")
    print_rows(rows)
    explain_missed_pages(rows)
    print_sizes(table_sizes)
    rates = {
        "children_per_s": figures["children_child"] / figures["children_seconds"],
        "events_per_s (with links, flags, indexes, VACUUM)": events / figures["events_seconds"],
        "seals_per_s": figures["seals"] / figures["seal_seconds"],
    }
    print(
        f"\nload{' (this run)' if loaded_now else ' (when it was loaded)'}:"
        f" {figures['load_seconds']:.0f} s in all; children {figures['children_seconds']:.0f} s"
        f" + indexes {figures['children_index_seconds']:.0f} s, events"
        f" {figures['events_seconds']:.0f} s, seals {figures['seal_seconds']:.0f} s + indexes"
        f" {figures['seal_index_seconds']:.0f} s; "
        + ", ".join(f"{name} {value:,.0f}" for name, value in rates.items())
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "database": args.database,
                    "children": children,
                    "events": events,
                    "child_links": links,
                    "seals": seals,
                    "months": args.months,
                    "database_bytes": size,
                    "load": figures,
                    "rates": rates,
                    "rows": [
                        {**each.as_json(), "verdict": verdict(each)}
                        | (
                            {"seconds": each.times_ms[0]}
                            if each.group == "job" and each.times_ms
                            else {}
                        )
                        for each in rows
                    ],
                    "sizes": table_sizes,
                    "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
        print(f"figures written to {args.json}")
    connection.close()
    if not args.keep:
        trail.drop_database(args.server, args.database)
    return 1 if any(verdict(each).startswith(("NOT met", "FAILED")) for each in rows) else 0


if __name__ == "__main__":
    random.seed(SEED)
    sys.exit(main())
