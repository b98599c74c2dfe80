"""The health check answers for load balancers and says nothing else."""

import pytest

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
