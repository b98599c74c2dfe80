"""Two-factor sign-in: a password alone reaches nothing and enrols nothing; an authenticator
app set up inside the set-up journey (a link, then the password), codes, backup codes, and
lockout on wrong codes. (Passkeys: tests/accounts/test_passkeys.py and the browser journey.)"""

import base64
import re
import time

import pyotp
import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role
from accounts.services import second_factor_reset
from audit.models import Action
from tests.audit.helpers import events
from tests.factories import PASSWORD, make_child, make_user

pytestmark = pytest.mark.django_db


def password_only(user) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/")
    return client


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows (a step ahead: a code used once is refused)."""
    totp = pyotp.TOTP(base64.b32encode(device.bin_key).decode())
    return totp.at(time.time() + 30 * steps_ahead)


def setting_up(user) -> Client:
    """A client inside the set-up journey: the link an admin's reset gives, then the password
    (as a first admin's link from create_user, or a reset)."""
    invited = second_factor_reset(user=user, by=None, request=None)
    client = Client()
    response = client.post(f"/accounts/second-factor/{invited.token}/", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/two-factor/"
    return client


def enrol(client: Client, user) -> list[str]:
    """Sets up the authenticator app (the fallback to a passkey) and returns the backup codes."""
    client.get("/accounts/two-factor/?method=app")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(
        "/accounts/two-factor/?method=app", {"code": code_for(device)}, follow=True
    )
    return re.findall(r"<code>(\d{8})</code>", response.content.decode())


@pytest.fixture
def practitioner():
    return make_user(role=Role.PRACTITIONER)


def test_a_password_alone_reaches_no_child_data_and_no_audit_data(practitioner):
    auditor = make_user(role=Role.AUDITOR)
    for user, paths in (
        (practitioner, ["/search/", "/notices/"]),
        (auditor, ["/audit/", "/audit/flags/"]),
    ):
        client = password_only(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/two-factor/?next=")
        assert "Find a child" not in client.get("/").content.decode()


def test_a_record_cannot_be_opened_with_a_password_alone(practitioner):
    child = make_child()
    client = password_only(practitioner)
    response = client.post(f"/children/{child.public_id}/", {"reason": "assessment"})
    assert response.status_code == 302
    assert not events().filter(action=Action.RECORD_VIEW).exists()


def test_enrolment_shows_a_qr_code_and_the_key_then_backup_codes(practitioner):
    client = setting_up(practitioner)
    page = client.get("/accounts/two-factor/?method=app").content.decode()
    assert "<svg" in page and 'aria-label="QR code of your key"' in page
    # Drawn with a path: namespaced <svg:rect>s draw nothing inline in HTML.
    assert "<path" in page and "svg:rect" not in page
    device = TOTPDevice.objects.get(user=practitioner, confirmed=False)
    key = base64.b32encode(device.bin_key).decode()
    assert key[:4] in page
    codes = enrol(client, practitioner)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/search/").status_code == 200
    assert TOTPDevice.objects.get(user=practitioner).confirmed


def test_the_next_sign_in_asks_for_a_code_and_takes_a_backup_code_once(practitioner):
    codes = enrol(setting_up(practitioner), practitioner)
    device = TOTPDevice.objects.get(user=practitioner, confirmed=True)
    client = password_only(practitioner)
    page = client.get("/accounts/two-factor/?next=/search/").content.decode()
    assert "Enter the code from your authenticator app" in page
    response = client.post(
        "/accounts/two-factor/", {"code": code_for(device, steps_ahead=1), "next": "/search/"}
    )
    assert response.status_code == 302 and response["Location"] == "/search/"
    assert client.get("/search/").status_code == 200

    backup = password_only(practitioner)
    assert backup.post("/accounts/two-factor/", {"code": codes[0]}).status_code == 302
    assert backup.get("/search/").status_code == 200
    again = password_only(practitioner)
    assert again.post("/accounts/two-factor/", {"code": codes[0]}).status_code == 200


def test_a_wrong_code_is_refused_and_recorded(practitioner):
    client = setting_up(practitioner)
    client.get("/accounts/two-factor/?method=app")
    response = client.post("/accounts/two-factor/?method=app", {"code": "000000"})
    assert response.status_code == 200
    assert "The code is not right" in response.content.decode()
    assert events().filter(action=Action.SIGN_IN_FAILED).count() == 1
    assert client.get("/search/").status_code == 302


def test_five_wrong_codes_lock_the_account(practitioner, settings):
    enrol(setting_up(practitioner), practitioner)
    client = password_only(practitioner)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/two-factor/", {"code": "000000"})
    response = client.get("/accounts/two-factor/")
    assert response.status_code == 302
    assert "locked" in response["Location"]
    assert events().filter(action=Action.LOCKOUT).exists()
    # Locked: even the right password is refused now.
    locked = Client().post(
        "/accounts/login/", {"username": practitioner.username, "password": PASSWORD}
    )
    assert locked.status_code != 302


def test_the_next_address_must_be_this_service(practitioner):
    client = setting_up(practitioner)
    client.get("/accounts/two-factor/?method=app")
    device = TOTPDevice.objects.get(user=practitioner, confirmed=False)
    response = client.post(
        "/accounts/two-factor/?method=app",
        {"code": code_for(device), "next": "https://evil.example/"},
        follow=True,
    )
    assert "https://evil.example/" not in response.content.decode()


def test_without_require_mfa_a_password_is_enough(practitioner, settings):
    settings.REQUIRE_MFA = False
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": practitioner.username, "password": PASSWORD}
    )
    assert response["Location"] == "/search/"  # a practitioner lands on the search page
    assert client.get("/search/").status_code == 200


def test_a_code_cannot_be_used_twice(practitioner):
    client = setting_up(practitioner)
    client.get("/accounts/two-factor/?method=app")
    device = TOTPDevice.objects.get(user=practitioner, confirmed=False)
    code = code_for(device)
    client.post("/accounts/two-factor/?method=app", {"code": code})
    replay = password_only(practitioner)
    assert replay.post("/accounts/two-factor/", {"code": code}).status_code == 200
    assert replay.get("/search/").status_code == 302


def test_the_operator_console_needs_the_second_factor_too():
    operator = make_user(superuser=True)
    client = Client()
    client.post("/accounts/login/", {"username": operator.username, "password": PASSWORD})
    response = client.get("/django-admin/audit/auditevent/")
    assert response.status_code == 302
    assert "/django-admin/login/" in response["Location"]
    client = setting_up(operator)
    enrol(client, operator)
    assert client.get("/django-admin/audit/auditevent/").status_code == 200


def test_the_session_key_changes_when_the_code_is_accepted_and_the_old_key_is_dead(
    practitioner,
):
    enrol(setting_up(practitioner), practitioner)
    device = TOTPDevice.objects.get(user=practitioner, confirmed=True)
    client = password_only(practitioner)
    before = client.cookies["sessionid"].value
    response = client.post("/accounts/two-factor/", {"code": code_for(device, steps_ahead=1)})
    assert response.status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert client.get("/search/").status_code == 200
    # Whoever kept the password-only session's cookie holds nothing.
    stale = Client()
    stale.cookies["sessionid"] = before
    response = stale.get("/search/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
