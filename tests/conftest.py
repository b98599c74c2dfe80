"""Fixtures shared by the whole suite. Factories live in tests/factories.py."""

import pytest
from django.core.cache import cache


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
