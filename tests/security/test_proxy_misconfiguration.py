"""A proxy misconfiguration (a load balancer in front, TRUSTED_PROXY_COUNT left at 0) would
let one user's failed sign-ins lock everyone out: a deploy check and a run-time alarm on
/healthz make it impossible to miss (signposting.proxies)."""

import logging

import pytest

from signposting import proxies

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_process_state():
    proxies.forget_for_tests()
    yield
    proxies.forget_for_tests()


def test_the_deploy_check_insists_on_an_explicit_proxy_count(monkeypatch, settings):
    settings.DEMO = False
    monkeypatch.delenv("TRUSTED_PROXY_COUNT", raising=False)
    assert [message.id for message in proxies.check_trusted_proxy_count()] == ["signposting.W001"]
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "0")  # said on purpose: clients connect directly
    assert proxies.check_trusted_proxy_count() == []


def test_forwarded_requests_while_no_proxy_is_trusted_raise_the_alarm(client, settings, caplog):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    with caplog.at_level(logging.ERROR, logger="signposting.proxies"):
        for _ in range(3):
            client.get("/accounts/login/", HTTP_X_FORWARDED_FOR="198.51.100.7")
    logged = [r for r in caplog.records if r.name == "signposting.proxies"]
    assert len(logged) == 1 and "TRUSTED_PROXY_COUNT" in logged[0].getMessage()
    assert "198.51.100.7" not in logged[0].getMessage()
    health = client.get("/healthz")
    assert health.status_code == 200  # still serving: the alarm is for the operator
    assert health.json() == {
        "status": "warning",
        "database": "ok",
        "client_ip": "proxy_not_trusted",
    }


def test_no_alarm_once_the_proxies_are_trusted(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.get("/accounts/login/", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_no_alarm_without_forwarding(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client.get("/accounts/login/")
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
