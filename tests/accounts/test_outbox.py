"""The outbox: an e-mail is queued in the transaction of the action that causes it and sent
afterwards, each try recorded, retried with a growing wait, given up when it cannot help.
(The SMTP and Notify paths against real servers: test_smtp_delivery.py, test_notify.py.)"""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts import outbox, services
from accounts.models import EmailAttempt, OutboundEmail, Role, User
from tests.factories import make_area, make_user

pytestmark = pytest.mark.django_db

SERVICE = "https://find.example.gov.uk"
State = OutboundEmail.State


@pytest.fixture
def email_on(settings):
    settings.EMAIL_ENABLED = True
    settings.SERVICE_URL = SERVICE
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def area():
    return make_area(name="Homeshire")


@pytest.fixture
def admin(area):
    return make_user(role=Role.LA_ADMIN, organisation=area)


def invite(admin, area, email="nia.okoro@homeshire.example") -> services.Invited:
    return services.user_invite(
        email=email,
        given_name="Nia",
        family_name="Okoro",
        job_title="Health visitor",
        organisation=area,
        role=Role.PRACTITIONER,
        by=admin,
        request=None,
    )


def link_in(body: str) -> str:
    return re.search(rf"{SERVICE}(/\S+)", body).group(1)


def test_an_invitation_is_queued_with_the_action_and_its_link_works_once_sent(
    email_on, admin, area
):
    invited = invite(admin, area)
    assert invited.emailed
    queued = OutboundEmail.objects.get()
    assert (queued.kind, queued.to, queued.state) == (
        OutboundEmail.Kind.INVITATION,
        "nia.okoro@homeshire.example",
        State.PENDING,
    )
    assert mail.outbox == []  # nothing leaves inside the action's transaction

    counts = outbox.outbox_send_due()

    assert (counts.sent, counts.retrying, counts.failed) == (1, 0, 0)
    (message,) = mail.outbox
    assert message.to == ["nia.okoro@homeshire.example"]
    assert "Nia" in message.body and "Homeshire" in message.body
    path = link_in(message.body)
    assert path == f"/accounts/invitation/{invited.token}/"
    assert Client().get(path).status_code == 200
    queued.refresh_from_db()
    assert queued.state == State.SENT and queued.sent_at is not None
    assert queued.provider_reference == message.extra_headers["Message-ID"]
    # The link is not kept once it has gone: only its hash, in the invitation.
    assert queued.personalisation == {}
    assert [attempt.outcome for attempt in queued.tries.all()] == [EmailAttempt.Outcome.SENT]
    assert outbox.outbox_send_due().tried == 0  # sent once only


def test_an_action_rolled_back_queues_nothing(email_on, admin, area):
    with pytest.raises(RuntimeError), transaction.atomic():
        invite(admin, area)
        raise RuntimeError("the rest of the action failed")
    assert not OutboundEmail.objects.exists()
    assert not User.objects.filter(username="nia.okoro@homeshire.example").exists()


def test_with_email_off_nothing_is_queued_and_the_admin_is_given_the_link(client, admin, area):
    client.force_login(admin)
    response = client.post(
        "/manage/users/new/",
        {
            "email": "nia.okoro@homeshire.example",
            "given_name": "Nia",
            "family_name": "Okoro",
            "job_title": "Health visitor",
            "organisation": str(area.pk),
            "role": "practitioner",
        },
    )
    assert "Invitation link ready" in response.content.decode()
    assert "/accounts/invitation/" in response.content.decode()
    assert not OutboundEmail.objects.exists()


def test_with_email_on_the_admin_is_not_shown_the_link_and_sees_whether_it_went(
    email_on, client, admin, area
):
    client.force_login(admin)
    response = client.post(
        "/manage/users/new/",
        {
            "email": "nia.okoro@homeshire.example",
            "given_name": "Nia",
            "family_name": "Okoro",
            "job_title": "Health visitor",
            "organisation": str(area.pk),
            "role": "practitioner",
        },
    )
    html = response.content.decode()
    assert "Invitation sent" in html
    assert "/accounts/invitation/" not in html
    user = User.objects.get(username="nia.okoro@homeshire.example")
    page = client.get(f"/manage/users/{user.pk}/").content.decode()
    assert "Waiting to be sent" in page and "Send a new invitation" in page
    outbox.outbox_send_due()
    page = client.get(f"/manage/users/{user.pk}/").content.decode()
    assert 'govuk-tag--green">Sent' in page


