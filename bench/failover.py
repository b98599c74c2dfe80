"""Failover drill: the primary dies under load, the standby is promoted, and no acknowledged
lookup is lost (issue 18, part 4).

On a cluster of its own (bench/cluster.py: a primary and its synchronous standby, streaming
replication, the WAL archive, under var/failover/ on ports 5443 and 5444, apart from `make
cluster`'s), migrated and seeded with a small synthetic register (children.demo, as
seed_demo makes it):

1. --users practitioners, signed in (a session with both factors, as bench/search.py makes
   them), each kept under the hourly lookup limit;
2. two gunicorn instances (production settings: persistent, health-checked connections; one
   multi-host DATABASE_URL with target_session_attrs=read-write), each with its
   `manage.py seal_audit --follow` beside it: one sealer works, the other waits as a spare;
3. --connections practitioners at a time, across both instances, doing what a practitioner
   does: a search (POST /search/), the first result opened (the reason question), the
   reason given (POST /children/<id>/: the record). Every answer's status, time and request
   id (the X-Request-ID the app gives every response) are kept;
4. after --seconds-before, the primary is killed (`pg_ctl stop -m immediate`), the standby
   promoted --promote-after seconds later (the time a watchdog or an operator takes to
   decide), and the load carries on for --seconds-after; half-way through, the sealer
   holding the sealer lock is killed too (SIGKILL: its instance is lost), and the spare
   must take over (--no-sealer-handover: not);
5. on the new primary, once the sealer has caught up: every lookup answered 200 (a results
   page, a record page) must have its audit event with that request id (a search event, a
   record_view event); `verify_audit` must pass (the chain intact, every event sealed
   exactly once); every failed answer must be the "service unavailable" page (a 503 with
   no traceback and no child's name in it).

Unavailability is measured from the kill to the first lookup answered 200 after the last
failed answer (from then on every practitioner is served); the narrower "first failure to the
first 200 after it" is printed beside it. The reference, as in the other benches: lookups a
second and their p50 before the kill and after the promotion, in the same run. The last line:

    failover: lost 0 of N acknowledged lookups; unavailable X.X s

and the exit status is non-zero when a lookup is lost, the chain fails, an error page shows
what it must not, no spare takes the sealer lock, or the unavailability exceeds
--max-unavailable (30 s).

    .venv/bin/python bench/failover.py                        # about two minutes
    .venv/bin/python bench/failover.py --seconds-before 5 --seconds-after 10 --users 40
    .venv/bin/python bench/failover.py --keep    # leave the cluster, logs and answers.csv

As root (as in CI) the servers run as `postgres` (bench/cluster.py). Everything it starts
(the cluster, both gunicorns, both sealers) is stopped at the end, on failure and on Ctrl-C
too; --keep leaves the cluster's files (stopped) and the logs, in DIR/logs/.
docs/operations/database-cluster.md describes the drill and its figures.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cluster import Cluster, ClusterError  # noqa: E402
from bench.search import signed_in_practitioners  # noqa: E402

DEFAULT_DIR = ROOT / "var" / "failover"
MARKER = ".failover-drill"  # a directory the drill may delete and make again
SECRET_KEY = "failover-drill-throwaway-key-0123456789-abcdefghijklmnop"  # noqa: S105
# Each practitioner stays below the production limit of 60 lookups an hour (the rate limit
# is on, as in production: docs/decisions/0004); a flow is two lookups.
LOOKUPS_PER_USER = 50
REQUEST_TIMEOUT = 60.0  # beyond gunicorn's worker timeout (30 s): a hung request shows as such
RETRY_PAUSE = 0.25  # a practitioner shown the error page tries again (not at once)
# A failed answer must be the service's own page: no traceback, no exception's name.
UNAVAILABLE_PAGE = b"Sorry, the service is unavailable"
LEAKS = (b"Traceback", b'File "', b"psycopg", b"OperationalError", b"InterfaceError")
LOOKUP_ACTIONS = {"search": "search", "record": "record_view"}


class DrillFailed(Exception):
    pass


@dataclass(frozen=True)
class Query:
    family_name: str
    given_name: str
    date_of_birth: str  # YYYY-MM-DD


@dataclass
class User:
    session: str
    csrf_cookie: str = ""
    csrf_token: str = ""
    lookups: int = 0


@dataclass(frozen=True)
class Answer:
    kind: str  # search, question (the reason page), record
    instance: int
    started: float  # seconds since the load began
    ended: float
    status: int  # 0: no HTTP answer (connection refused or cut, timed out)
    request_id: str
    bad_page: str = ""  # why a failed answer's page is not the one users must get


@dataclass
class Timeline:
    killed: float | None = None
    killed_wall: float | None = None
    promoting: float | None = None
    promoted: float | None = None
    sealer_killed: tuple[int, float] | None = None  # which sealer, when (seconds from the kill)
    stop: bool = False
    answers: list[Answer] = field(default_factory=list)
    users_exhausted: int = 0


# --- Command line ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=str(DEFAULT_DIR))
    parser.add_argument("--ports", default="5443,5444", help="the drill cluster's two nodes")
    parser.add_argument("--http-ports", default="18443,18444", help="the two gunicorn instances")
    parser.add_argument("--users", type=int, default=200, help="practitioners signed in")
    parser.add_argument("--connections", type=int, default=16, help="practitioners at a time")
    parser.add_argument("--children", type=int, default=500, help="the register's size")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--seconds-before", type=float, default=20.0)
    parser.add_argument("--promote-after", type=float, default=5.0)
    parser.add_argument("--seconds-after", type=float, default=30.0, help="after the promotion")
    parser.add_argument("--max-unavailable", type=float, default=30.0)
    parser.add_argument(
        "--sealer-handover",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="half-way through --seconds-after, kill (SIGKILL) the sealer holding the lock",
    )
    parser.add_argument("--keep", action="store_true", help="leave the cluster's files and logs")
    args = parser.parse_args(argv)
    # SIGTERM as Ctrl-C: the cleanup in drill() runs either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        report = drill(args)
    except (DrillFailed, ClusterError, subprocess.CalledProcessError) as failure:
        print(f"failover: FAILED: {failure}")
        return 1
    except KeyboardInterrupt:
        print("failover: interrupted (everything it started is stopped)")
        return 130
    for line in report.lines:
        print(line)
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print(
        f"failover: lost {report.lost} of {report.acknowledged} acknowledged lookups;"
        f" unavailable {report.unavailable:.1f} s"
    )
    return 1 if report.problems else 0


@dataclass
class Report:
    lines: list[str]
    problems: list[str]
    lost: int
    acknowledged: int
    unavailable: float


# --- The drill ---------------------------------------------------------------------------


def drill(args: argparse.Namespace) -> Report:
    base = Path(args.dir).resolve()
    if base.exists() and any(base.iterdir()):
        if not (base / MARKER).exists():
            raise DrillFailed(f"{base} is not empty and not the drill's: choose another --dir")
        if (base / "cluster").exists():
            Cluster(base / "cluster", quiet=True).destroy()  # left by a run before (--keep)
        shutil.rmtree(base)
    (base / "logs").mkdir(parents=True)
    (base / MARKER).touch()
    cluster = Cluster(
        base / "cluster", ports=_ports(args.ports), database="signposting", quiet=True
    )
    # The server user (when we are root) must reach the cluster's directory.
    base.chmod(0o755)
    processes: list[subprocess.Popen] = []
    try:
        return _drill(cluster, args=args, base=base, processes=processes)
    finally:
        _stop(processes)
        if args.keep:
            cluster.stop()
            _say(f"Kept {base} (logs in {base / 'logs'})")
        else:
            cluster.destroy()
            shutil.rmtree(base, ignore_errors=True)


def _drill(
    cluster: Cluster, *, args: argparse.Namespace, base: Path, processes: list[subprocess.Popen]
) -> Report:
    began = time.monotonic()
    url = cluster.start()
    _say(f"Cluster up ({time.monotonic() - began:.0f} s): {url}")
    env = _environment(url)
    # Setting up, commits need not wait for the standby (the load's first synchronous
    # commit, later, waits for all the WAL before it): the drill's own processes wait.
    setup = {**env, "PGOPTIONS": "-c synchronous_commit=local"}
    _django(setup)
    manage("migrate", "--noinput")
    manage("createcachetable")
    # The instances and their sealers start while the register is seeded (they boot in
    # seconds; nothing asks them anything until the practitioners are signed in).
    http_ports = _ports(args.http_ports)
    sealers: dict[int, subprocess.Popen] = {}
    for number, port in enumerate(http_ports, start=1):
        processes.append(_gunicorn(env, port=port, workers=args.workers, base=base, n=number))
        sealers[number] = _sealer(env, base=base, n=number)
        processes.append(sealers[number])
    queries = seed_register(children=args.children)
    users = sign_in(count=args.users)
    os.environ.pop("PGOPTIONS", None)
    _say(
        f"Register: {args.children} children ({len(queries)} to search for);"
        f" {len(users)} practitioners signed in ({time.monotonic() - began:.0f} s)"
    )
    for port in http_ports:
        _wait_healthy(port)
    asyncio.run(_prime(users, http_ports))
    _say(
        f"Two instances on {http_ports}, a sealer beside each; load from {args.connections}"
        f" practitioners at a time for {args.seconds_before:g} s, then the kill"
    )

    timeline = Timeline()
    asyncio.run(
        _load_and_failover(
            cluster,
            timeline,
            args=args,
            users=users,
            queries=queries,
            ports=http_ports,
            sealers=sealers,
            base=base,
        )
    )
    _write_answers(base / "answers.csv", timeline)
    _say(
        f"Load stopped: {len(timeline.answers)} answers; the new primary is"
        f" {cluster.primary().name} (port {cluster.primary().port})"
    )

    drained = _wait_sealed(cluster)
    if not drained:
        manage("seal_audit")
    _stop(processes)
    verify = manage("verify_audit", check=False)
    return _report(cluster, timeline, args=args, verify=verify, drained=drained, base=base)


def _environment(url: str) -> dict[str, str]:
    """What manage.py, gunicorn and the sealers get: the production settings (DEBUG and demo
    mode off, the rate limit and both factors on), over plain http on loopback."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        # The drill's cluster only (a standby of another cluster is none of its business).
        "DATABASE_REPLICA_URL": "",
        "DJANGO_SETTINGS_MODULE": "signposting.settings",
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "false",
        "SIGNPOSTING_DEMO": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        # Static files from the finders: no collectstatic into the checkout (the drill
        # fetches no static file).
        "STATIC_MANIFEST": "false",
        "LOG_LEVEL": "INFO",
    }


