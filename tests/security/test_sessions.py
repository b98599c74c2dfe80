"""Sessions end after 30 idle minutes and 12 hours in all."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

from signposting.middleware import SESSION_REFRESH_SECONDS, SESSION_SEEN_KEY, SESSION_STARTED_KEY
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_idle_limit_is_30_minutes():
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def test_activity_is_noted_at_most_once_a_minute_so_pages_do_not_write(client):
    client.force_login(make_user())
    client.get("/")  # notes the activity: the expiry slides
    key = client.session.session_key
    expiry = Session.objects.get(session_key=key).expire_date
    client.get("/")
    assert Session.objects.get(session_key=key).expire_date == expiry
    session = client.session
    session[SESSION_SEEN_KEY] = time.time() - SESSION_REFRESH_SECONDS
    session.save()
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )
    client.get("/")
    assert Session.objects.get(session_key=key).expire_date > timezone.now() + timedelta(minutes=29)


def test_a_session_idle_for_more_than_30_minutes_is_signed_out(client):
    client.force_login(make_user())
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get("/")
    assert SESSION_KEY not in client.session
    assert "Sign in" in response.content.decode()


def test_activity_pushes_the_idle_expiry_forward(client):
    client.force_login(make_user())
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )
    client.get("/")
    expiry = Session.objects.get(session_key=client.session.session_key).expire_date
    assert expiry > timezone.now() + timedelta(minutes=29)


def test_sign_in_starts_the_absolute_clock(client):
    make_user(email="sam@example.org")
    client.post("/accounts/login/", {"username": "sam@example.org", "password": PASSWORD})
    assert abs(client.session[SESSION_STARTED_KEY] - time.time()) < 60


def test_a_session_older_than_12_hours_is_signed_out_however_active(client):
    client.force_login(make_user())
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - (12 * 60 * 60 + 1)
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?expired=1"
    assert SESSION_KEY not in client.session
    page = client.get(response.url).content.decode()
    assert "You were signed out because your session ended" in page


def test_a_session_just_under_12_hours_old_still_works(client):
    client.force_login(make_user())
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - (12 * 60 * 60 - 60)
    session.save()
    response = client.get("/")
    assert response.status_code == 200
    assert SESSION_KEY in client.session


def test_a_deactivated_users_session_stops_working(client):
    user = make_user()
    client.force_login(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get("/")
    assert not response.wsgi_request.user.is_authenticated
    assert "govuk-button--start" in response.content.decode()


def test_the_session_store_reads_only_live_sessions():
    from signposting.sessions import SessionStore

    store = SessionStore()
    store["seen"] = "yes"
    store.create()
    key = store.session_key
    assert SessionStore(session_key=key).load() == {"seen": "yes"}
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(session_key=key)
    assert expired.load() == {}
    assert expired.session_key is None  # a new session will be made, never the old one revived
    assert SessionStore(session_key="no-such-session-key-at-all-0123").load() == {}
