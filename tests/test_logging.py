"""Structured logs (issue 17, part 1): one JSON object a line, a line for every request and
for every command run, each carrying its request id (or run id), and none of a child's
details: not their names, date of birth, NHS number, postcode, public id, nor the reason a
practitioner gave (docs/operations/logging.md)."""

import io
import json
import logging
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from accounts.models import Role
from signposting.logs import JsonFormatter
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

# Sentinels: values that appear nowhere in a log unless a child's details leaked into it.
GIVEN, FAMILY, OTHER_FAMILY = "Zebedee", "Quillfeather", "Marchbanks"
DOB = date(2013, 11, 29)
DOB_SHAPES = ("2013-11-29", "29/11/2013", "29 November 2013", "2013, 11, 29")
NHS_NUMBER = "9434765919"
NHS_SHAPES = (NHS_NUMBER, "943 476 5919")
POSTCODE_SHAPES = ("SW1A 1AA", "SW1A1AA", "sw1a 1aa")  # every child of make_child lives there
REASON_DETAILS = "Referral from Wexcombe Primary about a bruise"


@pytest.fixture
def log(db):
    """What the service logs while the test runs, through its own handler, filter and
    formatter (settings.LOGGING): the console handler's stream, swapped for a buffer (once
    the test database is set up: its migrate run logs too)."""
    handler = next(
        h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def request_lines(buffer: io.StringIO) -> list[dict]:
    return [line for line in lines(buffer) if line["logger"] == "signposting.requests"]


def assert_no_child_data(text: str, *also: str) -> None:
    for secret in (GIVEN, FAMILY, OTHER_FAMILY, *DOB_SHAPES, *NHS_SHAPES, *POSTCODE_SHAPES, *also):
        assert secret.lower() not in text.lower(), secret


@pytest.fixture
def area():
    return make_area()


@pytest.fixture
def child(area):
    return make_child(
        area=area,
        given_names=GIVEN,
        family_name=FAMILY,
        date_of_birth=DOB,
        nhs_number=NHS_NUMBER,
    )


def test_a_search_and_a_record_view_log_json_with_the_request_id_and_no_child_data(
    client, area, child, log
):
    practitioner = make_user(role=Role.PRACTITIONER, organisation=area)
    client.force_login(practitioner)
    found = client.post(
        "/search/",
        {
            "nhs_number": NHS_NUMBER,
            "family_name": FAMILY,
            "given_name": GIVEN,
            "dob_day": "29",
            "dob_month": "11",
            "dob_year": "2013",
            "postcode": "SW1A 1AA",
        },
    )
    assert found.status_code == 200 and f"/children/{child.public_id}/" in found.content.decode()
    asked = client.get(f"/children/{child.public_id}/")
    shown = client.post(
        f"/children/{child.public_id}/",
        {"reason": "assessment", "details": f"{REASON_DETAILS}, {GIVEN} {OTHER_FAMILY}"},
    )
    assert shown.status_code == 200 and FAMILY in shown.content.decode()

    text = log.getvalue()
    logged = lines(log)  # every line is one JSON object
    by_id = {line["request_id"]: line for line in request_lines(log)}
    for response, url_name in (
        (found, "children:search"),
        (asked, "children:record"),
        (shown, "children:record"),
    ):
        line = by_id[response["X-Request-ID"]]
        assert line["url_name"] == url_name
        assert line["status"] == 200
        assert line["user_id"] == practitioner.pk and line["role"] == "practitioner"
        assert isinstance(line["duration_ms"], float)
        assert {"time", "level", "logger", "message", "method"} <= line.keys()
    assert all(line["request_id"] for line in logged)
    assert_no_child_data(text, child.public_id, REASON_DETAILS, practitioner.email)


def test_a_request_is_one_line_and_no_path_is_logged(client, log):
    response = client.get("/children/7KQ-4M2-PX9/")  # not signed in: to the sign-in page
    [line] = request_lines(log)
    assert line["request_id"] == response["X-Request-ID"]
    assert (line["url_name"], line["status"], line["method"]) == ("children:record", 302, "GET")
    assert (line["user_id"], line["role"]) == (None, None)
    assert "/children/" not in log.getvalue() and "7KQ-4M2-PX9" not in log.getvalue()


def test_a_page_not_found_is_logged_without_its_path(client, log):
    client.get("/no-such-page/7KQ-4M2-PX9/")
    [line] = request_lines(log)
    assert (line["url_name"], line["status"]) == (None, 404)
    assert "no-such-page" not in log.getvalue() and "7KQ-4M2-PX9" not in log.getvalue()


# --- Errors: the traceback, redacted; every line of the request carries its id -----------

_logger = logging.getLogger("tests.test_logging")


def _fails_in_a_lookup(request, public_id):
    # A name in free text has no shape to be found by: code never logs one. Identifiers,
    # dates and quoted values are blanked wherever they turn up.
    _logger.warning("Looking up %s born %s", public_id, DOB)
    raise ValueError(f"no record for '{GIVEN} {FAMILY}' ({public_id}, {DOB}, {NHS_NUMBER})")


def _logs_and_answers(request):
    _logger.info("Working on it")
    return HttpResponse("fine")


handler500 = "signposting.views.server_error"
urlpatterns = [
    path("children/<str:public_id>/boom/", _fails_in_a_lookup, name="boom"),
    path("fine/", _logs_and_answers, name="fine"),
]


def test_a_server_error_is_logged_with_its_traceback_and_reference_but_no_child_data(settings, log):
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/children/7KQ-4M2-PX9/boom/")
    assert response.status_code == 500
    reference = response["X-Request-ID"]
    assert reference in response.content.decode()  # the page asks the user to quote it
    logged = lines(log)
    assert {line["request_id"] for line in logged} == {reference}
    error = next(line for line in logged if line["logger"] == "django.request")
    assert error["level"] == "ERROR"
    assert "ValueError: no record for [redacted]" in error["exc_info"]
    assert 'File "' in error["exc_info"]  # the frames stay readable
    [request_line] = request_lines(log)
    assert (request_line["url_name"], request_line["status"]) == ("boom", 500)
    assert_no_child_data(log.getvalue(), "7KQ-4M2-PX9", "/children/")


def test_every_line_written_while_serving_a_request_carries_its_id(settings, client, log):
    settings.ROOT_URLCONF = __name__
    response = client.get("/fine/")
    [working, served] = lines(log)
    assert working["message"] == "Working on it" and served["message"] == "request"
    assert working["request_id"] == served["request_id"] == response["X-Request-ID"]


# --- Commands ---------------------------------------------------------------------------


def test_a_command_run_logs_a_line_as_it_starts_and_as_it_ends(log):
    call_command("check", stdout=io.StringIO())
    started, finished = [line for line in lines(log) if line["logger"] == "signposting.commands"]
    assert (started["message"], finished["message"]) == ("command started", "command finished")
    assert started["command"] == finished["command"] == "check"
    assert started["run_id"] == finished["run_id"]
    assert finished["exit_status"] == 0 and finished["level"] == "INFO"
    assert isinstance(finished["duration_ms"], float)


def test_a_failed_command_logs_its_exit_status_and_not_its_arguments(log):
    with pytest.raises(CommandError):
        call_command("verify_audit", f"--checkpoint=/nowhere/{FAMILY}.json")
    finished = lines(log)[-1]
    assert finished["message"] == "command finished"
    assert (finished["command"], finished["exit_status"]) == ("verify_audit", 1)
    assert (finished["level"], finished["error"]) == ("ERROR", "CommandError")
    assert FAMILY not in log.getvalue()
