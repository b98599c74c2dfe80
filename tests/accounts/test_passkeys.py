"""Passkeys on the server side (the browser journey, with Chromium's virtual authenticator, is
tests/browser/test_passkey_journey.py): who may register one, and REQUIRE_PASSKEY, under
which only a passkey counts as the second factor."""

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import Role
from tests.accounts.test_two_factor import code_for, enrol, password_only, setting_up
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def practitioner():
    return make_user(role=Role.PRACTITIONER)


def _a_passkey_of(user) -> WebAuthnCredential:
    # As the library stores one once the browser's attestation is verified.
    return WebAuthnCredential.objects.create(
        user=user,
        name="Laptop",
        confirmed=True,
        credential_id=b"credential-" + str(user.pk).encode(),
        public_key=b"not used here",
        sign_count=0,
    )


def test_the_set_up_journey_prefers_a_passkey_and_offers_the_app(practitioner):
    html = setting_up(practitioner).get("/accounts/two-factor/").content.decode()
    assert "Set up a passkey" in html and "passkey-registration-placeholder" in html
    assert "otp_webauthn_register.js" in html and "Use an authenticator app instead" in html
    # The catalogue the library's script calls is loaded before it runs, not "async".
    assert '<script src="/accounts/passkeys/jsi18n/"></script>' in html


def test_registering_a_passkey_begins_only_inside_the_set_up_journey(practitioner):
    assert setting_up(practitioner).post("/accounts/passkeys/registration/begin/").json()["rp"] == {
        "id": "testserver",
        "name": "Find who's working with a child",
    }
    refused = password_only(practitioner).post("/accounts/passkeys/registration/begin/")
    assert refused.status_code == 403


def test_a_user_with_a_passkey_is_asked_for_it_at_sign_in(practitioner):
    _a_passkey_of(practitioner)
    html = password_only(practitioner).get("/accounts/two-factor/").content.decode()
    assert "Use your passkey" in html and "otp_webauthn_auth.js" in html
    assert "Or enter a code" not in html  # no app, no backup codes: nothing to type


def test_passwordless_sign_in_is_off(client):
    response = client.post("/accounts/passkeys/authentication/begin/")
    assert response.status_code == 403
    assert response.json()["code"] == "passwordless_login_disabled"


def test_with_require_passkey_the_app_is_not_offered(practitioner, settings):
    settings.REQUIRE_PASSKEY = True
    client = setting_up(practitioner)
    for path in ("/accounts/two-factor/", "/accounts/two-factor/?method=app"):
        html = client.get(path).content.decode()
        assert "Set up a passkey" in html and "authenticator app instead" not in html
        assert "totp-key" not in html


def test_with_require_passkey_an_app_code_leads_only_to_setting_up_a_passkey(
    practitioner, settings
):
    enrol(setting_up(practitioner), practitioner)
    settings.REQUIRE_PASSKEY = True
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=practitioner, confirmed=True)
    client = password_only(practitioner)
    client.post("/accounts/two-factor/", {"code": code_for(device, steps_ahead=1)})
    # The code was right, but it is not a passkey: no capability yet...
    assert client.get("/search/").status_code == 302
    html = client.get("/accounts/two-factor/").content.decode()
    assert "This service now asks for a passkey" in html
    # ...only the passkey to set up, which this session (it gave a code) may do.
    assert client.post("/accounts/passkeys/registration/begin/").status_code == 200


def test_with_require_passkey_codes_do_not_sign_in_a_user_who_has_a_passkey(practitioner, settings):
    codes = enrol(setting_up(practitioner), practitioner)
    _a_passkey_of(practitioner)
    settings.REQUIRE_PASSKEY = True
    client = password_only(practitioner)
    html = client.get("/accounts/two-factor/").content.decode()
    assert "Use your passkey" in html and "Or enter a code" not in html
    client.post("/accounts/two-factor/", {"code": codes[0]})
    assert client.get("/search/").status_code == 302
