"""Archive before delete: months of the trail written to files, checked, removed from the
database as one audited operation; verify_audit carries on from the archived head, and
verify_archive finds a tampered file, a missing month and an edited manifest."""

import gzip
import json
import shutil
from datetime import datetime
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

import audit.services
from audit import partitions
from audit.archive import (
    EVENTS,
    MANIFEST,
    SEALS,
    ArchiveRefused,
    archive_before,
    archived_head,
    verify_archive,
)
from audit.models import Action, AuditArchive
from audit.partitions import Month
from audit.services import record
from audit.verify import verify_chain
from tests.audit.helpers import events, seal, seals

pytestmark = pytest.mark.django_db

JANUARY, FEBRUARY, MARCH, APRIL = (Month(2025, m) for m in (1, 2, 3, 4))


def at(when: datetime, **kwargs):
    with mock.patch.object(audit.services.timezone, "now", return_value=when):
        return record(request=None, action="search", **kwargs)


@pytest.fixture
def trail(settings):
    """Events in January, February and March 2025 (a child's in each), sealed; archiving
    allowed up to a month ago."""
    settings.AUDIT_RETENTION_MONTHS = 1
    written = {}
    for month in (JANUARY, FEBRUARY, MARCH):
        written[month] = [
            at(month.start.replace(day=day, hour=10), children=[f"7KQ-4M2-P{month.month}{day}"])
            for day in (3, 17, 28)
        ]
    seal()
    return written


def in_database(month: Month) -> int:
    return events().filter(occurred_at__gte=month.start, occurred_at__lt=month.next().start).count()


def test_a_month_is_archived_checked_and_removed_as_one_audited_operation(trail, tmp_path):
    (archived,) = archive_before(before=FEBRUARY, root=tmp_path)
    assert (archived.month, archived.events, archived.links, archived.seals) == (JANUARY, 3, 3, 3)
    assert in_database(JANUARY) == 0 and in_database(FEBRUARY) == 3
    directory = tmp_path / "2025-01"
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest["files"][EVENTS]["rows"] == 3
    with gzip.open(directory / EVENTS, "rt") as file:
        assert [json.loads(line)["sequence"] for line in file] == [
            e.sequence for e in trail[JANUARY]
        ]
    record_ = AuditArchive.objects.get()
    assert record_.month == "2025-01" and record_.events == 3
    event = events().get(sequence=record_.event_sequence)
    assert event.action == Action.AUDIT_ARCHIVE
    assert event.detail["month"] == "2025-01" and event.detail["events"] == 3
    if partitions.partitioned():
        assert JANUARY not in partitions.months()
    # The database's chain carries on from the archived months; the archive checks out.
    assert verify_chain().ok, verify_chain().problem
    assert verify_archive(tmp_path).ok, verify_archive(tmp_path).problems


def test_months_are_archived_oldest_first_up_to_the_one_given(trail, tmp_path):
    done = archive_before(before=APRIL, root=tmp_path)
    assert [m.month for m in done][-3:] == [JANUARY, FEBRUARY, MARCH]
    assert in_database(MARCH) == 0
    verdict = verify_archive(tmp_path)
    assert verdict.ok, verdict.problems
    assert verdict.months[-3:] == [JANUARY, FEBRUARY, MARCH]
    assert verify_chain().ok
    # Nothing left before April: a second run archives nothing.
    assert archive_before(before=APRIL, root=tmp_path) == []


def test_an_event_sealed_after_a_later_months_event_is_stepped_over(settings, tmp_path):
    """A January event numbered and sealed after a February one (a late commit): archiving
    January leaves its seal above the archived head, and the walk steps over it."""
    settings.AUDIT_RETENTION_MONTHS = 1
    at(FEBRUARY.start.replace(day=2), children=["7KQ-4M2-PXA"])
    seal()
    late = at(JANUARY.start.replace(day=31, hour=23), children=["7KQ-4M2-PXB"])
    seal()
    at(FEBRUARY.start.replace(day=3))
    seal()
    position = seals().get(event_id=late.id).position
    archive_before(before=FEBRUARY, root=tmp_path)
    head = archived_head()
    assert any(run.first <= position <= run.last for run in head.beyond)
    assert verify_chain().ok, verify_chain().problem
    assert verify_archive(tmp_path).ok
    archive_before(before=MARCH, root=tmp_path)
    assert archived_head().beyond == ()
    assert verify_chain().ok
    assert verify_archive(tmp_path).ok, verify_archive(tmp_path).problems


def test_months_within_the_retention_period_are_refused(trail, tmp_path, settings):
    settings.AUDIT_RETENTION_MONTHS = 72
    with pytest.raises(ArchiveRefused, match="kept for 72 months"):
        archive_before(before=FEBRUARY, root=tmp_path)
    assert in_database(JANUARY) == 3


def test_an_existing_directory_is_never_overwritten(trail, tmp_path):
    (tmp_path / "2025-01").mkdir()
    with pytest.raises(ArchiveRefused, match="exists already"):
        archive_before(before=FEBRUARY, root=tmp_path)
    assert in_database(JANUARY) == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite seals as it appends")
def test_a_month_with_an_event_waiting_for_its_seal_is_refused(trail, tmp_path):
    at(JANUARY.start.replace(day=30))
    with pytest.raises(ArchiveRefused, match="wait for their seal"):
        archive_before(before=FEBRUARY, root=tmp_path)
    assert in_database(JANUARY) == 4


