"""verify_audit finds every kind of tampering and names the first broken seal or event."""

import io
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit import chain
from audit.models import AuditEvent, AuditSeal, UnsealedEvent  # noqa: TID251 (tampering)
from audit.services import record
from audit.verify import Checkpoint, verify_chain
from tests.audit.helpers import seal, seals
from tests.audit.tampering import triggers_disabled
from tests.factories import make_user

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite seals each event as record() appends it: no queue, nothing left unsealed",
)
LATER = timedelta(minutes=5)  # well past AUDIT_SEAL_DELAY_SECONDS


@dataclass(frozen=True)
class Trail:
    numbers: list[int]  # the five events' numbers (AuditEvent.sequence)
    positions: list[int]  # their seals' positions, in the same order


@pytest.fixture
def trail() -> Trail:
    """Five sealed events on top of whatever the trail already holds."""
    numbers = [
        record(
            request=None,
            action="record_view",
            children=[f"AAA-BBB-CC{n}"],
            reason_code="assessment",
        ).sequence
        for n in range(5)
    ]
    seal()
    positions = [AuditSeal.objects.get(event__sequence=number).position for number in numbers]
    return Trail(numbers=numbers, positions=positions)


def verify_command(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, err.getvalue()
    return 0, out.getvalue()


def event(number: int) -> AuditEvent:
    return AuditEvent.objects.get(sequence=number)


def delete_event(cursor, event_id: int) -> None:
    cursor.execute("DELETE FROM audit_auditeventchild WHERE event_id = %s", [event_id])
    cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event_id])


@contextmanager
def event_gone(number: int):
    """The event and its child links deleted, its seal kept (a superuser's DELETE); put
    back when the block ends, before the foreign keys are checked."""
    with triggers_disabled() as cursor:
        gone = event(number)
        for table, column in (("audit_auditevent", "id"), ("audit_auditeventchild", "event_id")):
            cursor.execute(
                f"CREATE TEMPORARY TABLE kept_{table} AS SELECT * FROM {table} "  # noqa: S608
                f"WHERE {column} = %s",
                [gone.pk],
            )
        delete_event(cursor, gone.pk)
        yield
        for table in ("audit_auditevent", "audit_auditeventchild"):
            cursor.execute(f"INSERT INTO {table} SELECT * FROM kept_{table}")  # noqa: S608
            cursor.execute(f"DROP TABLE kept_{table}")


def test_an_untouched_chain_verifies(trail):
    verdict = verify_chain()
    assert verdict.ok
    assert verdict.head.position == trail.positions[-1]
    assert trail.positions == list(range(trail.positions[0], trail.positions[0] + 5))
    code, out = verify_command()
    assert code == 0
    assert "Audit chain intact" in out


def test_an_edited_field_is_found(trail):
    with triggers_disabled():
        AuditEvent.objects.filter(sequence=trail.numbers[2]).update(reason_code="other")
    verdict = verify_chain()
    assert not verdict.ok
    assert (verdict.broken_position, verdict.broken_event) == (
        trail.positions[2],
        trail.numbers[2],
    )
    assert "does not match its hash" in verdict.problem
    code, err = verify_command()
    assert code == 1
    assert f"BROKEN at position {trail.positions[2]} (event {trail.numbers[2]})" in err


def test_an_edited_hash_is_found(trail):
    with triggers_disabled():
        AuditSeal.objects.filter(position=trail.positions[2]).update(hash="f" * 64)
    assert verify_chain().broken_position == trail.positions[2]


def test_a_deleted_event_and_its_seal_are_found(trail):
    with triggers_disabled() as cursor:
        deleted = event(trail.numbers[1])
        cursor.execute("DELETE FROM audit_auditseal WHERE event_id = %s", [deleted.pk])
        delete_event(cursor, deleted.pk)
    verdict = verify_chain()
    assert verdict.broken_position == trail.positions[1]
    assert "missing" in verdict.problem


def test_a_deleted_event_whose_seal_is_kept_is_found(trail):
    with event_gone(trail.numbers[1]):
        verdict = verify_chain()
    assert verdict.broken_position == trail.positions[1]
    assert verdict.problem == "the event it seals is missing"


def test_the_last_event_deleted_with_its_seal_kept_is_found(trail):
    with event_gone(trail.numbers[-1]):
        verdict = verify_chain()
    assert verdict.broken_position == trail.positions[-1]
    assert verdict.problem == "the event it seals is missing"