def _django(env: dict[str, str]) -> None:
    os.environ.update({**env, "LOG_LEVEL": "WARNING"})
    import django

    django.setup()


def manage(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    """A management command, in this process (each process of Django costs seconds of a
    shared machine's CPU); its output, and its exit status as a process would give it."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    # After the failover, this process's connection is the dead primary's: the command
    # connects again, through the multi-host URL, to the new one.
    connection.close()
    out, err = StringIO(), StringIO()
    try:
        call_command(*command, stdout=out, stderr=err)
        returncode = 0
    except SystemExit as exit_:
        returncode = exit_.code if isinstance(exit_.code, int) else 1
    except Exception as error:  # a CommandError, a database error: reported as a failure
        err.write(f"{type(error).__name__}: {error}")
        returncode = 1
    result = subprocess.CompletedProcess(command, returncode, out.getvalue(), err.getvalue())
    if check and returncode != 0:
        raise DrillFailed(f"manage.py {' '.join(command)} failed: {result.stderr.strip()[-800:]}")
    return result


# --- The register and the practitioners --------------------------------------------------


def seed_register(*, children: int) -> list[Query]:
    """The local authorities and `children` synthetic children, as seed_demo makes them;
    returns searches for the children a practitioner may open (none shielded)."""
    from accounts.services import local_authorities_load
    from children.demo import children_seed
    from children.models import Name
    from signposting.management.commands.seed_demo import DEMO_AREAS

    local_authorities_load()
    children_seed(count=children, seed=2010, demo_area_codes=tuple(DEMO_AREAS))
    rows = (
        Name.objects.filter(kind="current", child__shielded=False)
        .order_by("child_id")
        .values_list("family_name", "given_names", "child__date_of_birth")
    )
    return [
        Query(family, given.split()[0], born.isoformat()) for family, given, born in rows if given
    ]


def sign_in(*, count: int) -> list[User]:
    """`count` practitioners new to the run, vetted, signed in with both factors (their
    sessions in the database, as a sign-in leaves them)."""
    from accounts.models import Organisation

    sessions = signed_in_practitioners(
        count=count,
        area=Organisation.objects.get(ons_code="E09000033"),
        username="failover-{n}@drill.invalid",
        last_name="Practitioner {n}",
    )
    return [User(session=session) for session in sessions]


# --- The processes beside the cluster ----------------------------------------------------


def _gunicorn(env: dict, *, port: int, workers: int, base: Path, n: int) -> subprocess.Popen:
    with (base / "logs" / f"gunicorn-{n}.log").open("w") as log:
        return subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "signposting.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--backlog",
                "256",
                "--forwarded-allow-ips=",  # as `make run`: no proxy in front
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _sealer(env: dict, *, base: Path, n: int) -> subprocess.Popen:
    with (base / "logs" / f"sealer-{n}.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "seal_audit", "--follow"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each (gunicorn finishes its requests, a sealer its batch), then SIGKILL to
    any still running after 20 seconds."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 20
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    processes.clear()


def _wait_healthy(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            status, _, _ = asyncio.run(_request(port, _get("/healthz", "")))
            if status == 200:
                return
        except (TimeoutError, OSError, IndexError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise DrillFailed(f"gunicorn on port {port} did not answer /healthz 200")
        time.sleep(0.2)


def _wait_sealed(cluster: Cluster, seconds: float = 60) -> bool:
    """Waits for the sealers (on the new primary) to empty the queue; False if they did not."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = cluster.sql(
            cluster.primary(), "SELECT count(*) FROM audit_unsealedevent", dbname="signposting"
        )[0][0]
        if waiting == 0:
            return True
        time.sleep(0.2)
    return False


