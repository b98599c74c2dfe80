"""New users come in by invitation: a single-use link, expiring in 72 hours, to set a password."""

import base64
import re
from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Invitation, Role, User
from audit.models import Action
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_partner, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "correct-horse-battery-staple-9"


@pytest.fixture
def area():
    return make_area(name="Homeshire")


@pytest.fixture
def admin(client, area):
    user = make_user(role=Role.LA_ADMIN, organisation=area)
    client.force_login(user)
    return user


def invite(client, organisation, **extra) -> str:
    data = {
        "email": "New.Person@Homeshire.example",
        "given_name": "Nia",
        "family_name": "Okoro",
        "job_title": "Health visitor",
        "organisation": str(organisation.pk),
        "role": "practitioner",
        **extra,
    }
    response = client.post("/manage/users/new/", data)
    html = response.content.decode()
    found = re.search(r"https?://[^<\s]+/accounts/invitation/[^<\s]+/", html)
    return found.group(0) if found else html


def path_of(link: str) -> str:
    return link[link.index("/accounts/") :]


def test_an_admin_adds_a_user_who_sets_a_password_with_the_link_once(client, admin, area):
    clinic = make_partner(area=area, name="Homeshire Clinic")
    link = invite(client, clinic)
    user = User.objects.get(username="new.person@homeshire.example")
    assert (user.role, user.organisation, user.job_title) == (
        Role.PRACTITIONER,
        clinic,
        "Health visitor",
    )
    assert not user.has_usable_password()
    event = last_event()
    assert (event.action, event.actor_id, event.detail["user"]) == (
        Action.USER_CREATE,
        admin.pk,
        user.pk,
    )
    # Only a hash of the token is kept.
    token = path_of(link).split("/")[3]
    assert not Invitation.objects.filter(token_sha256=token).exists()

    newcomer = Client()
    assert newcomer.get(path_of(link)).status_code == 200
    response = newcomer.post(path_of(link), {"password": NEW_PASSWORD, "again": NEW_PASSWORD})
    # Signed in with the new password, and straight on to set up the second factor.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert events_of(Action.USER_CHANGE).last().detail["invitation"] == "accepted"
    assert "Set up a passkey" in newcomer.get("/accounts/two-factor/").content.decode()
    # Spent: the link works once.
    again = newcomer.post(
        path_of(link), {"password": "another-long-password-1", "again": "another-long-password-1"}
    )
    assert again.status_code == 410
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    signed_in = Client().post(
        "/accounts/login/", {"username": user.username, "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302


def test_a_link_expires_after_72_hours(client, admin, area):
    link = invite(client, area)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get(path_of(link))
    assert response.status_code == 410
    assert "This link no longer works" in response.content.decode()
    assert not User.objects.get(username="new.person@homeshire.example").has_usable_password()


def test_links_last_72_hours_by_default(client, admin, area):
    invite(client, area)
    invitation = Invitation.objects.get()
    assert invitation.expires_at - invitation.created_at == timedelta(hours=72)


def test_a_new_link_replaces_the_old_one(client, admin, area):
    old = invite(client, area)
    user = User.objects.get(username="new.person@homeshire.example")
    response = client.post(f"/manage/users/{user.pk}/invitation/")
    event = last_event()
    assert (event.action, event.actor_id) == (Action.USER_CHANGE, admin.pk)
    assert event.detail["invitation"] == "reissued"
    new = re.search(
        r"https?://[^<\s]+/accounts/invitation/[^<\s]+/", response.content.decode()
    ).group(0)
    assert Client().get(path_of(old)).status_code == 410
    assert Client().get(path_of(new)).status_code == 200


def test_a_weak_password_is_refused_and_the_link_still_works(client, admin, area):
    link = invite(client, area)
    newcomer = Client()
    response = newcomer.post(path_of(link), {"password": "password", "again": "password"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in html
    mismatch = newcomer.post(path_of(link), {"password": NEW_PASSWORD, "again": "other"})
    assert "The passwords do not match" in mismatch.content.decode()
    assert newcomer.get(path_of(link)).status_code == 200


def test_an_admin_cannot_add_a_user_to_another_area_or_as_auditor(client, admin, area):
    elsewhere = make_area(name="Farshire")
    html = invite(client, elsewhere)
    assert "Select their organisation" in html
    html = invite(client, area, role="auditor")
    assert "Select a role" in html
    assert not User.objects.filter(username="new.person@homeshire.example").exists()


def test_an_address_already_in_use_is_refused(client, admin, area):
    make_user(email="new.person@homeshire.example", organisation=area)
    html = invite(client, area)
    assert "An account with this email address already exists" in html
    assert User.objects.filter(username__iexact="new.person@homeshire.example").count() == 1


def test_a_new_user_can_do_nothing_until_vetted(client, admin, area):
    link = invite(client, area)
    newcomer = Client()
    newcomer.post(path_of(link), {"password": NEW_PASSWORD, "again": NEW_PASSWORD})
    newcomer.get("/accounts/two-factor/?method=app")
    device = TOTPDevice.objects.get(user__username="new.person@homeshire.example")
    secret = base64.b32encode(device.bin_key).decode()
    newcomer.post("/accounts/two-factor/?method=app", {"code": pyotp.TOTP(secret).now()})
    response = newcomer.get("/search/")
    assert response.status_code == 403
    assert "Your vetting is not complete" in response.content.decode()


def events_of(action):
    return events().filter(action=action)


def test_without_two_factor_sign_in_the_invitation_signs_in_and_goes_home(
    client, admin, area, settings
):
    settings.REQUIRE_MFA = False
    link = invite(client, area)
    newcomer = Client()
    response = newcomer.post(path_of(link), {"password": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert newcomer.get("/").context["user"].username == "new.person@homeshire.example"


def test_the_set_up_step_belongs_to_the_session_that_used_the_link(client, admin, area):
    link = invite(client, area)
    Client().post(path_of(link), {"password": NEW_PASSWORD, "again": NEW_PASSWORD})
    # Someone else who learns the password signs in elsewhere: no key, nothing to set up.
    other = Client()
    other.post(
        "/accounts/login/", {"username": "new.person@homeshire.example", "password": NEW_PASSWORD}
    )
    response = other.get("/accounts/two-factor/?method=app")
    assert response.status_code == 403
    assert "You need a set-up link" in response.content.decode()
    assert not TOTPDevice.objects.filter(user__username="new.person@homeshire.example").exists()