def test_a_deleted_seal_is_found(trail):
    with triggers_disabled():
        AuditSeal.objects.filter(position=trail.positions[2]).delete()
    verdict = verify_chain()
    assert verdict.broken_position == trail.positions[2]
    assert verdict.problem == f"seal {trail.positions[2]} is missing"


def test_a_deleted_last_seal_leaves_an_event_unsealed_which_is_found_once_old(trail):
    with triggers_disabled():
        AuditSeal.objects.filter(position=trail.positions[-1]).delete()
    # Within the delay an event may wait for its seal ...
    assert verify_chain().ok
    # ... and past it, it is a break, named by the event's number.
    verdict = verify_chain(now=timezone.now() + LATER)
    assert not verdict.ok
    assert (verdict.broken_position, verdict.broken_event) == (None, trail.numbers[-1])
    assert "has no seal" in verdict.problem


def test_reordered_seals_are_found(trail):
    a, b = trail.positions[1], trail.positions[2]
    with triggers_disabled():
        AuditSeal.objects.filter(position=a).update(position=-1)
        AuditSeal.objects.filter(position=b).update(position=a)
        AuditSeal.objects.filter(position=-1).update(position=b)
    assert verify_chain().broken_position == a


def test_renumbered_events_are_found(trail):
    """The event's number is covered by its seal's hash: swapping two is found."""
    a, b = trail.numbers[1], trail.numbers[2]
    with triggers_disabled():
        AuditEvent.objects.filter(sequence=a).update(sequence=-1)
        AuditEvent.objects.filter(sequence=b).update(sequence=a)
        AuditEvent.objects.filter(sequence=-1).update(sequence=b)
    verdict = verify_chain()
    assert verdict.broken_position == trail.positions[1]
    assert "does not match its hash" in verdict.problem


def test_a_seal_moved_to_another_event_is_found(trail):
    first, second = (seals().get(position=p) for p in trail.positions[1:3])
    with triggers_disabled():
        # Swapped between two events (the unique index allows one seal per event), each
        # with its new event's time (the foreign key is to the event and its time).
        AuditSeal.objects.filter(position=first.position).update(event_id=-1)
        AuditSeal.objects.filter(position=second.position).update(
            event_id=first.event_id, occurred_at=first.occurred_at
        )
        AuditSeal.objects.filter(position=first.position).update(
            event_id=second.event_id, occurred_at=second.occurred_at
        )
    verdict = verify_chain()
    assert verdict.broken_position == first.position
    assert "does not match its hash" in verdict.problem


def test_a_forged_seal_and_event_inserted_with_a_good_hash_are_found_at_the_next_seal(trail):
    """The forger links its seal to its predecessor correctly; the successor betrays it."""
    before = seals().get(position=trail.positions[1])
    at = trail.positions[2]
    with triggers_disabled():
        for position in reversed(trail.positions[2:]):
            AuditSeal.objects.filter(position=position).update(position=position + 1)
        forged = AuditEvent(
            sequence=max(trail.numbers) + 1000,
            occurred_at=before.event.occurred_at,
            action="search",
            actor_username="covering-tracks@example.org",
        )
        forged.save(force_insert=True)
        content = chain.body({name: getattr(forged, name) for name in chain.HASHED_FIELDS})
        AuditSeal.objects.create(
            position=at,
            event=forged,
            occurred_at=forged.occurred_at,
            prev_hash=before.hash,
            hash=chain.link(
                prev_hash=before.hash, position=at, number=forged.sequence, content=content
            ),
        )
    verdict = verify_chain()
    assert verdict.broken_position == at + 1


def test_a_removed_child_link_is_found(trail):
    with triggers_disabled() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditeventchild WHERE event_id = %s", [event(trail.numbers[3]).pk]
        )
    verdict = verify_chain()
    assert verdict.broken_position == trail.positions[3]
    assert "children" in verdict.problem


def test_a_truncated_tail_is_found_against_a_checkpoint(trail, tmp_path):
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    checkpoint = json.loads(out.getvalue())
    # The file's "sequence" is the head's position.
    assert checkpoint["sequence"] == trail.positions[-1]
    path = tmp_path / "checkpoint.json"
    path.write_text(out.getvalue())
    with triggers_disabled() as cursor:
        for number in trail.numbers[-2:]:
            deleted = event(number)
            cursor.execute("DELETE FROM audit_auditseal WHERE event_id = %s", [deleted.pk])
            delete_event(cursor, deleted.pk)
    # The remaining chain is self-consistent ...
    assert verify_chain().ok
    # ... but not against the head kept off the host.
    code, err = verify_command("--checkpoint", str(path))
    assert code == 1
    assert f"checkpoint position {trail.positions[-1]}" in err