# --- HTTP, as a browser speaks it --------------------------------------------------------


async def _request(port: int, raw: bytes) -> tuple[int, dict[str, list[str]], bytes]:
    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(raw)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()

    data = await asyncio.wait_for(exchange(), REQUEST_TIMEOUT)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status, headers, body


def _get(path: str, cookie: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    ).encode()


def _post(path: str, cookie: str, form: dict) -> bytes:
    payload = urlencode(form).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload


def _cookie(user: User) -> str:
    return f"sessionid={user.session}; csrftoken={user.csrf_cookie}"


def _take_cookies(user: User, headers: dict[str, list[str]]) -> None:
    for value in headers.get("set-cookie", []):
        name, _, rest = value.partition("=")
        if name == "sessionid" and rest.split(";")[0]:
            user.session = rest.split(";")[0]
        elif name == "csrftoken":
            user.csrf_cookie = rest.split(";")[0]


async def _prime(users: list[User], ports: list[int]) -> None:
    """Each practitioner opens the search page once: its CSRF cookie and form token."""
    for index, user in enumerate(users):
        status, headers, body = await _request(
            ports[index % len(ports)], _get("/search/", _cookie(user))
        )
        if status != 200:
            raise DrillFailed(f"GET /search/ answered {status}: is the practitioner signed in?")
        _take_cookies(user, headers)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if not user.csrf_cookie or token is None:
            raise DrillFailed("The search page gave no CSRF cookie or token")
        user.csrf_token = token.group(1).decode()


