"""The database itself refuses to change or remove audit rows."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.db_roles import grants_sql
from audit.models import AuditEvent, AuditEventChild, Notice  # noqa: TID251 (testing the tables)
from audit.services import record

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="TRUNCATE and roles exist only on PostgreSQL"
)


@pytest.fixture
def event():
    return record(request=None, action="search", children=["7KQ-4M2-PX9"])


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


def test_raw_sql_delete_is_rejected(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")


@postgres_only
def test_truncate_is_rejected_by_the_database(event):
    for table in ("audit_auditevent", "audit_auditeventchild"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table} CASCADE")


@postgres_only
def test_the_app_role_may_only_read_and_add_audit_rows(event):
    """Connected as the production app role, privileges refuse what the triggers would."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE signposting_test_app NOLOGIN")  # rolled back with the test
        cursor.execute("CREATE ROLE signposting_test_owner NOLOGIN")
        for statement in grants_sql(
            app_role="signposting_test_app", owner_role="signposting_test_owner"
        ):
            cursor.execute(statement)
        # Even with the triggers off, privileges alone refuse the change.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("SET ROLE signposting_test_app")
        try:
            cursor.execute("SELECT count(*) FROM audit_auditevent")
            assert cursor.fetchone()[0] >= 1
            cursor.execute("SELECT count(*) FROM accounts_user")
            for statement in (
                "UPDATE audit_auditevent SET reason_text = 'x'",
                "DELETE FROM audit_auditevent",
                "TRUNCATE audit_auditevent CASCADE",
                "DELETE FROM audit_auditeventchild",
            ):
                with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                    cursor.execute(statement)
        finally:
            cursor.execute("RESET ROLE")
    # ... while ordinary appends through record() still work as that role.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
        cursor.execute("SET ROLE signposting_test_app")
        try:
            assert record(request=None, action="search").sequence == event.sequence + 1
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
