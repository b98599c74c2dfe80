"""Checkpoint files: written whole or not at all, named so that the newest sorts last."""

import os
from datetime import UTC, datetime, timedelta

import pytest

from audit.checkpoints import (
    CheckpointUnreadable,
    checkpoint_latest,
    checkpoint_read,
    checkpoint_write,
)
from audit.verify import Checkpoint

HEAD = Checkpoint(position=42, hash="a" * 64)
TAKEN = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_a_written_checkpoint_reads_back_and_leaves_no_temporary_file(tmp_path):
    directory = tmp_path / "not-yet-made"
    path = checkpoint_write(directory=directory, head=HEAD, taken_at=TAKEN)
    assert path.name == "checkpoint-20261125T020000.000000Z.json"
    assert checkpoint_read(path=path) == HEAD
    assert os.listdir(directory) == [path.name]
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_a_write_that_fails_leaves_nothing_behind(tmp_path, monkeypatch):
    def rename_fails(*args):
        raise OSError("no space left on device")

    monkeypatch.setattr(os, "replace", rename_fails)
    with pytest.raises(OSError, match="no space"):
        checkpoint_write(directory=tmp_path, head=HEAD, taken_at=TAKEN)
    assert os.listdir(tmp_path) == []


def test_the_latest_checkpoint_is_the_newest_across_a_change_of_clocks(tmp_path):
    # 01:30 on 25 October 2026 happens twice in London; names are in UTC, so order holds.
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second = first + timedelta(hours=1)  # 01:30 GMT
    checkpoint_write(directory=tmp_path, head=HEAD, taken_at=second)
    checkpoint_write(directory=tmp_path, head=HEAD, taken_at=first)
    assert checkpoint_latest(directory=tmp_path).name == "checkpoint-20261025T013000.000000Z.json"


def test_no_checkpoint_yet_is_none(tmp_path):
    assert checkpoint_latest(directory=tmp_path / "missing") is None
    (tmp_path / ".checkpoint-half.tmp").write_text("{")
    assert checkpoint_latest(directory=tmp_path) is None


def test_a_file_that_is_not_a_checkpoint_is_unreadable(tmp_path):
    path = tmp_path / "checkpoint.json"
    path.write_text('{"sequence": "x"}')
    with pytest.raises(CheckpointUnreadable):
        checkpoint_read(path=path)