def test_a_tampered_archive_file_is_found(trail, tmp_path):
    archive_before(before=MARCH, root=tmp_path)
    path = tmp_path / "2025-01" / EVENTS
    with gzip.open(path, "rt") as file:
        rows = [json.loads(line) for line in file]
    rows[1]["actor_username"] = "someone-else@example.org"
    with gzip.open(path, "wt") as file:
        file.writelines(json.dumps(row) + "\n" for row in rows)
    problems = verify_archive(tmp_path).problems
    assert any("events.jsonl.gz does not match its SHA-256" in p for p in problems), problems


def test_a_tampered_file_with_its_digest_rewritten_is_found_by_its_seal(trail, tmp_path):
    archive_before(before=MARCH, root=tmp_path)
    directory = tmp_path / "2025-02"
    with gzip.open(directory / EVENTS, "rt") as file:
        rows = [json.loads(line) for line in file]
    rows[0]["reason_text"] = "nothing to see"
    with gzip.open(directory / EVENTS, "wt") as file:
        file.writelines(json.dumps(row) + "\n" for row in rows)
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["files"][EVENTS]["sha256"] = _sha256(directory / EVENTS)
    (directory / MANIFEST).write_text(json.dumps(manifest))
    problems = verify_archive(tmp_path, against_database=False).problems
    assert any("does not match its event's content" in p for p in problems), problems
    problems = verify_archive(tmp_path).problems
    assert any("manifest of 2025-02 is not the one written" in p for p in problems), problems


def test_a_missing_month_is_found(trail, tmp_path):
    archive_before(before=APRIL, root=tmp_path)
    shutil.rmtree(tmp_path / "2025-02")
    problems = verify_archive(tmp_path, against_database=False).problems
    assert "month 2025-02 is missing (between 2025-01 and 2025-03)" in problems
    assert any("is in no month of the archive" in p for p in problems), problems
    # The newest month gone too: only the database's records can tell.
    shutil.rmtree(tmp_path / "2025-03")
    problems = verify_archive(tmp_path).problems
    assert "month 2025-03, archived from the database, is not here" in problems


def test_an_edited_manifest_is_found(trail, tmp_path):
    archive_before(before=MARCH, root=tmp_path)
    path = tmp_path / "2025-01" / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["files"][SEALS]["rows"] = 2
    path.write_text(json.dumps(manifest))
    problems = verify_archive(tmp_path, against_database=False).problems
    assert "2025-01: seals.jsonl.gz holds 3 rows, the manifest says 2" in problems
    manifest["files"][SEALS]["rows"] = 3
    manifest["chain"]["head"]["hash"] = "f" * 64
    path.write_text(json.dumps(manifest))
    problems = verify_archive(tmp_path, against_database=False).problems
    assert "2025-01: the manifest's head does not follow from its seals" in problems
    assert any(
        "manifest of 2025-01 is not the one written" in p for p in verify_archive(tmp_path).problems
    )


def test_the_commands(trail, tmp_path):
    out = StringIO()
    call_command("audit_archive", "--before", "2025-02", "--to", str(tmp_path), stdout=out)
    assert "Archived 2025-01: 3 events, 3 child links, 3 seals" in out.getvalue()
    out = StringIO()
    call_command("verify_archive", str(tmp_path), stdout=out)
    assert "Archive intact: 1 month(s), 2025-01 to 2025-01, 3 events" in out.getvalue()
    with pytest.raises(CommandError, match="not a month written YYYY-MM"):
        call_command("audit_archive", "--before", "2025-13", "--to", str(tmp_path))
    shutil.rmtree(tmp_path / "2025-01")
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_archive", str(tmp_path), stdout=StringIO(), stderr=StringIO())
    assert exit_.value.code == 1


def _sha256(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_verify_audit_vouches_for_a_checkpoint_at_the_archived_head(trail, tmp_path):
    from audit.verify import Checkpoint

    archive_before(before=APRIL, root=tmp_path)
    head = archived_head()
    # The newest archived seal: the head, or above it if other tests' events were sealed
    # first (the test database's trail is never emptied).
    position, hash_ = max(
        ((head.position, head.hash), *((run.last, run.last_hash) for run in head.beyond))
    )
    assert position >= 9
    assert verify_chain(checkpoint=Checkpoint(position, hash_)).ok
    verdict = verify_chain(checkpoint=Checkpoint(position, "e" * 64))
    assert not verdict.ok and "checkpoint" in verdict.problem


def test_nothing_of_a_child_is_written_to_the_logs(trail, tmp_path, caplog):
    archive_before(before=FEBRUARY, root=tmp_path)
    assert "7KQ-4M2" not in caplog.text


def test_the_child_access_report_says_older_events_are_in_the_archive(trail, tmp_path, client):
    from accounts.models import Role
    from tests.factories import make_user

    client.force_login(make_user(role=Role.AUDITOR))
    child = "7KQ-4M2-PXA"  # a valid public id, looked up in February and in April
    at(FEBRUARY.start.replace(day=20), children=[child])
    at(APRIL.start.replace(day=2), children=[child])
    seal()
    page = client.get(f"/audit/children/{child}/").content.decode()
    assert "audit archive" not in page
    archive_before(before=MARCH, root=tmp_path)
    page = client.get(f"/audit/children/{child}/").content.decode()
    assert "Events before 1 March 2025 are not in this report" in page
    assert "from 2025-01 to 2025-02 has been moved to the audit archive" in page
    printed = client.get(f"/audit/children/{child}/", {"format": "print"}).content.decode()
    assert "Events before 1 March 2025 are held in the service's audit archive" in printed
