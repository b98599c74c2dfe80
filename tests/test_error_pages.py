"""Every error a person can meet is a GOV.UK page with the request id to quote (issue 15,
item 17): 400, 403, 404, 405 (a wrong method, such as GET on sign-out), 429, 500 and 503
(the database cannot be reached)."""

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from accounts.models import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _fails(request):
    raise RuntimeError("a bug")


def _database_down(request):
    raise OperationalError("could not connect to server")


def _connection_lost(request):
    raise InterfaceError("connection already closed")


def _fine(request):
    return HttpResponse("fine")


handler500 = "signposting.views.server_error"
urlpatterns = [
    path("boom/", _fails),
    path("db-down/", _database_down),
    path("connection-lost/", _connection_lost),
    path("fine/", _fine),
]


def assert_govuk_page_with_reference(response, status: int, heading: str) -> None:
    html = response.content.decode()
    assert response.status_code == status
    assert 'class="govuk-template' in html and heading in html
    assert (
        f'quote this reference: <strong class="app-reference">{response["X-Request-ID"]}<' in html
    )


def test_a_wrong_method_is_a_page_not_a_blank_error(client):
    response = client.get("/accounts/logout/")
    assert_govuk_page_with_reference(response, 405, "This page cannot be used like that")
    assert "POST" in response["Allow"] and "GET" not in response["Allow"]


def test_the_api_keeps_its_own_answers(client):
    response = client.get("/api/v1/involvements")
    assert response.status_code in (401, 405)
    assert "govuk-template" not in response.content.decode()


def test_page_not_found_and_forbidden_quote_the_reference(client):
    assert_govuk_page_with_reference(client.get("/no-such-page/"), 404, "Page not found")
    client.force_login(make_user(role=Role.AUDITOR))
    assert_govuk_page_with_reference(client.get("/search/"), 403, "You cannot see this page")


def test_a_bad_request_quotes_the_reference(client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = client.get("/", HTTP_HOST="not-this-host.example")
    assert_govuk_page_with_reference(response, 400, "there is a problem with your request")


def test_a_csrf_failure_quotes_the_reference():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "a", "password": "b"})
    assert_govuk_page_with_reference(response, 403, "your form could not be sent")


def test_a_server_error_quotes_the_reference(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Sorry, there is a problem with the service" in html
    assert response["X-Request-ID"] in html


def test_a_database_that_cannot_be_reached_is_a_503(settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/db-down/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert "Sorry, the service is unavailable" in html and response["X-Request-ID"] in html
    assert client.get("/fine/").status_code == 200


def test_too_many_searches_quotes_the_reference(client, settings):
    settings.LOOKUPS_PER_HOUR = 0
    client.force_login(make_user(role=Role.PRACTITIONER))
    response = client.post(
        "/search/",
        {"family_name": "Okafor", "dob_day": "1", "dob_month": "2", "dob_year": "2015"},
    )
    assert_govuk_page_with_reference(response, 429, "You have made too many searches")


def test_a_connection_lost_in_a_failover_is_a_503_not_a_traceback(settings):
    # What a request meets on a persistent connection whose server died under it; the next
    # request's health check opens a new one (tests/test_cluster.py).
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/connection-lost/")
    assert response.status_code == 503
    html = response.content.decode()
    assert "Sorry, the service is unavailable" in html and "Traceback" not in html
    assert "connection already closed" not in html