def test_a_truncated_chain_of_seals_is_found_against_a_checkpoint(trail):
    """The seals cut, the events left: young events may wait for a seal, but the chain no
    longer reaches the head kept off the host."""
    checkpoint = Checkpoint(position=trail.positions[-1], hash=seals().last().hash)
    with triggers_disabled():
        AuditSeal.objects.filter(position__gte=trail.positions[-2]).delete()
    assert verify_chain().ok
    verdict = verify_chain(checkpoint=checkpoint)
    assert "seals were removed" in verdict.problem


def test_a_rewritten_chain_is_found_against_a_checkpoint(trail):
    head = seals().get(position=trail.positions[-1])
    checkpoint = Checkpoint(position=head.position, hash=head.hash)
    with triggers_disabled():
        # A forger rewrites the last event and recomputes its seal's hash perfectly.
        rewritten = head.event
        rewritten.reason_code = "other"
        content = chain.body({name: getattr(rewritten, name) for name in chain.HASHED_FIELDS})
        new_hash = chain.link(
            prev_hash=head.prev_hash,
            position=head.position,
            number=rewritten.sequence,
            content=content,
        )
        AuditEvent.objects.filter(pk=rewritten.pk).update(reason_code="other")
        AuditSeal.objects.filter(pk=head.pk).update(hash=new_hash)
    assert verify_chain().ok
    verdict = verify_chain(checkpoint=checkpoint)
    assert verdict.broken_position == head.position


@postgres_only
def test_a_young_unsealed_event_is_awaited_not_a_break(trail):
    record(request=None, action="search")
    verdict = verify_chain()
    assert verdict.ok
    assert verdict.awaiting_seal == 1
    assert verdict.head.position == trail.positions[-1]
    code, out = verify_command()
    assert code == 0
    assert "1 newer event(s) awaiting their seal" in out


@postgres_only
def test_an_event_never_sealed_is_found_once_older_than_the_delay(trail):
    unsealed = record(request=None, action="search")
    verdict = verify_chain(now=timezone.now() + LATER)
    assert not verdict.ok
    assert verdict.broken_event == unsealed.sequence
    assert verdict.problem == "has no seal 5 s after it occurred"


@postgres_only
def test_an_events_deleted_queue_row_leaves_it_unsealed_and_found(trail):
    """The queue is not append-only (the sealer deletes from it): whoever deletes an event's
    row there keeps the sealer from it, and verify_audit finds the event unsealed."""
    unsealed = record(request=None, action="search")
    UnsealedEvent.objects.filter(event_id=unsealed.pk).delete()
    assert seal() == 0
    assert verify_chain().ok  # young yet
    verdict = verify_chain(now=timezone.now() + LATER)
    assert verdict.broken_event == unsealed.sequence
    assert "has no seal" in verdict.problem


def test_an_unreadable_checkpoint_is_a_clear_error(tmp_path):
    from django.core.management import CommandError

    path = tmp_path / "checkpoint.json"
    path.write_text("not json")
    with pytest.raises(CommandError, match="Cannot read the checkpoint"):
        call_command("verify_audit", "--checkpoint", str(path))


def test_deleting_a_user_changes_no_audit_row(client):
    user = make_user(email="leaver@example.org")
    client.force_login(user)
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    record(request=request, action="search", children=["AAA-BBB-CC1"])
    user.first_name = "Renamed"
    user.save()
    seal()

    def trail_rows():
        return (
            list(AuditEvent.objects.order_by("sequence").values()),
            list(AuditSeal.objects.order_by("position").values()),
        )

    before = trail_rows()
    from audit.models import ChangeRecord

    history_before = list(ChangeRecord.objects.order_by("pk").values())
    user.delete()
    seal()
    assert trail_rows() == before
    assert verify_chain().ok
    # django-auditlog's history rows are untouched too (a DELETE entry is added).
    assert list(ChangeRecord.objects.order_by("pk").values())[: len(history_before)] == (
        history_before
    )
