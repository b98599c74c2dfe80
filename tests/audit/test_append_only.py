"""The database itself refuses to change or remove audit rows."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import (
    AuditEvent,  # noqa: TID251 (testing the tables)
    AuditEventChild,  # noqa: TID251
    AuditSeal,  # noqa: TID251
    Notice,
    UnsealedEvent,  # noqa: TID251
)
from audit.services import record
from tests.audit.helpers import make_app_role, seal

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="TRUNCATE and roles exist only on PostgreSQL"
)


@pytest.fixture
def event():
    event = record(request=None, action="search", children=["7KQ-4M2-PX9"])
    seal()
    return event


def test_update_is_rejected_by_the_database(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_username="someone-else")


def test_saving_a_changed_event_is_rejected_by_the_database(event):
    event.reason_text = "edited"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()


def test_row_delete_is_rejected_by_the_database(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()


def test_queryset_delete_is_rejected_by_the_database(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_child_links_are_append_only_too(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEventChild.objects.filter(event=event).update(child_public_id="XXX-XXX-XX1")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEventChild.objects.filter(event=event).delete()


def test_seals_are_append_only_too(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditSeal.objects.filter(event=event).update(hash="0" * 64)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditSeal.objects.filter(event=event).update(position=-1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditSeal.objects.filter(event=event).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditseal")


def test_raw_sql_delete_is_rejected(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")


@postgres_only
def test_truncate_is_rejected_by_the_database(event):
    for table in ("audit_auditevent", "audit_auditeventchild", "audit_auditseal"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table} CASCADE")


@postgres_only
def test_the_app_role_may_only_read_and_add_audit_rows(event):
    """Connected as the production app role, privileges refuse what the triggers would."""
    with connection.cursor() as cursor:
        app_role = make_app_role(cursor)  # rolled back with the test
        # Even with the triggers off, privileges alone refuse the change.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in ("audit_auditevent", "audit_auditseal"):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(f"SET ROLE {app_role}")
        try:
            cursor.execute("SELECT count(*) FROM audit_auditevent")
            assert cursor.fetchone()[0] >= 1
            cursor.execute("SELECT count(*) FROM accounts_user")
            for statement in (
                "UPDATE audit_auditevent SET reason_text = 'x'",
                "DELETE FROM audit_auditevent",
                "TRUNCATE audit_auditevent CASCADE",
                "DELETE FROM audit_auditeventchild",
                "UPDATE audit_auditseal SET hash = 'x'",
                "DELETE FROM audit_auditseal",
                "TRUNCATE audit_auditseal CASCADE",
                # The sealer's queue: the sealer deletes from it, nothing changes it.
                "UPDATE audit_unsealedevent SET event_id = event_id",
                "TRUNCATE audit_unsealedevent",
            ):
                with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                    cursor.execute(statement)
        finally:
            cursor.execute("RESET ROLE")
    # ... while ordinary appends through record(), and sealing, still work as that role.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in ("audit_auditevent", "audit_auditseal"):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cursor.execute(f"SET ROLE {app_role}")
        try:
            appended = record(request=None, action="search")
            assert appended.sequence == event.sequence + 1
            assert UnsealedEvent.objects.filter(event=appended).exists()
            assert seal() == 1
            assert not UnsealedEvent.objects.filter(event=appended).exists()
            assert AuditSeal.objects.filter(event=appended).exists()
        finally:
            cursor.execute("RESET ROLE")


def test_notices_are_append_only_too():
    notice = Notice.objects.create(
        recipient_id=1,
        child_public_id="7KQ-4M2-PX9",
        viewed_at=timezone.now(),
        event_sequence=1,
        because="lead_professional",
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        Notice.objects.filter(pk=notice.pk).update(viewer_name="someone")
    with pytest.raises(DatabaseError), transaction.atomic():
        Notice.objects.filter(pk=notice.pk).delete()
