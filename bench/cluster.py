"""A PostgreSQL primary and synchronous standby of your own, under var/cluster/, for drills.

With this machine's PostgreSQL server binaries (`pg_config --bindir`: initdb, pg_ctl,
pg_basebackup), two nodes on 127.0.0.1 only, trust authentication, small memory settings:

    node1  127.0.0.1:5433  the primary at first
    node2  127.0.0.1:5434  its synchronous standby (streaming replication, a replication
                           slot, application_name node2 in synchronous_standby_names)
    wal_archive/           every WAL segment the primary completes (archive_command refuses
                           to overwrite a different file), for point-in-time restore

    python bench/cluster.py start            # creates what is missing, starts what is stopped,
                                             # prints DATABASE_URL (make cluster)
    python bench/cluster.py status           # roles, replication, archive  [--json]
    python bench/cluster.py stop             # both, cleanly: the primary first (make cluster-stop)
    python bench/cluster.py kill-primary     # pg_ctl stop -m immediate: "the server died"
    python bench/cluster.py promote          # the standby becomes the primary, and stops
                                             # waiting for a standby it no longer has
    python bench/cluster.py rebuild-standby  # the old primary's directory becomes a standby
                                             # of the new primary (pg_basebackup), synchronous
    python bench/cluster.py destroy          # stops both and deletes var/cluster/
    python bench/cluster.py url              # prints DATABASE_URL

    --dir DIR, --ports 5433,5434, --database NAME (or CLUSTER_DIR, CLUSTER_PORTS); the ports
    and database are kept in DIR/cluster.json, so later commands need only --dir.

The app reaches whichever node is the primary through one libpq multi-host URL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5433,127.0.0.1:5434/signposting?target_session_attrs=read-write

After `promote` the new primary runs with no synchronous standby (commits would otherwise
wait for ever for one that is gone) until `rebuild-standby` attaches the old primary again.
docs/operations/database-cluster.md has the whole story.

Running as root (as in CI), the servers run as the `postgres` user (CLUSTER_RUN_AS), which
must be able to reach DIR: initdb and postgres refuse to run as root. Importable: the
failover drill drives a Cluster object (start, kill_primary, promote, database_url...).
"""

import argparse
import json
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "cluster"
DEFAULT_PORTS = (5433, 5434)
DEFAULT_DATABASE = "signposting"
SUPERUSER = "postgres"
NODE_NAMES = ("node1", "node2")
STATE_FILE = "cluster.json"
WAIT_SECONDS = 60

# Small on purpose: the machine is shared (2 cores). The standby replays as fast as the
# primary writes; hot_standby_feedback keeps long reads on it (reports, batch jobs) from
# being cancelled by the primary's vacuum.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "60",
    "shared_buffers": "'128MB'",
    "work_mem": "'4MB'",
    "maintenance_work_mem": "'64MB'",
    "effective_cache_size": "'512MB'",
    "max_worker_processes": "4",
    "max_parallel_workers": "2",
    "max_parallel_workers_per_gather": "1",
    "max_wal_size": "'512MB'",
    "min_wal_size": "'64MB'",
    "wal_level": "replica",
    "max_wal_senders": "4",
    "max_replication_slots": "4",
    # A standby that is gone for good must not keep WAL on the primary's disk for ever.
    "max_slot_wal_keep_size": "'1GB'",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "synchronous_commit": "on",
    "archive_mode": "on",
    # A quiet primary still ships its last writes to the archive within a minute.
    "archive_timeout": "60",
    "fsync": "on",
    "full_page_writes": "on",
    "log_line_prefix": "'%m [%p] %q%a '",
    "log_checkpoints": "on",
}


def archive_command(archive: Path) -> str:
    """cp into the archive under a temporary name, then rename: a half-copied segment is
    never seen under its own name. A segment already there is never overwritten: the same
    bytes again (a retry after a crash) succeed, anything else fails and archiving stops
    until an operator looks (a second cluster writing into the same archive, say)."""
    target = shlex.quote(str(archive)) + "/%f"
    return (
        f"if [ -f {target} ]; then cmp -s %p {target}; "
        f"else cp %p {target}.tmp && mv {target}.tmp {target}; fi"
    )