def test_a_reset_link_is_emailed_and_the_reissued_invitation_replaces_the_first(
    email_on, admin, area
):
    first = invite(admin, area)
    user = first.user
    again = services.invitation_reissue(user=user, by=admin, request=None)
    outbox.outbox_send_due()
    first_mail, second_mail = mail.outbox
    assert link_in(second_mail.body) == again_path(again)
    # The first link stopped working when the second was made, though both were e-mailed.
    assert Client().get(link_in(first_mail.body)).status_code == 410
    assert Client().get(link_in(second_mail.body)).status_code == 200

    member = make_user(role=Role.PRACTITIONER, organisation=area)
    reset = services.second_factor_reset(user=member, by=admin, request=None)
    assert reset.emailed
    outbox.outbox_send_due()
    body = mail.outbox[-1].body
    assert link_in(body) == f"/accounts/second-factor/{reset.token}/"
    assert admin.get_full_name() in body


def again_path(invited: services.Invited) -> str:
    return f"/accounts/invitation/{invited.token}/"


class FailingBackend:
    """An e-mail backend whose server is down: every send raises ConnectionRefusedError."""

    sends = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        FailingBackend.sends += 1
        raise ConnectionRefusedError("[Errno 111] Connection refused")


def test_a_failed_send_is_tried_again_with_a_growing_wait_then_given_up(
    email_on, settings, admin, area
):
    settings.EMAIL_BACKEND = "tests.accounts.test_outbox.FailingBackend"
    settings.OUTBOX_MAX_ATTEMPTS = 4
    invite(admin, area)
    queued = OutboundEmail.objects.get()
    now = timezone.now()
    waits = []
    for _ in range(3):
        counts = outbox.outbox_send_due(now=now)
        assert counts.retrying == 1
        queued.refresh_from_db()
        waits.append(queued.send_after - now)
        assert outbox.outbox_send_due(now=now).tried == 0  # not again before its time
        now = queued.send_after
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert queued.personalisation["link"].startswith(SERVICE)  # kept while it may yet go

    counts = outbox.outbox_send_due(now=now)

    assert counts.failed == 1
    queued.refresh_from_db()
    assert queued.state == State.FAILED and queued.attempts == 4
    assert queued.personalisation == {}
    assert queued.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert queued.why_not_sent == "Every one of 4 tries failed"
    assert [a.outcome for a in queued.tries.all()] == ["retry", "retry", "retry", "failed"]


def test_the_wait_doubles_up_to_six_hours():
    assert [outbox.retry_wait(n) for n in (1, 2, 3, 10, 30)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(hours=6),
        timedelta(hours=6),
    ]


def test_a_round_stops_after_three_failures_in_a_row_leaving_the_rest_untried(
    email_on, settings, admin, area
):
    settings.EMAIL_BACKEND = "tests.accounts.test_outbox.FailingBackend"
    FailingBackend.sends = 0
    for n in range(5):
        invite(admin, area, email=f"person{n}@homeshire.example")
    counts = outbox.outbox_send_due()
    assert (counts.retrying, FailingBackend.sends) == (3, 3)
    untried = OutboundEmail.objects.filter(attempts=0)
    assert untried.count() == 2
    assert not untried.exclude(claim="").exists()  # released for the next round


def test_a_message_whose_link_expired_before_it_could_go_is_given_up_unsent(email_on, admin, area):
    invited = invite(admin, area)
    counts = outbox.outbox_send_due(now=invited.expires_at + timedelta(seconds=1))
    assert (counts.sent, counts.failed) == (0, 1)
    assert mail.outbox == []
    queued = OutboundEmail.objects.get()
    assert queued.state == State.FAILED and queued.personalisation == {}
    assert queued.why_not_sent == "The link in it expired first"


