"""The outbox sends through GOV.UK Notify (accounts.notify, with Notify's own client): a
template by id with the message's personalisation, over real HTTP to a stand-in of Notify's
API started in the test, which checks the client's signed token as Notify does."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from accounts import outbox, services
from accounts.models import OutboundEmail, Role
from tests.factories import make_area, make_user

pytestmark = pytest.mark.django_db

SERVICE_ID = str(uuid.uuid4())
SECRET = str(uuid.uuid4())
API_KEY = f"test_key-{SERVICE_ID}-{SECRET}"
TEMPLATES = {kind.value: str(uuid.uuid4()) for kind in OutboundEmail.Kind}


class NotifyStandIn(BaseHTTPRequestHandler):
    """POST /v2/notifications/email as Notify answers it: 401 without a token signed with
    the key's secret, then whatever status is next in `answers` (201 when none is left)."""

    requests: list[dict]
    answers: list[int]

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"])
            authorised = claims["iss"] == SERVICE_ID
        except jwt.PyJWTError:
            authorised = False
        status = (self.answers.pop(0) if self.answers else 201) if authorised else 403
        self.requests.append({"path": self.path, "body": body, "status": status})
        if status == 201:
            answer = {"id": str(uuid.uuid4()), "reference": body.get("reference")}
        else:
            answer = {"status_code": status, "errors": [{"error": "Error", "message": "No"}]}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def notify(settings):
    handler = type("Handler", (NotifyStandIn,), {"requests": [], "answers": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_ENABLED = True
    settings.SERVICE_URL = "https://find.example.gov.uk"
    settings.EMAIL_BACKEND = "accounts.notify.NotifyEmailBackend"
    settings.GOVUK_NOTIFY_API_KEY = API_KEY
    settings.GOVUK_NOTIFY_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    settings.GOVUK_NOTIFY_TEMPLATE_IDS = TEMPLATES
    settings.EMAIL_TIMEOUT = 5
    yield handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def admin():
    return make_user(role=Role.LA_ADMIN, organisation=make_area(name="Homeshire"))


def invite(admin, email: str) -> services.Invited:
    return services.user_invite(
        email=email,
        given_name="Nia",
        family_name="Okoro",
        job_title="Health visitor",
        organisation=admin.organisation,
        role=Role.PRACTITIONER,
        by=admin,
        request=None,
    )


@pytest.fixture
def invited(admin):
    return invite(admin, "nia.okoro@homeshire.example")


def test_an_invitation_goes_to_notify_as_its_template_with_the_personalisation(notify, invited):
    assert outbox.outbox_send_due().sent == 1
    (request,) = notify.requests
    assert request["path"] == "/v2/notifications/email"
    body = request["body"]
    assert body["email_address"] == "nia.okoro@homeshire.example"
    assert body["template_id"] == TEMPLATES["invitation"]
    queued = OutboundEmail.objects.get()
    assert body["reference"] == f"outbox-{queued.pk}"
    personalisation = body["personalisation"]
    assert personalisation["given_name"] == "Nia"
    assert personalisation["organisation"] == "Homeshire"
    assert personalisation["link"] == (
        f"https://find.example.gov.uk/accounts/invitation/{invited.token}/"
    )
    assert set(personalisation) == {"given_name", "organisation", "invited_by", "link", "expires"}
    # Notify's notification id is kept as the record of the send.
    uuid.UUID(queued.provider_reference)
    assert queued.state == OutboundEmail.State.SENT


def test_notify_failing_for_now_is_tried_again_and_a_bad_request_is_given_up(
    notify, admin, invited
):
    notify.answers.extend([500, 429])
    assert outbox.outbox_send_due().retrying == 1
    queued = OutboundEmail.objects.get()
    assert outbox.outbox_send_due(now=queued.send_after).retrying == 1
    queued.refresh_from_db()
    assert outbox.outbox_send_due(now=queued.send_after).sent == 1
    assert [r["status"] for r in notify.requests] == [500, 429, 201]

    invite(admin, "not-an-address@homeshire.example")
    notify.answers.append(400)
    counts = outbox.outbox_send_due()
    assert counts.failed == 1
    assert OutboundEmail.objects.filter(state=OutboundEmail.State.FAILED).count() == 1


def test_a_wrong_api_key_is_refused_and_the_message_waits_for_a_fixed_key(
    notify, settings, invited
):
    settings.GOVUK_NOTIFY_API_KEY = f"test_key-{SERVICE_ID}-{uuid.uuid4()}"
    assert outbox.outbox_send_due().retrying == 1
    assert notify.requests[-1]["status"] == 403
    settings.GOVUK_NOTIFY_API_KEY = API_KEY
    queued = OutboundEmail.objects.get()
    assert outbox.outbox_send_due(now=queued.send_after).sent == 1