class ClusterError(RuntimeError):
    """Something about the cluster is not as it must be; the message says what to do."""


@dataclass(frozen=True)
class Node:
    name: str
    port: int
    datadir: Path
    log: Path

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={dbname}"


@dataclass
class State:
    """DIR/cluster.json: what was chosen at creation, and which node is the primary now."""

    ports: list[int]
    database: str
    primary: str = NODE_NAMES[0]
    # Nodes that were the primary before a failover: never started again as they are (two
    # primaries), only rebuilt as a standby.
    stale: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NodeStatus:
    name: str
    port: int
    exists: bool
    running: bool
    role: str  # primary, standby, stale (an old primary), stopped, missing
    replication: list[dict[str, Any]]  # a primary's standbys (pg_stat_replication)
    archived: int | None = None  # a primary's archived segments (pg_stat_archiver)
    archive_failed: int | None = None


class Cluster:
    """A primary and a synchronous standby under `base`; see the module's docstring."""

    def __init__(
        self,
        base: Path | str = DEFAULT_DIR,
        *,
        ports: Sequence[int] | None = None,
        database: str | None = None,
        bindir: Path | str | None = None,
        run_as: str | None = None,
        quiet: bool = False,
    ) -> None:
        self.base = Path(base).resolve()
        self.archive = self.base / "wal_archive"
        self.state_path = self.base / STATE_FILE
        saved = self._read_state()
        if saved and ports and list(ports) != saved.ports:
            raise ClusterError(
                f"{self.base} was made with ports {saved.ports}: destroy it first to change them"
            )
        if saved and database and database != saved.database:
            raise ClusterError(f"{self.base} was made with the database {saved.database!r}")
        self.state = saved or State(
            ports=list(ports or DEFAULT_PORTS), database=database or DEFAULT_DATABASE
        )
        if len(self.state.ports) != 2 or len(set(self.state.ports)) != 2:
            raise ClusterError("A cluster needs two different ports")
        self.bindir = Path(bindir) if bindir else server_bindir()
        self.run_as = run_as or (
            os.environ.get("CLUSTER_RUN_AS", "postgres") if os.geteuid() == 0 else None
        )
        if self.run_as and not server_user_exists(self.run_as):
            raise ClusterError(
                f"Running as root, the servers run as {self.run_as!r}, which does not exist: "
                "install PostgreSQL's server package, or set CLUSTER_RUN_AS"
            )
        self.quiet = quiet
        self.nodes = tuple(
            Node(name, port, self.base / name, self.base / f"{name}.log")
            for name, port in zip(NODE_NAMES, self.state.ports, strict=True)
        )

    # --- What the drills and the command line use -----------------------------------------

    @property
    def database(self) -> str:
        return self.state.database

    def database_url(self, *, database: str | None = None) -> str:
        """One URL for the app: libpq tries both nodes and keeps the one that takes writes."""
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        name = database or self.database
        return f"postgres://{SUPERUSER}@{hosts}/{name}?target_session_attrs=read-write"

    def replica_url(self, *, database: str | None = None) -> str:
        """For DATABASE_REPLICA_URL: a standby if there is one, else the primary."""
        order = sorted(self.nodes, key=lambda node: node.name == self.state.primary)
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in order)
        name = database or self.database
        return f"postgres://{SUPERUSER}@{hosts}/{name}?target_session_attrs=prefer-standby"

    def primary(self) -> Node:
        return self._node(self.state.primary)

    def standby(self) -> Node:
        return next(node for node in self.nodes if node.name != self.state.primary)

    def start(self) -> str:
        """Creates what is missing and starts what is stopped; returns DATABASE_URL."""
        self._prepare_base()
        primary, standby = self.primary(), self.standby()
        if not self._initialised(primary):
            if self._initialised(standby):
                raise ClusterError(f"{primary.datadir} is missing but {standby.datadir} is not")
            self._create_primary(primary)
        elif not self.running(primary):
            self._say(f"Starting {primary.name} (primary) on port {primary.port}")
            self.pg_ctl("start", primary)
        self._create_database(primary)
        if standby.name in self.state.stale:
            self._say(
                f"{standby.name} was the primary before a failover: it is left stopped. "
                "`python bench/cluster.py rebuild-standby` makes it a standby again."
            )
        else:
            if not self._initialised(standby):
                self._create_standby(standby, primary=primary)
            elif not self.running(standby):
                self._say(f"Starting {standby.name} (standby) on port {standby.port}")
                self.pg_ctl("start", standby)
            self._make_synchronous(primary=primary, standby=standby)
        return self.database_url()

    def stop(self) -> None:
        """Stops both (fast: sessions are ended, nothing is lost), the primary first so that
        the standby receives everything up to the primary's shutdown checkpoint."""
        for node in sorted(self.nodes, key=lambda node: node.name != self.state.primary):
            if self.running(node):
                self._say(f"Stopping {node.name} on port {node.port}")
                self.pg_ctl("stop", node, "-m", "fast")

    def kill_primary(self) -> Node:
        """The primary stops dead (pg_ctl stop -m immediate: no checkpoint, sessions cut)."""
        primary = self.primary()
        if not self.running(primary):
            raise ClusterError(f"{primary.name}, the primary, is not running")
        self._say(f"Killing {primary.name} (primary) on port {primary.port}")
        self.pg_ctl("stop", primary, "-m", "immediate")
        return primary

    def promote(self, *, fence: bool = True) -> Node:
        """The standby becomes the primary. A primary still running is stopped first (two
        primaries would take writes apart). The new primary then stops waiting for a
        synchronous standby: it has none until `rebuild_standby`."""
        old, new = self.primary(), self.standby()
        if new.name in self.state.stale or not self._is_standby(new):
            raise ClusterError(f"{new.name} is no standby: there is nothing to promote")
        if not self.running(new):
            raise ClusterError(f"{new.name}, the standby, is not running")
        if self.running(old):
            if not fence:
                raise ClusterError(f"{old.name}, the primary, is still running")
            self._say(f"Stopping {old.name}, the old primary, before promoting {new.name}")
            self.pg_ctl("stop", old, "-m", "fast")
        self._say(f"Promoting {new.name} on port {new.port}")
        self.pg_ctl("promote", new)
        self.wait(lambda: not self.in_recovery(new), f"{new.name} to leave recovery")
        # Inherited from the old primary (pg_basebackup copies its settings): a commit would
        # wait for ever for a standby that is not there.
        self._sql(new, "ALTER SYSTEM SET synchronous_standby_names = ''")
        self._sql(new, "SELECT pg_reload_conf()")
        self.state.primary, self.state.stale = new.name, sorted({*self.state.stale, old.name})
        self._write_state()
        self._say(
            f"{new.name} is the primary, with no synchronous standby until "
            "`python bench/cluster.py rebuild-standby`"
        )
        return new

    def rebuild_standby(self) -> Node:
        """The other node's directory (an old primary's, or one missing) is made again as a
        standby of the primary with pg_basebackup, and made synchronous."""
        primary, standby = self.primary(), self.standby()
        if not self.running(primary):
            raise ClusterError(f"{primary.name}, the primary, is not running: `start` it first")
        if self.running(standby):
            if standby.name not in self.state.stale and self._is_standby(standby):
                self._say(f"{standby.name} is a standby already")
                self._make_synchronous(primary=primary, standby=standby)
                return standby
            self.pg_ctl("stop", standby, "-m", "fast")
        self._remove_datadir(standby)
        self.state.stale = [name for name in self.state.stale if name != standby.name]
        self._write_state()
        self._create_standby(standby, primary=primary)
        self._make_synchronous(primary=primary, standby=standby)
        return standby

    def destroy(self) -> None:
        """Stops both and deletes the cluster's directory."""
        if not self.base.exists():
            return
        if not self.state_path.exists() and any(self.base.iterdir()):
            raise ClusterError(f"{self.base} holds no {STATE_FILE}: not deleting it")
        for node in self.nodes:
            if self.running(node):
                self.pg_ctl("stop", node, "-m", "immediate")
        shutil.rmtree(self.base)
        self._say(f"Deleted {self.base}")

    def status(self) -> list[NodeStatus]:
        found = []
        for node in self.nodes:
            exists, running = self._initialised(node), self.running(node)
            replication: list[dict[str, Any]] = []
            archived = archive_failed = None
            if not exists:
                role = "missing"
            elif not running:
                role = "stale" if node.name in self.state.stale else "stopped"
            elif self.in_recovery(node):
                role = "standby"
            else:
                role = "primary"
                replication = self._rows(
                    node,
                    "SELECT application_name, state, sync_state,"
                    " coalesce(extract(epoch FROM replay_lag), 0)::float AS replay_lag_seconds"
                    " FROM pg_stat_replication ORDER BY application_name",
                )
                archived, archive_failed = self._rows(
                    node, "SELECT archived_count, failed_count FROM pg_stat_archiver"
                )[0].values()
            found.append(
                NodeStatus(
                    name=node.name,
                    port=node.port,
                    exists=exists,
                    running=running,
                    role=role,
                    replication=replication,
                    archived=archived,
                    archive_failed=archive_failed,
                )
            )
        return found

    def base_backup(self, target: Path) -> None:
        """A base backup of the primary into `target` (a plain data directory), with the WAL
        it needs to be consistent; the archive holds what comes after."""
        primary = self.primary()
        self.run(
            self.binary("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            SUPERUSER,
            "-D",
            str(target),
            "-X",
            "stream",
            "-c",
            "fast",
        )

    def sql(
        self, node: Node, statement: str, params: Sequence[Any] = (), *, dbname: str | None = None
    ) -> list[tuple]:
        """Runs one statement on a node (autocommit) and returns its rows."""
        rows = self._rows(node, statement, params, dbname=dbname)
        return [tuple(row.values()) for row in rows]

    # --- Creating nodes ----------------------------------------------------------------------

    def _create_primary(self, node: Node) -> None:
        self._say(f"Creating {node.name} (primary) on port {node.port} in {node.datadir}")
        self._check_port_free(node.port)
        self.run(
            self.binary("initdb"),
            "-D",
            str(node.datadir),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        settings = {**SERVER_SETTINGS, "archive_command": _quoted(archive_command(self.archive))}
        with (node.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# bench/cluster.py: every node's settings\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
            conf.write("include_if_exists = 'node.conf'\n")
        # Trust, and only over loopback: no Unix socket, no other address.
        (node.datadir / "pg_hba.conf").write_text(
            "# bench/cluster.py: loopback only, trusted (a drill machine, never production)\n"
            "host all all 127.0.0.1/32 trust\n"
            "host replication all 127.0.0.1/32 trust\n"
        )
        self._write_node_conf(node)
        self.pg_ctl("start", node)
        self.state.primary = node.name
        self._write_state()

    def _create_standby(self, node: Node, *, primary: Node) -> None:
        self._say(f"Creating {node.name} (standby of {primary.name}) on port {node.port}")
        self._check_port_free(node.port)
        # The slot keeps the primary's WAL until this standby has it (up to
        # max_slot_wal_keep_size); one left from an earlier standby here is replaced.
        self._sql(
            primary,
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
            " WHERE slot_name = %s AND NOT active",
            (node.name,),
        )
        self.run(
            self.binary("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            SUPERUSER,
            "-D",
            str(node.datadir),
            "-X",
            "stream",
            "-C",
            "-S",
            node.name,
            "-c",
            "fast",
        )
        conninfo = (
            f"host=127.0.0.1 port={primary.port} user={SUPERUSER} application_name={node.name}"
        )
        with (node.datadir / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                "# bench/cluster.py: a standby of the primary\n"
                f"primary_conninfo = '{conninfo}'\n"
                f"primary_slot_name = '{node.name}'\n"
                # It has no standby of its own (until it is promoted and one is rebuilt).
                "synchronous_standby_names = ''\n"
            )
        (node.datadir / "standby.signal").touch()
        self.own(node.datadir / "standby.signal")
        self._write_node_conf(node)
        self.pg_ctl("start", node)

    def _write_node_conf(self, node: Node) -> None:
        (node.datadir / "node.conf").write_text(
            f"# bench/cluster.py: this node's own settings\nport = {node.port}\n"
            f"cluster_name = '{node.name}'\n"
        )
        self.own(node.datadir / "node.conf")

    def _make_synchronous(self, *, primary: Node, standby: Node) -> None:
        """The primary waits for this standby at every commit (synchronous_commit = on)."""
        names = self.sql(primary, "SHOW synchronous_standby_names")[0][0]
        if names != standby.name:
            self._sql(primary, f"ALTER SYSTEM SET synchronous_standby_names = '{standby.name}'")
            self._sql(primary, "SELECT pg_reload_conf()")
        self.wait(
            lambda: self._sync_state(primary, standby) == "sync",
            f"{standby.name} to stream synchronously from {primary.name}",
        )
        self._say(
            f"{primary.name} (primary, port {primary.port}) -> {standby.name} "
            f"(synchronous standby, port {standby.port})"
        )

    def _sync_state(self, primary: Node, standby: Node) -> str | None:
        rows = self.sql(
            primary,
            "SELECT sync_state FROM pg_stat_replication"
            " WHERE application_name = %s AND state = 'streaming'",
            (standby.name,),
        )
        return rows[0][0] if rows else None

    def _create_database(self, primary: Node) -> None:
        exists = self.sql(primary, "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
        if not exists:
            self._sql(primary, f'CREATE DATABASE "{_identifier(self.database)}"')

    # --- The servers -------------------------------------------------------------------------

    def pg_ctl(self, action: str, node: Node, *extra: str) -> None:
        command = [self.binary("pg_ctl"), action, "-D", str(node.datadir), "-w"]
        command += ["-t", str(WAIT_SECONDS)]
        if action == "start":
            command += ["-l", str(node.log)]
        self.run(*command, *extra)

    def running(self, node: Node) -> bool:
        if not self._initialised(node):
            return False
        result = self.run(
            self.binary("pg_ctl"), "status", "-D", str(node.datadir), check=False, quiet=True
        )
        return result.returncode == 0

    def _initialised(self, node: Node) -> bool:
        return (node.datadir / "PG_VERSION").exists()

    def _is_standby(self, node: Node) -> bool:
        return (node.datadir / "standby.signal").exists()

    def in_recovery(self, node: Node) -> bool:
        return bool(self.sql(node, "SELECT pg_is_in_recovery()")[0][0])

    def _rows(
        self, node: Node, statement: str, params: Sequence[Any] = (), *, dbname: str | None = None
    ) -> list[dict]:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(
            node.dsn(dbname or "postgres"), autocommit=True, connect_timeout=5, row_factory=dict_row
        ) as connection:
            cursor = connection.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def _sql(self, node: Node, statement: str, params: Sequence[Any] = ()) -> None:
        self._rows(node, statement, params)

    def wait(self, ready, what: str, seconds: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if ready():
                    return
            except Exception:  # noqa: S110 (not up yet: asked again until the deadline)
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"Gave up waiting {seconds:.0f} s for {what}")
            time.sleep(0.2)

    # --- Files, users and commands -----------------------------------------------------------

    def _prepare_base(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.archive.mkdir(exist_ok=True)
        if self.run_as:
            for path in (self.base, self.archive):
                self.own(path)
            probe = self.run("test", "-w", str(self.archive), check=False, quiet=True)
            if probe.returncode != 0:
                raise ClusterError(
                    f"The {self.run_as} user cannot write to {self.base}: every directory "
                    "above it must be open to it (chmod o+x), or choose another --dir"
                )
        if not self.state_path.exists():
            self._write_state()

    def own(self, path: Path) -> None:
        """Hands a file or directory we made to the server user (when we are root)."""
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            os.chown(path, account.pw_uid, account.pw_gid)

    def _remove_datadir(self, node: Node) -> None:
        if node.datadir.exists():
            self._say(f"Removing {node.datadir}")
            shutil.rmtree(node.datadir)

    def _read_state(self) -> State | None:
        if not self.state_path.exists():
            return None
        return State(**json.loads(self.state_path.read_text()))

    def _write_state(self) -> None:
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self.state), indent=1) + "\n")
        temporary.replace(self.state_path)

    def _node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def binary(self, name: str) -> str:
        path = self.bindir / name
        if not path.exists():
            raise ClusterError(f"No {path}: install the PostgreSQL server (postgresql-15)")
        return str(path)

    def _check_port_free(self, port: int) -> None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise ClusterError(f"Port {port} is in use: choose others with --ports")

    def run(self, *command: str, check: bool = True, quiet: bool = False):
        """Runs a command, as the server user when we are root; raises ClusterError if it fails."""
        if self.run_as:
            command = ("runuser", "-u", self.run_as, "--", *command)
        result = subprocess.run(command, cwd=self.base, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise ClusterError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}".rstrip()
            )
        return result

    def _say(self, line: str) -> None:
        if not self.quiet:
            print(line, flush=True)


def server_bindir() -> Path:
    """The server binaries: PG_BINDIR, else `pg_config --bindir`, else the newest installed."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if found.returncode == 0 and (Path(found.stdout.strip()) / "initdb").exists():
            return Path(found.stdout.strip())
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return installed[-1].parent if installed else Path("/usr/lib/postgresql/bin")


def binaries_missing(bindir: Path | None = None) -> list[str]:
    """The server binaries a cluster needs that are not installed (empty: all there)."""
    bindir = bindir or server_bindir()
    return [name for name in ("initdb", "pg_ctl", "pg_basebackup") if not (bindir / name).exists()]


def server_user_exists(name: str = "postgres") -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ClusterError(f"{name!r}: a database name of letters, digits and _ only")
    return name


# --- Command line --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command",
        choices=[
            "start",
            "stop",
            "status",
            "kill-primary",
            "promote",
            "rebuild-standby",
            "destroy",
            "url",
        ],
    )
    parser.add_argument("--dir", default=os.environ.get("CLUSTER_DIR", str(DEFAULT_DIR)))
    parser.add_argument(
        "--ports",
        default=os.environ.get("CLUSTER_PORTS", ""),
        help="primary,standby (default 5433,5434)",
    )
    parser.add_argument("--database", default=None, help="default signposting")
    parser.add_argument("--json", action="store_true", help="status as JSON")
    args = parser.parse_args(argv)
    ports = [int(port) for port in args.ports.split(",")] if args.ports else None
    try:
        cluster = Cluster(args.dir, ports=ports, database=args.database)
        return _command(cluster, args)
    except ClusterError as error:
        print(f"cluster: {error}", file=sys.stderr)
        return 1


def _command(cluster: Cluster, args: argparse.Namespace) -> int:
    if args.command == "start":
        url = cluster.start()
        print(f"DATABASE_URL={url}")
        print(f"DATABASE_REPLICA_URL={cluster.replica_url()}")
        print(
            "Then, once: DATABASE_URL='...' .venv/bin/python manage.py migrate "
            "(docs/operations/database-cluster.md)"
        )
    elif args.command == "url":
        print(cluster.database_url())
    elif args.command == "stop":
        cluster.stop()
    elif args.command == "kill-primary":
        cluster.kill_primary()
    elif args.command == "promote":
        cluster.promote()
    elif args.command == "rebuild-standby":
        cluster.rebuild_standby()
    elif args.command == "destroy":
        cluster.destroy()
    elif args.command == "status":
        found = cluster.status()
        if args.json:
            print(json.dumps([asdict(node) for node in found], indent=1))
        else:
            _print_status(cluster, found)
    return 0


def _print_status(cluster: Cluster, found: list[NodeStatus]) -> None:
    print(f"{cluster.base} (database {cluster.database})")
    for node in found:
        print(f"  {node.name}  127.0.0.1:{node.port}  {node.role}")
        for standby in node.replication:
            print(
                f"    -> {standby['application_name']}: {standby['state']},"
                f" {standby['sync_state']}, replay lag {standby['replay_lag_seconds']:.3f} s"
            )
        if node.archived is not None:
            print(f"    WAL archived: {node.archived} segments, {node.archive_failed} failed")
    print(f"DATABASE_URL={cluster.database_url()}")


if __name__ == "__main__":
    sys.exit(main())
