"""Signing in and out, lockouts and password rules."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role
from accounts.services import user_create
from tests.factories import PASSWORD, make_area, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def sign_in(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def visible_text(response) -> str:
    """The page without per-request tokens, to compare two answers."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'class="app-reference">[^<]+<', "", html)  # the request's id
    return re.sub(r'nonce="[^"]+"', "", html)


def test_correct_password_signs_in_and_rotates_the_session_key(client):
    user = make_user(email="sam@example.org")
    client.get(LOGIN)
    client.session.save()
    before = client.session.session_key
    response = sign_in(client, "sam@example.org", PASSWORD)
    assert response.status_code == 302
    # Then the second step (two-factor sign-in), and the search page after it: what a
    # practitioner signs in for.
    assert response.url == reverse("two-factor") + "?next=%2Fsearch%2F"
    assert int(client.session[SESSION_KEY]) == user.pk
    assert client.session.session_key != before


def test_email_is_case_insensitive(client):
    make_user(email="sam@example.org")
    response = sign_in(client, "  Sam@Example.ORG ", PASSWORD)
    assert response.status_code == 302


def test_unknown_user_and_wrong_password_get_the_same_answer(client):
    make_user(email="sam@example.org")
    wrong_password = sign_in(client, "sam@example.org", "not-the-password-at-all")
    unknown_user = sign_in(client, "nobody@example.org", "not-the-password-at-all")
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert "Enter a correct email address and password" in wrong_password.content.decode()
    assert visible_text(wrong_password).replace("sam@example.org", "X") == visible_text(
        unknown_user
    ).replace("nobody@example.org", "X")


def test_inactive_user_gets_the_same_answer_as_a_wrong_password(client):
    make_user(email="gone@example.org", is_active=False)
    response = sign_in(client, "gone@example.org", PASSWORD)
    assert response.status_code == 200
    assert "Enter a correct email address and password" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_empty_form_lists_both_errors_in_the_summary(client):
    response = client.post(LOGIN, {"username": "", "password": ""})
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert 'href="#id_username"' in html and "Enter your email address" in html
    assert 'href="#id_password"' in html and "Enter your password" in html
    assert "<title>Error: Sign in" in html