def test_a_message_claimed_by_one_sender_is_not_sent_by_another(email_on, admin, area):
    invite(admin, area)
    now = timezone.now()
    claimed = outbox._claim_due(now=now, limit=10, claim="first-sender")
    assert len(claimed) == 1
    assert outbox.outbox_send_due(now=now).tried == 0
    # The first sender died: once its claim runs out, another sender sends the message.
    assert outbox.outbox_send_due(now=now + outbox.CLAIM + timedelta(seconds=1)).sent == 1
    assert len(mail.outbox) == 1
    # The late first sender cannot record a second outcome over the second's.
    outbox._record_try(
        claimed[0],
        claim="first-sender",
        now=now,
        reference="",
        problem="x",
        permanent=True,
        duration_ms=1,
    )
    assert OutboundEmail.objects.get().state == State.SENT
    assert EmailAttempt.objects.count() == 1


def test_a_second_message_with_the_same_dedupe_key_is_not_queued(email_on, admin):
    def queue() -> bool:
        return outbox.email_queue(
            kind=OutboundEmail.Kind.VETTING_DUE,
            recipient=admin,
            personalisation={"given_name": "Test"},
            dedupe_key="vetting_due:1:2027-01-01",
        )

    assert queue() is True
    assert queue() is False
    assert OutboundEmail.objects.count() == 1


def test_old_sent_and_given_up_messages_are_deleted_but_not_waiting_ones(
    email_on, settings, admin, area
):
    settings.OUTBOX_KEEP_DAYS = 90
    for n in range(3):
        invite(admin, area, email=f"person{n}@homeshire.example")
    sent, failed, waiting = OutboundEmail.objects.order_by("pk")
    long_ago = timezone.now() - timedelta(days=91)
    OutboundEmail.objects.filter(pk=sent.pk).update(state=State.SENT, created_at=long_ago)
    OutboundEmail.objects.filter(pk=failed.pk).update(state=State.FAILED, created_at=long_ago)
    OutboundEmail.objects.filter(pk=waiting.pk).update(created_at=long_ago)
    assert outbox.outbox_prune(now=timezone.now()) == 2
    assert list(OutboundEmail.objects.values_list("pk", flat=True)) == [waiting.pk]


def test_send_outbox_sends_once_and_refuses_to_run_with_email_off(email_on, settings, admin, area):
    invite(admin, area)
    call_command("send_outbox")
    assert len(mail.outbox) == 1
    settings.EMAIL_ENABLED = False
    with pytest.raises(CommandError, match="E-mail is off"):
        call_command("send_outbox")


def test_the_follow_worker_sends_what_comes_until_stopped(email_on, admin, area):
    import threading

    invite(admin, area)
    stop = threading.Event()

    class StopWhenSent(threading.Thread):
        def run(self):
            while not mail.outbox:
                stop.wait(0.01)
            stop.set()

    watcher = StopWhenSent(daemon=True)
    watcher.start()
    sent = outbox.outbox_follow(stop=stop, poll_seconds=0.05)
    watcher.join(timeout=5)
    assert sent == 1 and len(mail.outbox) == 1


def test_an_areas_first_admin_gets_their_set_up_link_from_the_operator_not_a_reset_email(
    email_on, settings, monkeypatch
):
    from io import StringIO

    settings.REQUIRE_MFA = True
    make_area(code="E09000033", name="Westminster")
    monkeypatch.setenv("SIGNPOSTING_NEW_PASSWORD", "a-strong-bootstrap-password")
    out = StringIO()
    call_command(
        "create_user",
        "admin@westminster.example",
        "--role",
        "la_admin",
        "--organisation",
        "E09000033",
        stdout=out,
    )
    assert "/accounts/second-factor/" in out.getvalue()
    assert not OutboundEmail.objects.exists()


def test_an_operators_reset_is_emailed_and_the_link_not_printed(email_on, admin):
    from io import StringIO

    out = StringIO()
    call_command("second_factor_reset", admin.username, stdout=out)
    assert "queued to them by e-mail" in out.getvalue()
    assert "/accounts/second-factor/" not in out.getvalue()
    queued = OutboundEmail.objects.get()
    assert queued.kind == OutboundEmail.Kind.SECOND_FACTOR_RESET
    assert queued.personalisation["reset_by"] == "The service's operators"
