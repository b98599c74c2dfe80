"""A second factor is enrolled only inside a set-up journey: the invitation link, or the link an
LA admin's reset (or an operator's) gives. Whoever has only the password sees no key and can
register nothing; the reset ends every session and is audited."""

import io
import re
import time

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.models import Invitation, Role
from audit.models import Action
from tests.accounts.test_two_factor import code_for, enrol, password_only, setting_up
from tests.audit.helpers import events, last_event
from tests.factories import PASSWORD, make_area, make_user

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^<\s]+(/accounts/second-factor/[^<\s/]+/)")


@pytest.fixture
def area():
    return make_area(name="Homeshire")


@pytest.fixture
def practitioner(area):
    return make_user(role=Role.PRACTITIONER, organisation=area)


def test_a_password_alone_sees_no_key_and_enrols_nothing(practitioner):
    client = password_only(practitioner)
    for path in ("/accounts/two-factor/", "/accounts/two-factor/?method=app"):
        response = client.get(path)
        html = response.content.decode()
        assert response.status_code == 403 and "You need a set-up link" in html
        assert "<svg" not in html and "totp-key" not in html
    response = client.post("/accounts/two-factor/?method=app", {"code": "123456"})
    assert response.status_code == 403
    assert not TOTPDevice.objects.filter(user=practitioner).exists()
    # Nor can a passkey be registered through the API behind the page.
    begin = client.post("/accounts/passkeys/registration/begin/")
    assert begin.status_code == 403 and begin.json()["code"] == "enrolment_not_allowed"
    assert client.get("/search/").status_code == 302


def test_the_page_names_the_areas_admins_to_ask(area, practitioner):
    make_user(role=Role.LA_ADMIN, organisation=area, email="admin@homeshire.example")
    html = password_only(practitioner).get("/accounts/two-factor/").content.decode()
    assert "admin@homeshire.example" in html


def test_the_set_up_grant_lasts_only_a_while(practitioner, monkeypatch, settings):
    client = setting_up(practitioner)
    assert client.get("/accounts/two-factor/").status_code == 200
    later = time.time() + 60 * settings.SECOND_FACTOR_SETUP_MINUTES + 1
    monkeypatch.setattr(mfa.time, "time", lambda: later)
    assert client.get("/accounts/two-factor/").status_code == 403


def test_a_set_up_link_needs_the_password_and_works_once(practitioner):
    invited = mfa_reset(practitioner)
    path = f"/accounts/second-factor/{invited.token}/"
    client = Client()
    page = client.get(path)
    assert page.status_code == 200 and practitioner.username in page.content.decode()
    wrong = client.post(path, {"password": "not-the-password-at-all"})
    assert wrong.status_code == 200
    assert "Enter the password you sign in with" in wrong.content.decode()
    assert last_event().action == Action.SIGN_IN_FAILED  # counted and recorded
    right = client.post(path, {"password": PASSWORD})
    assert right.status_code == 302 and right["Location"] == "/accounts/two-factor/"
    assert Client().get(path).status_code == 410  # spent


def test_wrong_passwords_at_a_set_up_link_lock_the_account(practitioner, settings):
    invited = mfa_reset(practitioner)
    path = f"/accounts/second-factor/{invited.token}/"
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(path, {"password": "not-the-password-at-all"})
    locked = client.post(path, {"password": PASSWORD})
    assert locked.status_code == 429
    assert Invitation.objects.get(purpose="second_factor").used_at is None


def test_an_invitation_link_is_not_a_set_up_link_nor_the_other_way_round(practitioner):
    invited = mfa_reset(practitioner)
    assert Client().get(f"/accounts/invitation/{invited.token}/").status_code == 410


def mfa_reset(user):
    from accounts.services import second_factor_reset

    return second_factor_reset(user=user, by=None, request=None)


# --- An LA admin resets a lost second factor -----------------------------------------------