# --- The load and the failover -----------------------------------------------------------


async def _load_and_failover(
    cluster: Cluster,
    timeline: Timeline,
    *,
    args: argparse.Namespace,
    users: list[User],
    queries: list[Query],
    ports: list[int],
    sealers: dict[int, subprocess.Popen],
    base: Path,
) -> None:
    start = time.monotonic()

    def now() -> float:
        return time.monotonic() - start

    async def ask(kind: str, instance: int, raw: bytes, names: tuple[str, ...]):
        started = now()
        try:
            status, headers, body = await _request(ports[instance], raw)
        except (TimeoutError, OSError, IndexError, ValueError):
            status, headers, body = 0, {}, b""
        request_id = (headers.get("x-request-id") or [""])[0]
        bad = _bad_page(status, body, names) if status >= 500 else ""
        timeline.answers.append(Answer(kind, instance, started, now(), status, request_id, bad))
        return status, headers, body

    async def practitioner_at_a_time(slot: int) -> None:
        mine = users[slot :: args.connections]
        turn = slot
        while not timeline.stop:
            ready = [user for user in mine if user.lookups + 2 <= LOOKUPS_PER_USER]
            if not ready:
                timeline.users_exhausted += 1
                return
            user = ready[turn % len(ready)]
            query = queries[(turn * 7919) % len(queries)]
            instance = turn % len(ports)
            turn += 1
            if not await _flow(ask, user, query, instance):
                await asyncio.sleep(RETRY_PAUSE)

    async def failover() -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(args.seconds_before)
        timeline.killed, timeline.killed_wall = now(), time.time()
        await loop.run_in_executor(None, cluster.kill_primary)
        _say(f"Killed the primary at {timeline.killed:.1f} s")
        await asyncio.sleep(args.promote_after)
        timeline.promoting = now()
        await loop.run_in_executor(None, cluster.promote)
        timeline.promoted = now()
        _say(f"Promoted the standby at {timeline.promoted:.1f} s")
        if args.sealer_handover:
            # The instance whose sealer works is lost too: the spare must take over.
            await asyncio.sleep(args.seconds_after / 2)
            holder = _lock_holder(base)
            if holder is not None:
                sealers[holder].kill()
                timeline.sealer_killed = (holder, time.time() - timeline.killed_wall)
                _say(f"Killed sealer-{holder}, the one holding the sealer lock, at {now():.1f} s")
            await asyncio.sleep(args.seconds_after / 2)
        else:
            await asyncio.sleep(args.seconds_after)
        timeline.stop = True

    await asyncio.gather(failover(), *(practitioner_at_a_time(n) for n in range(args.connections)))


