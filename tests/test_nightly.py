"""manage.py nightly: the purge, yesterday's misuse rules, the chain verified against the last
checkpoint and a new checkpoint, as one idempotent run that only one process runs at once."""

import fcntl
import io
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

import signposting.nightly
from accounts.models import Role
from audit.models import Action, Flag, Rule
from audit.services import record
from children.models import Child
from children.services import involvement_close
from signposting.management.commands.nightly import EXIT_ALREADY_RUNNING
from tests.audit.helpers import events_after, head_sequence, seal, seal_head_position, seals
from tests.factories import make_child, make_user

pytestmark = pytest.mark.django_db

NIGHT = datetime(2026, 11, 25, 2, 0)  # local time; yesterday is 24 November


@pytest.fixture(autouse=True)
def places(settings, tmp_path):
    """The checkpoints and the lock file of each test in a directory of its own."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.VAR_DIR = tmp_path / "var"
    return settings.AUDIT_CHECKPOINT_DIR


@pytest.fixture(autouse=True)
def rules(settings):
    # Only the day rule for fishing should fire: lookups are in working hours whenever made.
    settings.FLAG_WORKING_HOURS = (0, 24)
    settings.FLAG_WORKING_DAYS = (0, 1, 2, 3, 4, 5, 6)
    settings.FLAG_BANK_HOLIDAYS = False
    settings.FLAG_VOLUME_DAILY_LIMIT = 1000
    settings.FLAG_FISHING_MIN_SEARCHES = 3
    settings.FLAG_FISHING_MAX_VIEW_RATIO = 0.1


def at(monkeypatch, moment: datetime) -> None:
    aware = timezone.make_aware(moment)
    monkeypatch.setattr(timezone, "now", lambda: aware)


def expired_child() -> Child:
    child = make_child(started_on=date(2020, 1, 1))
    involvement_close(involvement=child.involvements.get(), ended_on=date(2024, 1, 1))
    return child


def fishing_yesterday(monkeypatch) -> None:
    user = make_user(role=Role.PRACTITIONER)
    for minute in range(3):
        at(monkeypatch, datetime(2026, 11, 24, 10, minute))
        record(
            request=None,
            actor=user,
            action=Action.SEARCH,
            criteria={"family_name": "x"},
            result_count=0,
        )


def run_nightly() -> tuple[int, str]:
    """The exit status and what the run printed, the events recorded before it sealed as
    `seal_audit --follow` would have sealed them by the night (PostgreSQL)."""
    seal()
    out = io.StringIO()
    try:
        call_command("nightly", stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def checkpoint_files(places) -> list[str]:
    return sorted(path.name for path in places.glob("*"))


def line_of(out: str, part: str) -> str:
    return next(line for line in out.splitlines() if line.strip().startswith(part))


def test_a_night_purges_flags_verifies_and_keeps_a_checkpoint(monkeypatch, places):
    child = expired_child()
    fishing_yesterday(monkeypatch)
    at(monkeypatch, NIGHT)
    start = head_sequence()
    code, out = run_nightly()
    assert code == 0, out
    assert "1 child record(s) deleted" in line_of(out, "purge")
    assert "1 new flag(s) for 2026-11-24" in line_of(out, "misuse rules")
    assert "chain intact" in line_of(out, "verify")
    if connection.vendor == "postgresql":
        assert "the trail has months up to 2027-02" in line_of(out, "audit partitions")
    else:
        assert "SQLite keeps the trail in single tables" in line_of(out, "audit partitions")
    assert "nothing due: no month before 2020-11" in line_of(out, "audit retention")
    assert "Nightly run: all 8 parts ok." in out
    assert not Child.objects.filter(pk=child.pk).exists()
    assert Flag.objects.get().rule == Rule.FISHING
    # The purge's own event is the run's only one: the run adds none of its own.
    assert list(events_after(start).values_list("action", flat=True)) == [Action.RECORD_PURGE]
    (name,) = checkpoint_files(places)
    assert name == "checkpoint-20261125T020000.000000Z.json"  # 02:00 in November is UTC
    kept = json.loads((places / name).read_text())
    # The chain's head as the run verified it: on PostgreSQL the purge's own event may
    # still wait for the sealer.
    assert kept["sequence"] == seal_head_position()
    assert kept["hash"] == seals().last().hash
    assert f"position {kept['sequence']} written to" in line_of(out, "checkpoint")


def test_a_second_run_changes_nothing_but_keeps_a_new_checkpoint(monkeypatch, places):
    expired_child()
    fishing_yesterday(monkeypatch)
    at(monkeypatch, NIGHT)
    run_nightly()
    first = checkpoint_files(places)
    at(monkeypatch, NIGHT.replace(minute=30))
    start = head_sequence()
    code, out = run_nightly()
    assert code == 0, out
    assert "0 child record(s) deleted" in line_of(out, "purge")
    assert "0 new flag(s)" in line_of(out, "misuse rules")
    assert f"against {first[0]}" in line_of(out, "verify")
    assert Flag.objects.count() == 1
    assert head_sequence() == start  # nothing purged, nothing recorded
    assert checkpoint_files(places) == [*first, "checkpoint-20261125T023000.000000Z.json"]


def test_a_failed_part_fails_the_run_and_the_others_still_run(monkeypatch, places):
    def purge_fails(**kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(signposting.nightly, "children_purge_expired", purge_fails)
    child = expired_child()
    code, out = run_nightly()
    assert code == 1
    assert "FAILED  failed: RuntimeError: the disk is full" in line_of(out, "purge")
    assert " ok " in line_of(out, "misuse rules")
    assert "chain intact" in line_of(out, "verify")
    assert " ok " in line_of(out, "checkpoint")
    assert "1 of 8 parts failed (purge)" in out
    assert Child.objects.filter(pk=child.pk).exists()
    assert len(checkpoint_files(places)) == 1


def test_a_chain_cut_since_the_last_checkpoint_fails_and_gets_no_new_checkpoint(places):
    make_user(role=Role.PRACTITIONER)  # an event, so the trail is not empty
    places.mkdir()
    cut = places / "checkpoint-20261124T020000.000000Z.json"
    seal()
    cut.write_text(json.dumps({"sequence": seal_head_position() + 3, "hash": "f" * 64}))
    code, out = run_nightly()
    assert code == 1
    assert "chain BROKEN" in line_of(out, "verify")
    assert "seals were removed" in line_of(out, "verify")
    assert "FAILED  not written: the chain did not verify" in line_of(out, "checkpoint")
    assert "2 of 8 parts failed (verify, checkpoint)" in out
    assert checkpoint_files(places) == [cut.name]


def test_an_unreadable_last_checkpoint_fails_the_verification(places):
    places.mkdir()
    (places / "checkpoint-20261124T020000.000000Z.json").write_text("not json")
    code, out = run_nightly()
    assert code == 1
    assert "cannot read the last checkpoint" in line_of(out, "verify")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the lock file is SQLite's lock")
def test_on_sqlite_a_second_run_is_refused_while_one_holds_the_lock_file(settings):
    child = expired_child()
    settings.VAR_DIR.mkdir()
    with (settings.VAR_DIR / "nightly.lock").open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, out = run_nightly()
    assert code == EXIT_ALREADY_RUNNING
    assert "another nightly run holds" in out
    assert Child.objects.filter(pk=child.pk).exists()  # nothing ran
    assert run_nightly()[0] == 0  # the lock is free again once its holder lets go


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the lock file is SQLite's lock")
def test_on_sqlite_a_run_holds_the_lock_file_while_it_runs(monkeypatch, settings):
    nested = []
    purge = signposting.nightly.children_purge_expired

    def purge_and_try_again(**kwargs):
        nested.append(run_nightly())
        return purge(**kwargs)

    monkeypatch.setattr(signposting.nightly, "children_purge_expired", purge_and_try_again)
    assert run_nightly()[0] == 0
    assert nested[0][0] == EXIT_ALREADY_RUNNING
    with (settings.VAR_DIR / "nightly.lock").open("a") as after:
        fcntl.flock(after.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # released


@pytest.fixture
def other_session():
    """A second database session, as another host's run would have."""
    other = connections.create_connection("default")
    yield other
    other.close()


