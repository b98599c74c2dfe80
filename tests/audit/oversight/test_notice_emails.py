"""When someone outside a child's services views the record, the people told (the lead
professional, a shielding authority's admins) also get an e-mail: a link to /notices/ and
nothing of the child, and no other such e-mail until they have opened their notices."""

from datetime import date

import pytest
from django.core import mail

from accounts import outbox
from accounts.models import OutboundEmail, Role
from audit.models import Action, Notice
from audit.services import record
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

# Details of the child that must never leave the service by e-mail.
SENTINELS = ("Zebedee", "Quillfeather", "2015-03-02", "2 March 2015", "9434765919", "SW1A")


@pytest.fixture
def email_on(settings):
    settings.EMAIL_ENABLED = True
    settings.SERVICE_URL = "https://find.example.gov.uk"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def area():
    return make_area(name="Homeshire")


@pytest.fixture
def lead(area):
    return make_user(role=Role.PRACTITIONER, organisation=area, email="lead@homeshire.example")


@pytest.fixture
def child(area, lead):
    return make_child(
        area=area,
        given_names="Zebedee",
        family_name="Quillfeather",
        date_of_birth=date(2015, 3, 2),
        nhs_number="9434765919",
        lead_professional=True,
        practitioner_email=lead.username,
    )


@pytest.fixture
def outsider():
    return make_user(role=Role.PRACTITIONER, organisation=make_area(name="Farshire"))


def view(user, child):
    return record(
        request=None,
        actor=user,
        action=Action.RECORD_VIEW,
        children=[child],
        reason_code="assessment",
    )


def alerts() -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECORD_VIEWED))


def test_the_lead_professional_is_emailed_a_link_to_their_notices_and_nothing_of_the_child(
    email_on, lead, child, outsider
):
    view(outsider, child)
    (alert,) = alerts()
    assert alert.recipient == lead and alert.to == "lead@homeshire.example"
    outbox.outbox_send_due()
    (message,) = mail.outbox
    assert "https://find.example.gov.uk/notices/" in message.body
    assert "lead professional" in message.body
    sent = " ".join([message.subject, message.body, str(message.extra_headers)])
    for secret in (*SENTINELS, str(child.public_id), outsider.get_full_name(), "Farshire"):
        assert secret not in sent


def test_no_second_alert_until_the_notices_are_opened(email_on, client, lead, child, outsider):
    view(outsider, child)
    view(make_user(role=Role.PRACTITIONER, organisation=make_area()), child)
    assert len(alerts()) == 1
    client.force_login(lead)
    assert client.get("/notices/").status_code == 200  # opened: later views alert again
    view(outsider, child)
    assert len(alerts()) == 2


def test_a_view_that_tells_no_one_emails_no_one(email_on, area, lead, child):
    view(make_user(role=Role.PRACTITIONER, organisation=area), child)
    assert alerts() == []


def test_with_email_off_the_notice_is_written_but_nothing_is_queued(lead, child, outsider):
    view(outsider, child)
    assert Notice.objects.filter(recipient_id=lead.pk).exists()
    assert not OutboundEmail.objects.exists()


def test_the_alert_is_queued_in_the_lookups_transaction(email_on, lead, child, outsider):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        view(outsider, child)
        assert len(alerts()) == 1
        raise RuntimeError("the lookup failed after its audit event")
    assert alerts() == []
    assert not Notice.objects.exists()