async def _flow(ask, user: User, query: Query, instance: int) -> bool:
    """A search, the first result opened, the reason given: True if all were answered 200."""
    names = (query.family_name, query.given_name)
    year, month, day = query.date_of_birth.split("-")
    user.lookups += 1
    status, headers, body = await ask(
        "search",
        instance,
        _post(
            "/search/",
            _cookie(user),
            {
                "csrfmiddlewaretoken": user.csrf_token,
                "family_name": query.family_name,
                "given_name": query.given_name,
                "dob_day": str(int(day)),
                "dob_month": str(int(month)),
                "dob_year": year,
            },
        ),
        names,
    )
    _take_cookies(user, headers)
    if status != 200:
        return False
    found = re.search(rb'href="/children/([A-Za-z0-9-]+)/"', body)
    if found is None:
        return True  # nothing to open: the search itself was the lookup
    record = f"/children/{found.group(1).decode()}/"
    status, headers, _ = await ask("question", instance, _get(record, _cookie(user)), names)
    _take_cookies(user, headers)
    if status != 200:
        return False
    user.lookups += 1
    form = {
        "csrfmiddlewaretoken": user.csrf_token,
        "reason": "continuing_work",
        "details": "",
    }
    status, headers, _ = await ask("record", instance, _post(record, _cookie(user), form), names)
    _take_cookies(user, headers)
    return status == 200


def _bad_page(status: int, body: bytes, names: tuple[str, ...]) -> str:
    """Why a failed answer is not the page users must get, or "" if it is."""
    if status != 503 or UNAVAILABLE_PAGE not in body:
        return f"{status} without the service-unavailable page"
    for leak in LEAKS:
        if leak in body:
            return f"{status} showing {leak.decode()!r}"
    for name in names:
        if len(name) > 2 and name.encode() in body:
            return f"{status} showing the child's name"
    return ""


# --- The checks and the figures ----------------------------------------------------------


