"""The outbox sends through a real SMTP server started in the test (aiosmtpd): delivered, a
server that refuses for now and then recovers, a server that is down and then comes up, and
an address refused for good."""

import socket
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from accounts import outbox, services
from accounts.models import EmailAttempt, OutboundEmail, Role
from tests.factories import make_area, make_user

pytestmark = pytest.mark.django_db

SERVICE = "https://find.example.gov.uk"


class Mailbox:
    """An aiosmtpd handler: refuses recipients while `refusing` holds an SMTP answer, and
    otherwise keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list = []
        self.refusing = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusing:
            return self.refusing
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_port(settings):
    port = free_port()
    settings.EMAIL_ENABLED = True
    settings.SERVICE_URL = SERVICE
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Find who's working with a child <noreply@find.example.gov.uk>"
    return port


@pytest.fixture
def server(smtp_port):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def invited():
    area = make_area(name="Homeshire")
    return services.user_invite(
        email="nia.okoro@homeshire.example",
        given_name="Nia",
        family_name="Okoro",
        job_title="Health visitor",
        organisation=area,
        role=Role.PRACTITIONER,
        by=make_user(role=Role.LA_ADMIN, organisation=area),
        request=None,
    )


def test_an_invitation_is_delivered_by_smtp(server, invited):
    counts = outbox.outbox_send_due()
    assert counts.sent == 1
    (envelope,) = server.received
    assert envelope.rcpt_tos == ["nia.okoro@homeshire.example"]
    assert envelope.mail_from == "noreply@find.example.gov.uk"
    message = message_from_bytes(envelope.content)
    assert message["Subject"] == "You have been invited to use Find who's working with a child"
    body = message.get_payload(decode=True).decode()
    assert f"{SERVICE}/accounts/invitation/{invited.token}/" in body
    queued = OutboundEmail.objects.get()
    assert queued.provider_reference == message["Message-ID"]
    assert queued.tries.get().outcome == EmailAttempt.Outcome.SENT


def test_a_server_that_refuses_for_now_then_recovers_gets_the_message_on_a_retry(server, invited):
    server.refusing = "451 4.3.0 Mailbox temporarily unavailable, try again later"
    now = timezone.now()
    assert outbox.outbox_send_due(now=now).retrying == 1
    assert server.received == []
    queued = OutboundEmail.objects.get()
    assert queued.state == OutboundEmail.State.PENDING
    assert "451" in queued.last_error

    server.refusing = ""
    later = queued.send_after
    assert outbox.outbox_send_due(now=later).sent == 1

    assert len(server.received) == 1
    queued.refresh_from_db()
    assert (queued.state, queued.attempts, queued.last_error) == ("sent", 2, "")
    assert [t.outcome for t in queued.tries.all()] == ["retry", "sent"]


def test_a_server_that_is_down_then_comes_up_gets_the_message(smtp_port, invited):
    now = timezone.now()
    assert outbox.outbox_send_due(now=now).retrying == 1  # nothing listens on the port
    queued = OutboundEmail.objects.get()
    assert queued.last_error.startswith("ConnectionRefusedError")

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        assert outbox.outbox_send_due(now=queued.send_after).sent == 1
    finally:
        controller.stop()
    assert [envelope.rcpt_tos for envelope in mailbox.received] == [["nia.okoro@homeshire.example"]]


def test_an_address_refused_for_good_is_given_up_at_once(server, invited):
    server.refusing = "550 5.1.1 No such user here"
    counts = outbox.outbox_send_due()
    assert counts.failed == 1
    queued = OutboundEmail.objects.get()
    assert (queued.state, queued.attempts) == (OutboundEmail.State.FAILED, 1)
    assert queued.why_not_sent == "The address was refused"
    assert queued.personalisation == {}
