"""Passkeys in the real browser: Chromium's virtual authenticator (the DevTools WebAuthn
domain) stands in for a fingerprint reader. A new user sets a password and a passkey in one
go from their invitation, signs in later with the passkey, and an LA admin resets it when it
is lost. axe on every page."""

from pathlib import Path

import pytest
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import Role, User
from accounts.services import user_invite
from audit.models import Action
from tests.audit.helpers import events
from tests.browser.conftest import assert_accessible, wait_for_landing
from tests.factories import PASSWORD, make_area, make_user

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
NEW_PASSWORD = "a-long-password-for-nia-okoro"


def virtual_authenticator(page) -> str:
    """A platform authenticator that says yes, as a laptop's fingerprint reader would."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    found = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.passkeys_cdp = cdp
    return found["authenticatorId"]


def credentials(page, authenticator_id: str) -> list:
    return page.passkeys_cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})[
        "credentials"
    ]


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.fixture
def newcomer(settings):
    settings.REQUIRE_MFA = True
    area = make_area(name="Homeshire")
    admin = make_user(role=Role.LA_ADMIN, organisation=area)
    invited = user_invite(
        email="nia.okoro@homeshire.example",
        given_name="Nia",
        family_name="Okoro",
        job_title="Health visitor",
        organisation=area,
        role=Role.PRACTITIONER,
        by=admin,
        request=None,
    )
    from accounts.services import vetting_record

    today = timezone.localdate()
    vetting_record(
        user=invited.user,
        by=admin,
        dbs_checked_on=today,
        training_completed_on=today,
        agreement_accepted_on=today,
    )
    return invited


def test_a_new_user_sets_up_a_passkey_and_signs_in_with_it(page, newcomer):
    authenticator = virtual_authenticator(page)
    page.goto(f"{page.base_url}/accounts/invitation/{newcomer.token}/")
    page.wait_for_selector("h1:has-text('Set your password')")
    assert_accessible(page)
    page.get_by_label("Create a password").fill(NEW_PASSWORD)
    page.get_by_label("Type the password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()

    # In one go: the passkey, preferred, on the next page.
    page.wait_for_selector("h1:has-text('Set up a passkey')")
    assert_accessible(page)
    screenshot(page, "passkey-set-up.png")
    page.get_by_role("button", name="Set up a passkey").click()
    page.wait_for_selector("h2:has-text('Your backup codes')")
    assert_accessible(page)
    screenshot(page, "passkey-backup-codes.png")
    assert len(credentials(page, authenticator)) == 1
    user = User.objects.get(username="nia.okoro@homeshire.example")
    assert WebAuthnCredential.objects.filter(user=user, confirmed=True).count() == 1
    assert (
        events()
        .filter(action=Action.USER_CHANGE, actor_id=user.pk, detail__method="passkey")
        .exists()
    )
    page.get_by_role("button", name="Continue").click()
    wait_for_landing(page)
    page.goto(page.base_url + "/search/")
    page.wait_for_selector("h1:has-text('Find a child')")

    # Next time: the password, then the passkey.
    page.get_by_role("button", name="Sign out").click()
    page.goto(page.base_url + "/accounts/login/?next=/search/")
    page.get_by_label("Email address").fill("nia.okoro@homeshire.example")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("h1:has-text('Confirm it is you')")
    assert_accessible(page)
    screenshot(page, "passkey-sign-in.png")
    page.get_by_role("button", name="Use your passkey").click()
    page.wait_for_url(page.base_url + "/search/")
    assert_accessible(page)
    assert (
        events()
        .filter(action=Action.SIGN_IN, actor_id=user.pk, detail__second_factor="passkey")
        .exists()
    )


def test_a_lost_passkey_is_reset_by_the_la_admin(page, newcomer):
    user = newcomer.user
    user.set_password(PASSWORD)
    user.save()
    admin = make_user(role=Role.LA_ADMIN, organisation=user.organisation)
    laptop = virtual_authenticator(page)
    set_up_a_passkey_with_a_link(page, user)
    page.get_by_role("button", name="Sign out").click()
    remove(page, laptop)  # the laptop is lost

    # The area's LA admin (with a passkey of their own) checks, then resets it.
    theirs = virtual_authenticator(page)
    set_up_a_passkey_with_a_link(page, admin)
    page.goto(f"{page.base_url}/manage/users/{user.pk}/")
    page.get_by_role("button", name="Reset second factor").click()
    page.wait_for_selector("h1:has-text('Check before you reset the second factor')")
    assert_accessible(page)
    screenshot(page, "second-factor-reset-check.png")
    page.get_by_role("button", name="Reset second factor").click()
    page.wait_for_selector("h1:has-text('Second factor reset')")
    assert_accessible(page)
    screenshot(page, "second-factor-reset-done.png")
    new_link = page.locator("code").inner_text()
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    page.get_by_role("button", name="Sign out").click()
    remove(page, theirs)

    # With the new link and their password, the user sets up a passkey on a new laptop.
    virtual_authenticator(page)
    page.goto(new_link)
    page.wait_for_selector("h1:has-text('Set up your second factor again')")
    assert_accessible(page)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Set up a passkey").click()
    page.wait_for_selector("h2:has-text('Your backup codes')")
    assert WebAuthnCredential.objects.filter(user=user, confirmed=True).count() == 1


def set_up_a_passkey_with_a_link(page, user) -> None:
    """An operator's set-up link (as an area's first admin gets one), then a passkey."""
    from accounts.services import second_factor_reset

    link = second_factor_reset(user=user, by=None, request=None)
    page.goto(f"{page.base_url}/accounts/second-factor/{link.token}/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Set up a passkey").click()
    page.wait_for_selector("h2:has-text('Your backup codes')")
    page.get_by_role("button", name="Continue").click()
    wait_for_landing(page)


def remove(page, authenticator_id: str) -> None:
    page.passkeys_cdp.send(
        "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator_id}
    )