@pytest.fixture
def admin(client, area):
    user = make_user(role=Role.LA_ADMIN, organisation=area)
    client.force_login(user)
    return user


def test_an_admin_checks_then_resets_and_gets_a_link_once(client, admin, practitioner):
    enrol(setting_up(practitioner), practitioner)
    device = TOTPDevice.objects.get(user=practitioner, confirmed=True)
    signed_in = password_only(practitioner)
    signed_in.post("/accounts/two-factor/", {"code": code_for(device, steps_ahead=1)})
    assert signed_in.get("/search/").status_code == 200

    url = f"/manage/users/{practitioner.pk}/second-factor/"
    check = client.get(url).content.decode()
    assert "Check before you reset the second factor" in check
    assert TOTPDevice.objects.filter(user=practitioner).exists()  # nothing done yet
    done = client.post(url)
    html = done.content.decode()
    assert done.status_code == 200 and "Second factor reset" in html
    path = LINK.search(html).group(1)
    # Every factor they had is gone, and every session of theirs has ended.
    assert not TOTPDevice.objects.filter(user=practitioner).exists()
    assert not StaticDevice.objects.filter(user=practitioner).exists()
    assert signed_in.get("/search/").status_code == 302
    event = last_event()
    assert (event.action, event.actor_id, event.detail["user"]) == (
        Action.USER_CHANGE,
        admin.pk,
        practitioner.pk,
    )
    assert (
        event.detail["second_factor"] == "reset" and event.detail["sessions_ended"] == 2
    )  # both of them
    # The user comes back with the link and their password, and sets up a new one.
    newcomer = Client()
    newcomer.post(path, {"password": PASSWORD})
    codes = enrol(newcomer, practitioner)
    assert len(codes) == 10 and newcomer.get("/search/").status_code == 200


def test_an_admin_cannot_reset_another_areas_user_or_their_own(client, admin, area):
    stranger = make_user(role=Role.PRACTITIONER, organisation=make_area())
    assert client.get(f"/manage/users/{stranger.pk}/second-factor/").status_code == 404
    assert client.post(f"/manage/users/{stranger.pk}/second-factor/").status_code == 404
    own = client.post(f"/manage/users/{admin.pk}/second-factor/")
    assert "You cannot reset your own second factor" in own.content.decode()
    assert not events().filter(detail__second_factor="reset").exists()


def test_a_user_still_invited_gets_a_new_invitation_instead(client, admin, area):
    invited = make_user(role=Role.PRACTITIONER, organisation=area)
    invited.set_unusable_password()
    invited.save()
    response = client.post(f"/manage/users/{invited.pk}/second-factor/")
    assert "make a new invitation link" in response.content.decode()


# --- Operators: an area's first admin, or a lone admin --------------------------------------


def test_create_user_gives_a_first_set_up_link(area, monkeypatch):
    monkeypatch.setenv("SIGNPOSTING_NEW_PASSWORD", "a-long-password-for-the-first-admin")
    out = io.StringIO()
    call_command(
        "create_user",
        "first.admin@homeshire.example",
        "--role",
        "la_admin",
        "--organisation",
        area.ons_code,
        "--vetted-today",
        stdout=out,
    )
    path = re.search(r"/accounts/second-factor/[^\s/]+/", out.getvalue()).group(0)
    client = Client()
    response = client.post(path, {"password": "a-long-password-for-the-first-admin"})
    assert response["Location"] == "/accounts/two-factor/"
    assert client.get("/accounts/two-factor/").status_code == 200


def test_the_operator_command_resets_and_prints_a_link(practitioner):
    out = io.StringIO()
    call_command(
        "second_factor_reset", practitioner.username, "--base-url", "https://s.example", stdout=out
    )
    assert re.search(r"https://s\.example/accounts/second-factor/[^\s/]+/", out.getvalue())
    event = last_event()
    assert event.detail["second_factor"] == "reset" and event.actor_id is None