def try_advisory_lock(session) -> bool:
    with session.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [signposting.nightly.LOCK_KEY])
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_on_postgresql_a_second_run_is_refused_while_another_session_holds_the_lock(
    other_session,
):
    child = expired_child()
    assert try_advisory_lock(other_session)
    try:
        code, out = run_nightly()
    finally:
        with other_session.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [signposting.nightly.LOCK_KEY])
    assert code == EXIT_ALREADY_RUNNING
    assert "advisory lock" in out
    assert Child.objects.filter(pk=child.pk).exists()  # nothing ran


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_on_postgresql_a_run_holds_the_lock_while_it_runs_and_releases_it(
    monkeypatch, other_session
):
    held_during_run = []
    purge = signposting.nightly.children_purge_expired

    def purge_and_look(**kwargs):
        held_during_run.append(not try_advisory_lock(other_session))
        return purge(**kwargs)

    monkeypatch.setattr(signposting.nightly, "children_purge_expired", purge_and_look)
    assert run_nightly()[0] == 0
    assert held_during_run == [True]
    assert try_advisory_lock(other_session)  # released at the end of the run
    with other_session.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [signposting.nightly.LOCK_KEY])


OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "operations"


@pytest.mark.parametrize(
    "example",
    [
        "nightly.cron",
        "signposting-nightly.service",
        "signposting-nightly.timer",
        "nightly-cronjob.yaml",
    ],
)
def test_the_guide_shows_each_shipped_scheduler_example_as_it_is(example):
    shipped = (OPERATIONS / example).read_text()
    assert shipped in (OPERATIONS / "nightly.md").read_text()


def test_months_of_the_trail_past_retention_fail_the_run_until_archived(
    monkeypatch, settings, places
):
    settings.AUDIT_RETENTION_MONTHS = 12
    at(monkeypatch, datetime(2025, 3, 10, 10, 0))
    record(request=None, action=Action.SEARCH)  # March 2025
    seal()
    at(monkeypatch, NIGHT)  # 25 November 2026: months before 2025-11 are due
    code, out = run_nightly()
    assert code == 1
    line = line_of(out, "audit retention")
    assert "FAILED" in line and "older than AUDIT_RETENTION_MONTHS (12)" in line
    assert "audit_archive --before 2025-11" in line
