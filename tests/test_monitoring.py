"""Error monitoring (issue 17, part 2): Sentry only when SENTRY_DSN is set, and no child data
in what it sends: no request body, cookie, query string or local variable, and anything
child-shaped blanked from messages and exception values (signposting/monitoring.py)."""

import io
import re
from datetime import date
from urllib.parse import urlencode

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import CommandError, call_command
from django.core.signals import request_started
from django.db import close_old_connections
from django.test import Client
from sentry_sdk.transport import Transport

import children.views
from accounts.models import Role
from signposting.logs import log_context
from signposting.monitoring import before_breadcrumb, before_send, start_error_monitoring
from tests.factories import make_area, make_child, make_user
from tests.security.test_settings import run_manage

GIVEN, FAMILY = "Zebedee", "Quillfeather"
DOB = date(2013, 11, 29)
NHS_NUMBER = "9434765919"
SENTINELS = (GIVEN, FAMILY, "2013-11-29", "2013, 11, 29", NHS_NUMBER, "SW1A 1AA", "SW1A1AA")


# --- Off unless asked for ----------------------------------------------------------------

_IS_ON = "import sentry_sdk; print(sentry_sdk.get_client().is_active())"


@pytest.mark.parametrize(("dsn", "on"), [("", "False"), ("https://key@sentry.invalid/1", "True")])
def test_error_monitoring_is_on_only_when_a_dsn_is_set(dsn, on):
    result = run_manage("shell", "-v", "0", "-c", _IS_ON, SECRET_KEY="x" * 60, SENTRY_DSN=dsn)
    assert result.stdout.split() == [on], result.stderr


# --- before_send and before_breadcrumb ---------------------------------------------------


def an_event() -> dict:
    """An event as the Django integration builds it for an error in a record view."""
    return {
        "level": "error",
        "transaction": "/children/<str:public_id>/",
        "request": {
            "method": "POST",
            "url": "https://signposting.example/children/7KQ-4M2-PX9/",
            "query_string": f"family_name={FAMILY}",
            "cookies": {"sessionid": "abc"},
            "data": {"details": f"{GIVEN} {FAMILY}"},
            "headers": {"Referer": "https://signposting.example/children/7KQ-4M2-PX9/"},
            "env": {"REMOTE_ADDR": "192.0.2.1"},
        },
        "user": {"id": "12", "email": "practitioner@example.org"},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"no record for '{GIVEN} {FAMILY}' (7KQ-4M2-PX9, 2013-11-29)",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "children/views.py",
                                "function": "_open_record",
                                "lineno": 239,
                                "vars": {"child": f"<Child {GIVEN} {FAMILY}>"},
                            }
                        ]
                    },
                }
            ]
        },
        "logentry": {"message": "Lookup of %s failed", "params": ["7KQ-4M2-PX9"]},
        "extra": {"postcode": "SW1A 1AA", "nhs": NHS_NUMBER},
        "breadcrumbs": {"values": [{"message": f"SELECT ... WHERE nhs_number = '{NHS_NUMBER}'"}]},
        "contexts": {"runtime": {"name": "CPython", "version": "3.11.2"}},
    }


def test_before_send_keeps_the_request_method_only():
    event = before_send(an_event(), {})
    assert event["request"] == {"method": "POST"}
    assert "user" not in event


def test_before_send_blanks_child_shaped_values_and_drops_local_variables():
    event = before_send(an_event(), {})
    [exception] = event["exception"]["values"]
    assert exception["type"] == "ValueError"
    assert exception["value"] == "no record for [redacted] ([redacted], [redacted])"
    [frame] = exception["stacktrace"]["frames"]
    assert (frame["filename"], frame["function"], frame["lineno"]) == (
        "children/views.py",
        "_open_record",
        239,
    )
    assert "vars" not in frame
    assert event["logentry"]["params"] == ["[redacted]"]
    assert event["transaction"] == "/children/<str:public_id>/"  # the pattern, not the path
    assert event["contexts"] == an_event()["contexts"]
    assert_no_child_data(str(event))


def test_an_event_is_tagged_with_the_request_id_the_user_was_shown():
    with log_context(request_id="3e9e5697063f4488a1d196ee350bee9f"):
        event = before_send(an_event(), {})
    assert event["tags"]["request_id"] == "3e9e5697063f4488a1d196ee350bee9f"


