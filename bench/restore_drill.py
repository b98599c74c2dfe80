"""Restore drill: a base backup plus the archived WAL, restored into a fresh data directory
to a chosen point in time, and the audit trail checked there (issue 18, part 5).

On a cluster of its own (bench/cluster.py: a primary, its synchronous standby and the WAL
archive, under var/restore-drill/ on ports 5435 and 5436), migrated:

1. some audited events, then a base backup (pg_basebackup), timed and measured;
2. N audited events through the app's own `audit.services.record`, sealed, and 20 more
   left waiting for their seals (as some always are), then the point in time (the
   primary's clock), a checkpoint of the chain's head at that point, a pause, and N
   events more, then a checkpoint of the head after them (`manage.py audit_checkpoint`, as
   the nightly run keeps them off the host);
3. the base backup copied into a fresh data directory, started on port 5437 with
   `restore_command` reading the archive, `recovery_target_time` the point and
   `recovery_target_action = 'promote'`, until it takes writes;
4. checks on the restored database: every event committed before the point is there and
   none after; `manage.py seal_audit` seals the 20 that waited, each at the position and
   with the hash the original gave it; `manage.py verify_audit` passes, and passes against
   the checkpoint taken at the point; against the checkpoint taken after it, it fails,
   naming the trail as cut short.

Prints the figures (the base backup's time and size beside a plain copy of the same files,
the WAL replayed, the restore's time) and, last, `restore drill: passed` or what failed.

    .venv/bin/python bench/restore_drill.py               # about a minute
    .venv/bin/python bench/restore_drill.py --events 1000 --keep

docs/operations/backup-and-restore.md is the procedure this drill practises.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cluster import Cluster, ClusterError, Node  # noqa: E402

DEFAULT_DIR = ROOT / "var" / "restore-drill"
# Events committed just before the point whose seals come after it (sealed on the restored
# server by seal_audit).
LATE = 20
SECRET_KEY = "restore-drill-throwaway-key"  # noqa: S105 (a drill database, thrown away)


class DrillFailed(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=str(DEFAULT_DIR))
    parser.add_argument("--ports", default="5435,5436", help="the drill cluster's two nodes")
    parser.add_argument("--restore-port", type=int, default=5437)
    parser.add_argument("--events", type=int, default=200, help="before and after the point")
    parser.add_argument("--keep", action="store_true", help="leave the servers and files")
    args = parser.parse_args()
    base = Path(args.dir).resolve()
    try:
        figures = drill(
            base=base,
            ports=[int(port) for port in args.ports.split(",")],
            restore_port=args.restore_port,
            events=args.events,
            keep=args.keep,
        )
    except (DrillFailed, ClusterError, subprocess.CalledProcessError) as failure:
        print(f"restore drill: FAILED: {failure}")
        return 1
    for line in figures:
        print(line)
    print("restore drill: passed")
    return 0


def drill(*, base: Path, ports: list[int], restore_port: int, events: int, keep: bool) -> list:
    if (base / "cluster").exists():
        Cluster(base / "cluster").destroy()  # the drill's own, left by a run before
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    cluster = Cluster(base / "cluster", ports=ports, database="signposting")
    # The server user (when we are root) writes the backup and the restored copy here.
    base.chmod(0o755)
    cluster.own(base)
    backup = base / "base-backup"
    restored = Node("restored", restore_port, base / "restored", base / "restored.log")
    try:
        return _drill(cluster, backup=backup, restored=restored, base=base, events=events)
    finally:
        if not keep:
            if cluster.running(restored):
                cluster.pg_ctl("stop", restored, "-m", "immediate")
            cluster.destroy()
            shutil.rmtree(base, ignore_errors=True)


def _drill(cluster: Cluster, *, backup: Path, restored: Node, base: Path, events: int) -> list:
    url = cluster.start()
    _say(f"Cluster up: {url}")
    manage(url, "migrate", "--noinput")
    app = App(url)
    run = uuid.uuid4().hex[:12]
    app.record_events(run=run, phase="history", count=20)
    app.seal(url)

    _say("Base backup (pg_basebackup)...")
    started = time.monotonic()
    cluster.base_backup(backup)
    backup_seconds = time.monotonic() - started
    backup_bytes = _size(backup)
    # The reference: the same files copied as files (no server, no WAL streamed with them).
    started = time.monotonic()
    cluster.run("cp", "-a", str(backup), str(base / "plain-copy"))
    copy_seconds = time.monotonic() - started
    shutil.rmtree(base / "plain-copy")

    app.record_events(run=run, phase="before", count=events)
    # The chain is sealed after commit (`seal_audit`, docs/decisions/0010): the seals of
    # these events commit before the point too...
    app.seal(url)
    # ...but not those of the last few, as in life: a restore to a point finds them in the
    # sealer's queue, and seal_audit on the restored server seals them.
    app.record_events(run=run, phase="late", count=LATE)
    point = cluster.sql(cluster.primary(), "SELECT clock_timestamp()")[0][0]
    at_point = base / "checkpoint-at-point.json"
    at_point.write_text(manage(url, "audit_checkpoint"))
    time.sleep(1.0)  # nothing of ours commits between the point and a second after it
    app.record_events(run=run, phase="after", count=events)
    app.seal(url)
    after_point = base / "checkpoint-after-point.json"
    after_point.write_text(manage(url, "audit_checkpoint"))
    segments = _archive_everything(cluster)
    _say(f"Point in time {point.isoformat()}; {segments} WAL segments archived")

    _say("Restoring the base backup and the archive to the point...")
    started = time.monotonic()
    cluster.run("cp", "-a", str(backup), str(restored.datadir))
    copy_back_seconds = time.monotonic() - started
    _configure_recovery(cluster, restored, point=point.isoformat())
    cluster.pg_ctl("start", restored)
    cluster.wait(lambda: not cluster.in_recovery(restored), "the restored server to promote")
    restore_seconds = time.monotonic() - started
    replayed = _replayed(cluster, restored, backup=backup)

    restored_url = f"postgres://postgres@127.0.0.1:{restored.port}/signposting"
    found = _drill_events(cluster, restored, run=run)
    if found.get("before") != events or found.get("history") != 20:
        raise DrillFailed(f"events committed before the point are missing: {found}")
    if found.get("after"):
        raise DrillFailed(f"{found['after']} events committed after the point came back")
    if found.get("late") != LATE:
        raise DrillFailed(f"events committed before the point, unsealed, are missing: {found}")
    sealed_now = manage(restored_url, "seal_audit").strip()
    if sealed_now != f"Sealed {LATE} event(s).":
        raise DrillFailed(f"seal_audit on the restored server: {sealed_now!r}")
    # Sealed where the original sealed them: the restored chain is the original's, cut short.
    head, head_hash = cluster.sql(
        restored,
        "SELECT position, hash FROM audit_auditseal ORDER BY position DESC LIMIT 1",
        dbname="signposting",
    )[0]
    original = cluster.sql(
        cluster.primary(),
        "SELECT hash FROM audit_auditseal WHERE position = %s",
        (head,),
        dbname="signposting",
    )
    if original != [(head_hash,)]:
        raise DrillFailed(f"the restored seal at position {head} is not the original's")
    verified = manage(restored_url, "verify_audit").strip()
    manage(restored_url, "verify_audit", "--checkpoint", str(at_point))
    cut = manage(
        restored_url, "verify_audit", "--checkpoint", str(after_point), expect_failure=True
    )
    if "ends before checkpoint" not in cut:
        raise DrillFailed(f"the later checkpoint did not show the trail cut short: {cut}")
    after_sequence = json.loads(after_point.read_text())["sequence"]
    return [
        f"base backup: {backup_seconds:.1f} s, {backup_bytes / 2**20:.0f} MB"
        f" (the same files copied plainly: {copy_seconds:.1f} s;"
        f" ratio {backup_seconds / max(copy_seconds, 0.001):.1f})",
        f"WAL replayed: {replayed['bytes'] / 2**20:.1f} MB, {replayed['segments']} segments"
        " restored from the archive",
        f"restore: {restore_seconds:.1f} s from copying the base backup to taking writes"
        f" (of which the copy {copy_back_seconds:.1f} s)",
        f"events: {found.get('before', 0) + LATE} of {events + LATE} committed before the point"
        f" restored, {found.get('after', 0)} of {events} after it",
        f"seal_audit on the restored server: {LATE} of them committed before the point with"
        f" their seals after it, sealed now at positions up to {head}, each the original's",
        f"verify_audit on the restored trail: {verified}",
        f"verify_audit against the checkpoint taken after the point (sequence {after_sequence}):"
        f" fails as it must: {_broken_line(cut)}",
    ]


class App:
    """The app itself, through Django, against the cluster: audit.services.record writes the
    drill's events as any lookup's are written."""

    def __init__(self, url: str) -> None:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("SECRET_KEY", SECRET_KEY)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signposting.settings")
        import django

        django.setup()

    def seal(self, url: str) -> None:
        """Seals the events waiting for the chain, where a sealer does that after commit."""
        from django.core.management import get_commands

        if "seal_audit" in get_commands():
            manage(url, "seal_audit")

    def record_events(self, *, run: str, phase: str, count: int) -> None:
        from audit.models import Action
        from audit.services import record

        for number in range(count):
            # Each its own transaction, committed (and on the standby) before the next.
            record(
                request=None,
                action=Action.SEARCH,
                criteria={"drill": "restore"},
                detail={"drill": run, "phase": phase, "number": number},
                result_count=0,
            )


def manage(url: str, *command: str, expect_failure: bool = False) -> str:
    """A management command against `url`; its output (standard error too when it fails)."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", SECRET_KEY),
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if expect_failure:
        if result.returncode == 0:
            raise DrillFailed(f"manage.py {' '.join(command)} passed; it had to fail")
        return result.stderr + result.stdout
    if result.returncode != 0:
        raise DrillFailed(f"manage.py {' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def _archive_everything(cluster: Cluster) -> int:
    """Closes the WAL segment being written and waits for the archive to hold it, so that
    the archive reaches past the point in time; returns the segments archived."""
    primary = cluster.primary()
    segment = cluster.sql(primary, "SELECT pg_walfile_name(pg_switch_wal())")[0][0]
    cluster.wait(lambda: (cluster.archive / segment).exists(), f"the archive to receive {segment}")
    return len([path for path in cluster.archive.iterdir() if len(path.name) == 24])


def _configure_recovery(cluster: Cluster, node: Node, *, point: str) -> None:
    """The copied backup as a server of its own: its port, no archiving of its own (it
    must not write into the cluster's archive), no synchronous standby to wait for, the
    archive to restore from and the point to stop at."""
    archive = str(cluster.archive).replace("'", "''")
    with (node.datadir / "postgresql.auto.conf").open("a") as conf:
        conf.write(
            "# bench/restore_drill.py: a point-in-time restore\n"
            f'restore_command = \'cp "{archive}/%f" "%p"\'\n'
            f"recovery_target_time = '{point}'\n"
            "recovery_target_action = 'promote'\n"
            "synchronous_standby_names = ''\n"
            "archive_mode = 'off'\n"
        )
    (node.datadir / "node.conf").write_text(f"port = {node.port}\ncluster_name = '{node.name}'\n")
    (node.datadir / "recovery.signal").touch()
    for path in ("node.conf", "recovery.signal"):
        cluster.own(node.datadir / path)


def _replayed(cluster: Cluster, node: Node, *, backup: Path) -> dict:
    """WAL replayed: from the backup's start to where recovery ended, and the segments the
    server fetched from the archive (its log says each)."""
    label = (backup / "backup_label").read_text()
    start = label.split("START WAL LOCATION: ", 1)[1].split()[0]
    ended = cluster.sql(node, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (start,))
    fetched = node.log.read_text().count("restored log file")
    return {"bytes": float(ended[0][0]), "segments": fetched}


def _drill_events(cluster: Cluster, node: Node, *, run: str) -> dict[str, int]:
    rows = cluster.sql(
        node,
        "SELECT detail->>'phase', count(*) FROM audit_auditevent"
        " WHERE detail->>'drill' = %s GROUP BY 1",
        (run,),
        dbname="signposting",
    )
    return dict(rows)


def _broken_line(output: str) -> str:
    return next((line for line in output.splitlines() if "BROKEN" in line), output.strip())


def _size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
