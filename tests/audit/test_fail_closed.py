"""No audit row, no data: lookups commit with their audit event or show nothing."""

import pytest
from django.db import DatabaseError

import audit.services
from accounts.models import Organisation
from tests.audit.helpers import events_after, head_sequence
from tests.factories import make_area, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.audit.urls_lookup")]


@pytest.fixture
def signed_in(client):
    make_area(code="E06000001", name="Hartlepool")
    client.force_login(make_user())
    return client


def test_a_lookup_commits_its_event_and_then_shows_the_data(signed_in):
    start = head_sequence()
    response = signed_in.get("/lookup/")
    assert response.status_code == 200
    assert b"Child Seven-Kay-Q" in response.content
    event = events_after(start).get()
    assert event.action == "record_view"
    assert event.children == ["7KQ-4M2-PX9"]
    assert Organisation.objects.filter(name="Written during the lookup").exists()


def test_when_the_audit_write_fails_the_user_sees_no_data_and_nothing_commits(
    signed_in, monkeypatch
):
    def failing_append(fields):
        raise DatabaseError("disk full")

    monkeypatch.setattr(audit.services, "_append", failing_append)
    start = head_sequence()
    response = signed_in.get("/lookup/")
    assert response.status_code == 503
    html = response.content.decode()
    assert "Sorry, the service is unavailable" in html
    assert "Seven-Kay-Q" not in html and "Secret record" not in html
    assert head_sequence() == start
    assert not Organisation.objects.filter(name="Written during the lookup").exists()


def test_when_the_database_refuses_the_insert_itself_nothing_commits(signed_in):
    """A real database failure inside the insert (the table is gone), not a stand-in."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Inside the test's transaction: rolled back when the test ends.
        cursor.execute("ALTER TABLE audit_auditevent RENAME TO audit_auditevent_gone")
    response = signed_in.get("/lookup/")
    assert response.status_code == 503
    assert b"Seven-Kay-Q" not in response.content
    assert not Organisation.objects.filter(name="Written during the lookup").exists()


def test_a_lookup_view_that_forgets_to_record_shows_nothing(signed_in):
    response = signed_in.get("/forgetful/")
    assert response.status_code == 503
    assert b"Secret record" not in response.content


def test_a_denial_is_recorded_and_answered(signed_in):
    start = head_sequence()
    response = signed_in.get("/denied/")
    assert response.status_code == 403
    assert events_after(start).get().action == "access_denied"


def test_failure_is_logged_without_child_data(signed_in, monkeypatch, caplog):
    def failing_append(fields):
        raise DatabaseError("disk full")

    monkeypatch.setattr(audit.services, "_append", failing_append)
    signed_in.get("/lookup/")
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "Audit write failed" in logged
    assert "7KQ-4M2-PX9" not in logged and "Seven-Kay-Q" not in logged
