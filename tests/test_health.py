"""The health check answers for load balancers and says nothing else."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from audit.services import record
from tests.audit.helpers import seal

pytestmark = pytest.mark.django_db


def test_health_reports_ok_as_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_reports_503_when_the_database_fails(client, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise RuntimeError("connection refused to db.internal:5432 as app_user")

    # Only the health view's connection breaks: the test's own teardown still
    # needs the real one.
    monkeypatch.setattr("signposting.views.connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}
    assert b"db.internal" not in response.content


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite seals each audit event as it is recorded: nothing waits for a sealer",
)


def unsealed_event(seconds_ago: float):
    occurred_at = timezone.now() - timedelta(seconds=seconds_ago)
    with mock.patch.object(timezone, "now", return_value=occurred_at):
        return record(request=None, action="search")


@postgres_only
def test_health_warns_while_an_audit_event_waits_for_its_seal_past_the_delay(client, settings):
    seal()
    settings.AUDIT_SEAL_DELAY_SECONDS = 5
    unsealed_event(seconds_ago=30)
    response = client.get("/healthz")
    assert response.status_code == 200  # lookups are still recorded: keep serving
    assert response.json() == {"status": "warning", "database": "ok", "audit_seal": "behind"}
    seal()
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


@postgres_only
def test_an_audit_event_within_the_delay_is_no_warning(client, settings):
    seal()
    settings.AUDIT_SEAL_DELAY_SECONDS = 5
    unsealed_event(seconds_ago=1)
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_both_warnings_are_shown_together(client, monkeypatch):
    monkeypatch.setattr("signposting.views.untrusted_forwarding_seen", lambda: True)
    monkeypatch.setattr("signposting.views.sealing_behind", lambda **kwargs: True)
    assert client.get("/healthz").json() == {
        "status": "warning",
        "database": "ok",
        "client_ip": "proxy_not_trusted",
        "audit_seal": "behind",
    }