def _report(
    cluster: Cluster,
    timeline: Timeline,
    *,
    args: argparse.Namespace,
    verify: subprocess.CompletedProcess,
    drained: bool,
    base: Path,
) -> Report:
    answers = timeline.answers
    problems: list[str] = []
    acknowledged = [a for a in answers if a.kind in LOOKUP_ACTIONS and a.status == 200]
    found = _events_by_request_id(cluster, [a.request_id for a in acknowledged])
    lost = [
        a
        for a in acknowledged
        if not a.request_id or LOOKUP_ACTIONS[a.kind] not in found.get(a.request_id, [])
    ]
    doubled = sum(1 for actions in found.values() if len(actions) > 1)
    if lost:
        problems.append(
            f"{len(lost)} lookups answered 200 have no audit event on the new primary,"
            f" e.g. {lost[0]}"
        )
    if doubled:
        problems.append(f"{doubled} request ids have more than one audit event")
    if verify.returncode != 0:
        problems.append(f"verify_audit failed: {(verify.stderr or verify.stdout).strip()[-500:]}")
    if not drained:
        problems.append("the sealers had not emptied the queue 60 s after the load")
    bad_pages = [a for a in answers if a.bad_page]
    if bad_pages:
        kinds = sorted({a.bad_page for a in bad_pages})
        problems.append(f"{len(bad_pages)} failed answers were not the unavailable page: {kinds}")
    window = _window(timeline)
    if window["unavailable"] > args.max_unavailable:
        problems.append(
            f"unavailable {window['unavailable']:.1f} s, more than {args.max_unavailable:g} s"
        )
    if window.get("served_again") is False:
        problems.append("no lookup was answered 200 after the last failed answer")
    if timeline.users_exhausted:
        problems.append(
            f"{timeline.users_exhausted} of {args.connections} connections ran out of"
            " practitioners under the hourly limit: give more --users"
        )
    sealer_lines, sealer_problems = _sealers(base, timeline)
    problems += sealer_problems
    seals = cluster.sql(
        cluster.primary(),
        "SELECT (SELECT count(*) FROM audit_auditevent) AS events,"
        " (SELECT count(*) FROM audit_auditseal) AS seals,"
        " (SELECT count(DISTINCT event_id) FROM audit_auditseal) AS sealed,"
        " (SELECT count(*) FROM audit_unsealedevent) AS waiting,"
        " (SELECT count(*) FROM audit_auditevent WHERE action IN ('search', 'record_view'))"
        " AS lookups",
        dbname="signposting",
    )[0]
    lines = [
        *_phases(timeline),
        _statuses(answers),
        f"unavailable {window['unavailable']:.1f} s from the kill to the first lookup answered"
        " 200 after the last failed answer"
        f" (first failure {window['first_failure']}, first 200 after it {window['first_ok']};"
        f" the promotion asked for at +{timeline.promoting - timeline.killed:.1f} s, done at"
        f" +{timeline.promoted - timeline.killed:.1f} s);"
        f" {window['failed']} failed answers, {len(bad_pages)} not the unavailable page",
        f"audit: {len(acknowledged)} lookups answered 200, {len(acknowledged) - len(lost)} with"
        f" their event on the new primary; {len(found)} request ids with an event;"
        f" {seals[4] - (len(acknowledged) - len(lost))} lookup events more (committed, the"
        " page never shown: in flight as the primary died); all events"
        f" {seals[0]}, seals {seals[1]} of {seals[2]} events, {seals[3]} waiting",
        "verify_audit: " + ((verify.stdout + verify.stderr).strip().splitlines() or ["-"])[0],
        *sealer_lines,
    ]
    return Report(lines, problems, len(lost), len(acknowledged), window["unavailable"])


def _write_answers(path: Path, timeline: Timeline) -> None:
    """Every answer, in seconds from the kill, for a look afterwards (--keep)."""
    import csv

    killed = timeline.killed or 0.0
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["kind", "instance", "started", "ended", "status", "request_id", "bad"])
        for a in timeline.answers:
            writer.writerow(
                [
                    a.kind,
                    a.instance + 1,
                    f"{a.started - killed:.3f}",
                    f"{a.ended - killed:.3f}",
                    a.status,
                    a.request_id,
                    a.bad_page,
                ]
            )


