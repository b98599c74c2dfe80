"""verify_audit finds every kind of tampering and names the first broken event."""

import io
import json

import pytest
from django.core.management import call_command

from audit import chain
from audit.models import AuditEvent  # noqa: TID251 (tampering needs the model)
from audit.services import record
from audit.verify import Checkpoint, verify_chain
from tests.audit.helpers import head_sequence
from tests.audit.tampering import triggers_disabled
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail():
    """Five events on top of whatever the trail already holds; returns their sequences."""
    start = head_sequence()
    for n in range(5):
        record(
            request=None,
            action="record_view",
            children=[f"AAA-BBB-CC{n}"],
            reason_code="assessment",
        )
    return list(range(start + 1, start + 6))


def verify_command(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, err.getvalue()
    return 0, out.getvalue()


def test_an_untouched_chain_verifies(trail):
    verdict = verify_chain()
    assert verdict.ok
    assert verdict.head.sequence == trail[-1]
    code, out = verify_command()
    assert code == 0
    assert "Audit chain intact" in out


def test_an_edited_field_is_found(trail):
    with triggers_disabled():
        AuditEvent.objects.filter(sequence=trail[2]).update(reason_code="other")
    verdict = verify_chain()
    assert not verdict.ok
    assert verdict.broken_sequence == trail[2]
    code, err = verify_command()
    assert code == 1
    assert f"BROKEN at sequence {trail[2]}" in err


def test_an_edited_hash_is_found_at_the_next_event(trail):
    with triggers_disabled():
        AuditEvent.objects.filter(sequence=trail[2]).update(hash="f" * 64)
    assert verify_chain().broken_sequence == trail[2]


def test_a_deleted_row_is_found(trail):
    with triggers_disabled() as cursor:
        event = AuditEvent.objects.get(sequence=trail[1])
        cursor.execute("DELETE FROM audit_auditeventchild WHERE event_id = %s", [event.pk])
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    verdict = verify_chain()
    assert verdict.broken_sequence == trail[1]
    assert "missing" in verdict.problem


def test_reordered_rows_are_found(trail):
    a, b = trail[1], trail[2]
    with triggers_disabled():
        AuditEvent.objects.filter(sequence=a).update(sequence=-1)
        AuditEvent.objects.filter(sequence=b).update(sequence=a)
        AuditEvent.objects.filter(sequence=-1).update(sequence=b)
    assert verify_chain().broken_sequence == a


def test_a_forged_row_inserted_with_a_good_hash_is_found_at_the_next_event(trail):
    """The forger links its row to its predecessor correctly; the successor betrays it."""
    before = AuditEvent.objects.get(sequence=trail[1])
    with triggers_disabled():
        for sequence in reversed(trail[2:]):
            AuditEvent.objects.filter(sequence=sequence).update(sequence=sequence + 1)
        forged = AuditEvent(
            sequence=trail[2],
            prev_hash=before.hash,
            occurred_at=before.occurred_at,
            action="search",
            actor_username="covering-tracks@example.org",
            hash="",
        )
        content = chain.body({name: getattr(forged, name) for name in chain.HASHED_FIELDS})
        forged.hash = chain.link(prev_hash=before.hash, sequence=trail[2], content=content)
        # The old successor still names `before` as its predecessor: a unique clash.
        AuditEvent.objects.filter(sequence=trail[2] + 1).update(prev_hash="e" * 64)
        forged.save(force_insert=True)
    verdict = verify_chain()
    assert verdict.broken_sequence == trail[2] + 1


def test_a_removed_child_link_is_found(trail):
    with triggers_disabled() as cursor:
        event = AuditEvent.objects.get(sequence=trail[3])
        cursor.execute("DELETE FROM audit_auditeventchild WHERE event_id = %s", [event.pk])
    verdict = verify_chain()
    assert verdict.broken_sequence == trail[3]
    assert "children" in verdict.problem


def test_a_truncated_tail_is_found_against_a_checkpoint(trail, tmp_path):
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    checkpoint = json.loads(out.getvalue())
    assert checkpoint["sequence"] == trail[-1]
    path = tmp_path / "checkpoint.json"
    path.write_text(out.getvalue())
    with triggers_disabled() as cursor:
        for sequence in trail[-2:]:
            event = AuditEvent.objects.get(sequence=sequence)
            cursor.execute("DELETE FROM audit_auditeventchild WHERE event_id = %s", [event.pk])
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    # The remaining chain is self-consistent ...
    assert verify_chain().ok
    # ... but not against the head kept off the host.
    code, err = verify_command("--checkpoint", str(path))
    assert code == 1
    assert f"checkpoint sequence {trail[-1]}" in err


def test_a_rewritten_chain_is_found_against_a_checkpoint(trail):
    head = AuditEvent.objects.get(sequence=trail[-1])
    checkpoint = Checkpoint(sequence=head.sequence, hash=head.hash)
    with triggers_disabled():
        # A forger rewrites the last event and recomputes its hash perfectly.
        head.reason_code = "other"
        content = chain.body({name: getattr(head, name) for name in chain.HASHED_FIELDS})
        new_hash = chain.link(prev_hash=head.prev_hash, sequence=head.sequence, content=content)
        AuditEvent.objects.filter(pk=head.pk).update(reason_code="other", hash=new_hash)
    assert verify_chain().ok
    verdict = verify_chain(checkpoint=checkpoint)
    assert verdict.broken_sequence == head.sequence


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
    before = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "hash"))
    from audit.models import ChangeRecord

    history_before = list(ChangeRecord.objects.order_by("pk").values())
    user.delete()
    after = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "hash"))
    assert after == before
    assert verify_chain().ok
    # django-auditlog's history rows are untouched too (a DELETE entry is added).
    assert list(ChangeRecord.objects.order_by("pk").values())[: len(history_before)] == (
        history_before
    )
