"""Error pages follow GOV.UK patterns and leak nothing."""

import pytest
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db

LEAKS = ["Traceback", "DEBUG", "SECRET_KEY", "django.", 'File "', "settings.py", "sentinel-"]


def assert_leaks_nothing(html: str) -> None:
    for leak in LEAKS:
        assert leak not in html


def test_404_is_a_govuk_page_and_leaks_nothing(client):
    response = client.get("/no-such-page/?q=sentinel-secret")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "govuk-heading-l" in html
    assert_leaks_nothing(html)


@pytest.mark.urls("tests.security.urls_failing")
def test_500_is_a_govuk_page_and_leaks_nothing(client):
    client.force_login(make_user())
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Sorry, there is a problem with the service" in html
    assert_leaks_nothing(html)


@pytest.mark.urls("tests.security.urls_failing")
def test_403_is_a_govuk_page(client):
    client.force_login(make_user())
    response = client.get("/forbidden/")
    assert response.status_code == 403
    assert "You cannot see this page" in response.content.decode()


def test_a_form_posted_without_its_csrf_token_is_refused_with_a_clear_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"username": "sam@example.org", "password": "whatever-password"}
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "your form could not be sent" in html
    assert_leaks_nothing(html)


def test_unknown_host_is_refused_without_detail(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert_leaks_nothing(response.content.decode())