def test_five_wrong_passwords_lock_the_username(client):
    make_user(email="sam@example.org")
    for _ in range(4):
        assert sign_in(client, "sam@example.org", "wrong-password-xx").status_code == 200
    # The fifth failure is answered with the lockout page ...
    assert sign_in(client, "sam@example.org", "wrong-password-xx").status_code == 429
    # ... and from then on even the right password is refused.
    response = sign_in(client, "sam@example.org", PASSWORD)
    assert response.status_code == 429
    assert "Sign in is locked" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_lockout_of_a_username_holds_from_another_ip(client):
    make_user(email="sam@example.org")
    for n in range(5):
        sign_in(client, "sam@example.org", "wrong-password-xx", REMOTE_ADDR=f"10.0.0.{n + 1}")
    response = sign_in(client, "sam@example.org", PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429


def test_an_unknown_username_locks_the_same_way(client):
    for _ in range(5):
        sign_in(client, "nobody@example.org", "wrong-password-xx", REMOTE_ADDR="10.0.0.1")
    known = make_user(email="sam@example.org")
    for _ in range(5):
        sign_in(client, known.username, "wrong-password-xx", REMOTE_ADDR="10.0.0.2")
    unknown = sign_in(client, "nobody@example.org", "x", REMOTE_ADDR="10.0.0.3")
    existing = sign_in(client, known.username, "x", REMOTE_ADDR="10.0.0.4")
    assert unknown.status_code == existing.status_code == 429
    assert visible_text(unknown) == visible_text(existing)


def test_five_failures_from_one_ip_across_usernames_lock_that_ip(client):
    make_user(email="sam@example.org")
    for n in range(5):
        sign_in(client, f"guess{n}@example.org", "wrong-password-xx", REMOTE_ADDR="192.0.2.7")
    locked = sign_in(client, "sam@example.org", PASSWORD, REMOTE_ADDR="192.0.2.7")
    assert locked.status_code == 429
    elsewhere = sign_in(client, "sam@example.org", PASSWORD, REMOTE_ADDR="192.0.2.8")
    assert elsewhere.status_code == 302


def test_rotating_x_forwarded_for_does_not_bypass_the_ip_lockout(client):
    make_user(email="sam@example.org")
    for n in range(5):
        sign_in(
            client,
            f"guess{n}@example.org",
            "wrong-password-xx",
            REMOTE_ADDR="192.0.2.7",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    response = sign_in(
        client,
        "sam@example.org",
        PASSWORD,
        REMOTE_ADDR="192.0.2.7",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert response.status_code == 429


def test_behind_one_trusted_proxy_forged_left_entries_are_ignored(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    make_user(email="sam@example.org")
    # The attacker writes whatever it likes on the left; our proxy appends the
    # address it saw (198.51.100.20) on the right.
    for n in range(5):
        sign_in(
            client,
            f"guess{n}@example.org",
            "wrong-password-xx",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.20",
        )
    response = sign_in(
        client,
        "sam@example.org",
        PASSWORD,
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.20",
    )
    assert response.status_code == 429


def test_a_successful_sign_in_resets_the_failure_count(client):
    make_user(email="sam@example.org")
    for _ in range(4):
        sign_in(client, "sam@example.org", "wrong-password-xx")
    assert sign_in(client, "sam@example.org", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(4):
        sign_in(client, "sam@example.org", "wrong-password-xx")
    assert sign_in(client, "sam@example.org", PASSWORD).status_code == 302


def test_lockout_cools_off_after_30_minutes(client, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt
    from django.utils import timezone

    make_user(email="sam@example.org")
    for _ in range(5):
        sign_in(client, "sam@example.org", "wrong-password-xx")
    assert sign_in(client, "sam@example.org", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    assert sign_in(client, "sam@example.org", PASSWORD).status_code == 302


def test_a_lockout_ends_a_session_already_signed_in(client):
    victim = make_user(email="sam@example.org")
    client.force_login(victim)
    assert client.get("/").status_code == 200
    other = client.__class__()
    for _ in range(5):
        sign_in(other, "sam@example.org", "wrong-password-xx")
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?locked=1"
    assert SESSION_KEY not in client.session


def test_sign_out_needs_a_post_and_ends_the_session_on_the_server(client):
    from django.contrib.sessions.models import Session

    client.force_login(make_user())
    key = client.session.session_key
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 200
    assert "You have signed out" in response.content.decode()
    assert not Session.objects.filter(session_key=key).exists()


def test_signed_in_user_visiting_sign_in_goes_where_they_would_land(client):
    client.force_login(make_user())
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response.url == reverse("children:search")


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [
        (Role.PRACTITIONER, "/search/"),
        (Role.DATA_MANAGER, "/search/"),
        (Role.LA_ADMIN, "/"),
        (Role.AUDITOR, "/"),
    ],
)
def test_users_who_search_land_on_the_search_page_and_others_on_home(
    client, settings, role, lands_on
):
    settings.REQUIRE_MFA = False
    make_user(role=role, email="sam@example.org", organisation=make_area())
    response = sign_in(client, "sam@example.org", PASSWORD)
    assert response.status_code == 302 and response.url == lands_on


def test_a_next_address_still_wins(client, settings):
    settings.REQUIRE_MFA = False
    make_user(email="sam@example.org")
    response = sign_in(client, "sam@example.org", PASSWORD + "", **{})
    assert response.url == "/search/"
    client.post("/accounts/logout/")
    response = client.post(
        LOGIN + "?next=/notices/", {"username": "sam@example.org", "password": PASSWORD}
    )
    assert response.url == "/notices/"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw-1", "This password is too short"),
        ("qwerty123456", "This password is too common"),
        ("123456789012345", "entirely numeric"),
    ],
)
def test_weak_passwords_are_refused(password, message):
    with pytest.raises(ValidationError) as caught:
        user_create(
            email="new@example.org",
            role=Role.PRACTITIONER,
            organisation=make_area(),
            password=password,
        )
    assert any(message in text for text in caught.value.messages)


def test_an_over_long_username_is_a_form_error_counted_and_recorded(client):
    from tests.audit.helpers import last_event

    too_long = "a" * 300 + "@example.org"
    response = sign_in(client, too_long, "wrong-password-xx", REMOTE_ADDR="192.0.2.9")
    assert response.status_code == 200
    html = response.content.decode()
    assert "govuk-error-summary" in html and "254 characters or fewer" in html
    event = last_event()
    assert event.action == "sign_in_failed" and event.client_ip == "192.0.2.9"
    assert event.detail == {"target_account_exists": False}


def test_over_long_usernames_lock_the_ip_like_any_other_failure(client):
    make_user(email="sam@example.org")
    for n in range(5):
        sign_in(client, f"{n}" * 400, "wrong-password-xx", REMOTE_ADDR="192.0.2.10")
    assert sign_in(client, "sam@example.org", PASSWORD, REMOTE_ADDR="192.0.2.10").status_code == 429