def _events_by_request_id(cluster: Cluster, request_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    rows = cluster.sql(
        cluster.primary(),
        "SELECT request_id, action FROM audit_auditevent WHERE request_id = ANY(%s)",
        ([request_id for request_id in request_ids if request_id],),
        dbname="signposting",
    )
    for request_id, action in rows:
        found.setdefault(request_id, []).append(action)
    return found


def _window(timeline: Timeline) -> dict:
    """Unavailable: from the kill until the first lookup answered 200 after the last failed
    answer (a 5xx, or none): from then on every practitioner is served. Beside it, as the
    brief puts it, the first failure after the kill and the first 200 after that."""
    killed = timeline.killed or 0.0
    failed = [
        a for a in timeline.answers if (a.status == 0 or a.status >= 500) and a.ended >= killed
    ]
    if not failed:
        return {"unavailable": 0.0, "first_failure": "none", "first_ok": "-", "failed": 0}
    first, last = min(a.ended for a in failed), max(a.ended for a in failed)
    lookups_ok = [a for a in timeline.answers if a.kind in LOOKUP_ACTIONS and a.status == 200]
    first_ok = min((a.ended for a in lookups_ok if a.started >= first), default=None)
    back = min((a.ended for a in lookups_ok if a.ended >= last), default=None)
    return {
        # Never served again before the load stopped: unavailable until then, at least.
        "unavailable": (back if back is not None else last) - killed,
        "served_again": back is not None,
        "first_failure": f"+{first - killed:.2f} s",
        "first_ok": "never" if first_ok is None else f"+{first_ok - killed:.2f} s",
        "failed": len(failed),
    }


def _phases(timeline: Timeline) -> list[str]:
    """Lookups a second and their times before the kill and after the promotion: the
    reference and the figure, from the same run."""
    lines = []
    spans = {
        "before the kill": (0.0, timeline.killed or 0.0),
        "after the promotion": (timeline.promoted or 0.0, max(a.ended for a in timeline.answers)),
    }
    rates = []
    for label, (since, until) in spans.items():
        done = [
            a
            for a in timeline.answers
            if a.kind in LOOKUP_ACTIONS and a.status == 200 and since <= a.started < until
        ]
        times = sorted((a.ended - a.started) * 1000 for a in done)
        rate = len(done) / max(until - since, 0.001)
        rates.append(rate)
        p50 = statistics.median(times) if times else 0.0
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0
        lines.append(
            f"{label}: {len(done)} lookups answered 200 in {until - since:.1f} s,"
            f" {rate:.1f}/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        )
    if rates[0]:
        lines.append(f"after/before: {rates[1] / rates[0]:.2f}")
    return lines


def _statuses(answers: list[Answer]) -> str:
    counts: dict[str, dict[int, int]] = {}
    for answer in answers:
        by_status = counts.setdefault(answer.kind, {})
        by_status[answer.status] = by_status.get(answer.status, 0) + 1
    parts = [
        f"{kind} " + ", ".join(f"{status}: {n}" for status, n in sorted(by_status.items()))
        for kind, by_status in counts.items()
    ]
    served = [
        sum(1 for a in answers if a.instance == instance and a.status == 200)
        for instance in sorted({a.instance for a in answers})
    ]
    return (
        "answers (status: count; 0 is no answer): "
        + "; ".join(parts)
        + f"; answered 200 by each instance: {served}"
    )


def _lock_takes(base: Path, killed_wall: float) -> dict[int, list[float]]:
    """When each sealer took the sealer lock, from its log: sealer number -> seconds from
    the kill."""
    takes: dict[int, list[float]] = {}
    for log in sorted((base / "logs").glob("sealer-*.log")):
        number = int(log.stem.rpartition("-")[2])
        takes[number] = []
        for line in log.read_text(errors="replace").splitlines():
            if "took the sealer lock" not in line:
                continue
            try:
                takes[number].append(_epoch(json.loads(line)["time"]) - killed_wall)
            except (ValueError, KeyError):
                continue
    return takes


def _lock_holder(base: Path) -> int | None:
    """The sealer that took the lock last (only one holds it at a time)."""
    takes = _lock_takes(base, 0.0)
    latest = {number: max(times) for number, times in takes.items() if times}
    return max(latest, key=latest.get) if latest else None


def _sealers(base: Path, timeline: Timeline) -> tuple[list[str], list[str]]:
    """The sealers' story (who held the lock, when), and what went wrong with it."""
    takes = _lock_takes(base, timeline.killed_wall or 0.0)
    lines = [
        f"sealer-{number}: took the sealer lock at "
        + (", ".join(f"{at:+.1f} s" for at in times) or "no time")
        + " from the kill"
        for number, times in takes.items()
    ]
    problems = []
    if timeline.sealer_killed:
        killed, at = timeline.sealer_killed
        spare = [
            (number, taken)
            for number, times in takes.items()
            for taken in times
            if number != killed and taken > at
        ]
        if spare:
            number, taken = min(spare, key=lambda pair: pair[1])
            lines.append(
                f"hand-over: sealer-{killed} killed at {at:+.1f} s, sealer-{number} took the lock"
                f" {taken - at:.1f} s later"
            )
        else:
            problems.append(f"no spare took the sealer lock after sealer-{killed} was killed")
    return lines, problems


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def _ports(text: str) -> list[int]:
    return [int(port) for port in text.split(",")]


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