def test_before_breadcrumb_blanks_child_shaped_values():
    crumb = before_breadcrumb(
        {"category": "query", "message": f"SELECT 1 WHERE nhs_number = '{NHS_NUMBER}'"}, {}
    )
    assert crumb == {"category": "query", "message": "SELECT 1 WHERE nhs_number = [redacted]"}


def assert_no_child_data(text: str) -> None:
    for secret in (*SENTINELS, "7KQ-4M2-PX9", "practitioner@example.org", "192.0.2.1"):
        assert secret.lower() not in text.lower(), secret


# --- Through the SDK: an error in a lookup, as Sentry would receive it -------------------


class CapturingTransport(Transport):
    """The SDK's transport hook: keeps the envelopes it would have sent."""

    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


@pytest.fixture
def sentry():
    transport = CapturingTransport()
    start_error_monitoring(
        dsn="https://key@sentry.invalid/1", environment="test", transport=transport
    )
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


def served_by_wsgi(path: str, query: str, form: dict, cookies: dict) -> tuple[str, dict]:
    """A POST through Django's WSGI handler, as gunicorn calls it: the SDK's WSGI middleware
    (which the test client passes by) adds the URL, query string, headers and address to the
    event. Django's own test client would do the same, but for that middleware."""
    body = urlencode(form).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_COOKIE": "; ".join(f"{name}={value}" for name, value in cookies.items()),
        "REMOTE_ADDR": "192.0.2.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    answered = []
    # As the test client does: the test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    try:
        WSGIHandler()(environ, lambda status, headers, *exc: answered.append((status, headers)))
    finally:
        request_started.connect(close_old_connections)
    [(status, headers)] = answered
    return status, dict(headers)


@pytest.mark.django_db
def test_an_error_raised_in_a_lookup_reaches_sentry_without_child_data(sentry, monkeypatch):
    area = make_area()
    child = make_child(
        area=area, given_names=GIVEN, family_name=FAMILY, date_of_birth=DOB, nhs_number=NHS_NUMBER
    )

    def failing_record(*, child, viewer):
        local_child = child  # a local variable holding the child: never sent
        raise ValueError(
            f"cannot build the record of '{GIVEN} {FAMILY}' {local_child.public_id} "
            f"born {local_child.date_of_birth!r}, NHS {local_child.nhs_number}, SW1A 1AA"
        )

    monkeypatch.setattr(children.views.selectors, "child_record", failing_record)
    client = Client()
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    search = client.post(
        "/search/",
        {"family_name": FAMILY, "given_name": GIVEN, "dob_day": "29", "dob_month": "11"}
        | {"dob_year": "2013", "postcode": "SW1A 1AA"},
    )
    assert child.public_id in search.content.decode()
    asked = client.get(f"/children/{child.public_id}/")  # the reason page: its form's token
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', asked.content.decode())[1]
    status, headers = served_by_wsgi(
        f"/children/{child.public_id}/",
        query=f"family_name={FAMILY}&nhs_number={NHS_NUMBER}",
        form={
            "csrfmiddlewaretoken": token,
            "reason": "assessment",
            "details": f"{GIVEN} {FAMILY}, {NHS_NUMBER}",
        },
        cookies={name: morsel.value for name, morsel in client.cookies.items()} | {"seen": FAMILY},
    )
    assert status.startswith("500")
    sentry_sdk.flush()

    events = [envelope.get_event() for envelope in sentry.envelopes if envelope.get_event()]
    [event] = events  # one event: not another for the request's own log line
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert event["tags"]["request_id"] == headers["X-Request-ID"]
    assert event["transaction"] == "/children/{public_id}/"
    assert event["request"] == {"method": "POST"}
    sent = b"".join(envelope.serialize() for envelope in sentry.envelopes).decode()
    assert_no_child_data(sent)
    assert child.public_id not in sent


@pytest.mark.django_db
def test_a_failed_command_reaches_sentry_tagged_with_its_name(sentry):
    with pytest.raises(CommandError):
        call_command("verify_audit", "--checkpoint=/nowhere/checkpoint.json")
    [event] = [envelope.get_event() for envelope in sentry.envelopes if envelope.get_event()]
    assert event["tags"]["command"] == "verify_audit"
    assert event["logentry"]["message"] == "command finished"
