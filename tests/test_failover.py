"""The failover drill, short (issue 18, part 4): bench/failover.py with a few practitioners
for a few seconds each side of the primary's death, on a cluster and two gunicorn instances
of its own (free ports, a directory of its own). Every lookup answered 200 keeps its audit
event on the new primary, the chain verifies, and the service is back within the limit.
About twenty seconds on a quiet machine; PostgreSQL only (its own replication)."""

import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench.cluster import Cluster
from tests.clusters import free_ports, skip_unless_a_cluster_can_run

ROOT = Path(__file__).resolve().parent.parent
MAX_UNAVAILABLE = 30
LAST_LINE = re.compile(
    r"^failover: lost (\d+) of (\d+) acknowledged lookups; unavailable ([\d.]+) s$"
)


def _run(command: list[str], *, timeout: float) -> tuple[int, str]:
    """Runs the drill; past the timeout it is stopped as Ctrl-C would (it cleans up)."""
    drill = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = drill.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        drill.send_signal(signal.SIGTERM)
        try:
            output, _ = drill.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            drill.kill()
            output, _ = drill.communicate()
        pytest.fail(f"The drill took longer than {timeout:.0f} s:\n{output[-3000:]}")
    return drill.returncode, output


def test_a_failover_under_load_loses_no_acknowledged_lookup():
    skip_unless_a_cluster_can_run()
    # Not pytest's tmp_path: as root the servers run as `postgres`, which must reach it.
    base = Path(tempfile.mkdtemp(prefix="signposting-failover-"))
    base.chmod(0o755)
    cluster_ports, http_ports = free_ports(2), free_ports(2)
    try:
        returncode, output = _run(
            [
                sys.executable,
                str(ROOT / "bench" / "failover.py"),
                *("--dir", str(base / "drill")),
                *("--ports", ",".join(map(str, cluster_ports))),
                *("--http-ports", ",".join(map(str, http_ports))),
                *("--users", "16", "--connections", "4", "--children", "200", "--workers", "1"),
                *("--seconds-before", "3", "--promote-after", "1", "--seconds-after", "4"),
                *("--max-unavailable", str(MAX_UNAVAILABLE)),
            ],
            timeout=240,
        )
    finally:
        if (base / "drill" / "cluster" / "cluster.json").exists():  # the drill died uncleanly
            Cluster(base / "drill" / "cluster", quiet=True).destroy()
        shutil.rmtree(base, ignore_errors=True)

    last = LAST_LINE.match(output.strip().splitlines()[-1])
    assert last, output[-3000:]
    lost, acknowledged, unavailable = int(last[1]), int(last[2]), float(last[3])
    assert lost == 0, output[-3000:]
    assert acknowledged > 0, output[-3000:]
    assert unavailable <= MAX_UNAVAILABLE, output[-3000:]
    assert "verify_audit: Audit chain intact" in output, output[-3000:]
    assert "PROBLEM" not in output and returncode == 0, output[-3000:]
