"""Checkpoints of the audit chain's head, kept off the host: the JSON `audit_checkpoint`
prints and `verify_audit --checkpoint` reads, and the directory of them `nightly` keeps.

The file's "sequence" is the head's chain position (AuditSeal.position). It keeps the name
it had when each event was its own position, so checkpoints taken before the chain was
sealed after commit still read, and still hold: those events' seals kept their positions."""

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from audit.verify import Checkpoint

# One file a run; named by the UTC time taken, so that names sort in time order (local
# time repeats an hour each October).
FILE_PATTERN = "checkpoint-*.json"


class CheckpointUnreadable(ValueError):
    """A checkpoint file that cannot be read, or is not a checkpoint."""


def checkpoint_json(*, head: Checkpoint, taken_at: datetime) -> str:
    return json.dumps(
        {"sequence": head.position, "hash": head.hash, "taken_at": taken_at.isoformat()}
    )


def checkpoint_read(*, path: Path) -> Checkpoint:
    try:
        data = json.loads(path.read_text())
        return Checkpoint(position=int(data["sequence"]), hash=str(data["hash"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointUnreadable(str(error)) from None


def checkpoint_write(*, directory: Path, head: Checkpoint, taken_at: datetime) -> Path:
    """Writes the head to a new file in `directory` (made if missing), atomically: written
    and synced under a temporary name, then renamed, so that whatever ships the directory
    off the host never sees half a checkpoint. Returns the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"checkpoint-{taken_at.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}.json"
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(checkpoint_json(head=head, taken_at=taken_at) + "\n")
            file.flush()
            os.fsync(file.fileno())
        # A head's sequence and hash are no secret; the shipping job may run as another user.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    # The rename itself survives a crash only once the directory is synced.
    directory_descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_descriptor)
    finally:
        os.close(directory_descriptor)
    return path


def checkpoint_latest(*, directory: Path) -> Path | None:
    """The newest checkpoint file in `directory`, or None if it holds none (or is missing)."""
    files = sorted(directory.glob(FILE_PATTERN)) if directory.is_dir() else []
    return files[-1] if files else None
