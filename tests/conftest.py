"""Fixtures shared by the whole suite. Factories live in tests/factories.py."""

import socket

import pytest
from django.core.cache import cache


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, with the audit trail's monthly partitions (PostgreSQL) from
    January 2025: tests record events at fixed dates of 2025-2026 (a Wednesday, Christmas
    Day), which a database made today has no partitions for (the migration makes them from
    the trail's first month, and there is none)."""
    from audit.partitions import Month, ensure_partitions

    with django_db_blocker.unblock():
        ensure_partitions(first=Month(2025, 1))


@pytest.fixture(autouse=True)
def _clear_cache(request):
    # Rate-limit counters and the like must not leak between tests. The cache
    # is a database table, so only tests with database access can have used it.
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if uses_db:
        request.getfixturevalue(
            "db" if "transactional_db" not in request.fixturenames else "transactional_db"
        )
        cache.clear()
    yield
    if uses_db:
        cache.clear()


@pytest.fixture(autouse=True)
def _sealer_after_transactional_tests(request, django_db_blocker):
    """On PostgreSQL the events a transactional test (or a live server) commits wait for the
    sealer, as in production, and outlive the test (the trail is never flushed): seal them
    afterwards, as `seal_audit --follow` would within moments, so that no later test finds
    them unsealed past AUDIT_SEAL_DELAY_SECONDS (verify_audit, /healthz, the metrics)."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if transactional:
        from django.db import connection

        from audit.sealer import seal_all

        if connection.vendor == "postgresql":
            with django_db_blocker.unblock():
                seal_all()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Production hashing is deliberately slow; tests sign in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _second_factor_with_force_login(monkeypatch):
    """Two-factor sign-in is on in tests, as in production. A test that signs a user in with
    `force_login` gets a session that has given its second factor too (a confirmed TOTP
    device, as an enrolled user has); tests of the second step itself sign in through the
    pages, or take the device away (tests/accounts/test_two_factor.py)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    force_login = Client.force_login

    def force_login_with_second_factor(self, user, backend=None):
        force_login(self, user, backend)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Test app", confirmed=True)
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    monkeypatch.setattr(Client, "force_login", force_login_with_second_factor)


# A real OpenID Connect provider in a process of its own, for the single sign-on tests.
from tests.oidc_provider.fixture import identity_provider  # noqa: E402, F401

# --- A read replica, for the tests of read routing (signposting.db_router) -------------------
# The suite runs without one: with a replica, every report would read elsewhere than the test's
# own transaction. These fixtures switch it on for one test.


@pytest.fixture
def replica(db, settings):
    """A replica that is the test database itself: a connection object of its own under the
    alias `replica` (so that what it runs can be told from the primary's), sharing the test's
    database session, so that it sees the rows the test wrote as a standby sees committed
    ones. Yields its wrapper."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from signposting.db_router import REPLICA, replica_forget

    primary = connections[DEFAULT_DB_ALIAS]
    primary.ensure_connection()
    wrapper = type(primary)(dict(primary.settings_dict), alias=REPLICA)
    wrapper.connection = primary.connection
    # Closing it (after a failure) lets go of the shared session, never closes it.
    wrapper._close = lambda: None
    yield from _replica_switched_on(settings, wrapper, replica_forget)
    wrapper.connection = None


@pytest.fixture
def unreachable_replica(db, settings):
    """A replica that cannot be reached: a closed port on PostgreSQL, a file in a directory
    that does not exist on SQLite. Yields its wrapper."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from signposting.db_router import REPLICA, replica_forget

    primary = connections[DEFAULT_DB_ALIAS]
    config = dict(primary.settings_dict)
    if primary.vendor == "postgresql":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        config.update(HOST="127.0.0.1", PORT=str(closed_port))
        config["OPTIONS"] = {**config["OPTIONS"], "connect_timeout": 2}
    else:
        config["NAME"] = "/nonexistent-directory/replica.sqlite3"
    wrapper = type(primary)(config, alias=REPLICA)
    yield from _replica_switched_on(settings, wrapper, replica_forget)
    wrapper.close()


def _replica_switched_on(settings, wrapper, replica_forget):
    from django.db import connections

    from signposting.db_router import REPLICA

    # Installed as a connection, not in DATABASES: pytest-django lets a test use connections
    # it did not declare only when they are not in the settings.
    connections[REPLICA] = wrapper
    settings.REPLICA_READS = True
    replica_forget()
    try:
        yield wrapper
    finally:
        replica_forget()
        del connections[REPLICA]
