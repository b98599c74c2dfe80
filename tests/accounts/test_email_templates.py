"""Each kind of e-mail is sent with the personalisation its templates use: the GOV.UK Notify
templates in docs/operations/email.md and the SMTP ones in templates/emails/ alike, so that
a Notify template never misses a placeholder (Notify refuses the message) and no SMTP
message shows a blank."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from accounts import services
from accounts.emails import vetting_reminders_queue
from accounts.models import OutboundEmail, Role, Vetting
from audit.models import Action
from audit.services import record
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "operations" / "email.md").read_text()
Kind = OutboundEmail.Kind


def notify_placeholders(kind: str) -> set[str]:
    section = DOCS.split(f"### `{kind}`", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"\(\((\w+)\)\)", section))


def smtp_placeholders(kind: str) -> set[str]:
    names: set[str] = set()
    for name in (f"{kind}.txt", f"{kind}_subject.txt"):
        text = (ROOT / "templates" / "emails" / name).read_text()
        loops = dict(re.findall(r"{%\s*for\s+(\w+)\s+in\s+(\w+)\s*%}", text))
        names |= set(loops.values())
        names |= set(re.findall(r"{{\s*(\w+)", text)) - set(loops)
    return names


@pytest.fixture
def every_kind_queued(settings):
    settings.EMAIL_ENABLED = True
    settings.SERVICE_URL = "https://find.example.gov.uk"
    area = make_area(name="Homeshire")
    admin = make_user(role=Role.LA_ADMIN, organisation=area)
    services.user_invite(
        email="new@homeshire.example",
        given_name="Nia",
        family_name="Okoro",
        job_title="Health visitor",
        organisation=area,
        role=Role.PRACTITIONER,
        by=admin,
        request=None,
    )
    lead = make_user(role=Role.PRACTITIONER, organisation=area)
    services.second_factor_reset(user=lead, by=admin, request=None)
    today = timezone.localdate()
    Vetting.objects.filter(user=lead).update(
        training_completed_on=today + timedelta(days=10) - relativedelta(months=12)
    )
    vetting_reminders_queue(today=today)
    child = make_child(area=area, lead_professional=True, practitioner_email=lead.username)
    outsider = make_user(role=Role.PRACTITIONER, organisation=make_area(name="Farshire"))
    record(
        request=None,
        actor=outsider,
        action=Action.RECORD_VIEW,
        children=[child],
        reason_code="assessment",
    )
    return {email.kind: email for email in OutboundEmail.objects.all()}


def test_every_kind_is_covered(every_kind_queued):
    assert set(every_kind_queued) == set(Kind.values)


@pytest.mark.parametrize("kind", Kind.values)
def test_the_notify_and_smtp_templates_use_exactly_what_is_sent(every_kind_queued, kind):
    sent = set(every_kind_queued[kind].personalisation)
    assert notify_placeholders(kind) == sent
    assert smtp_placeholders(kind) == sent
    assert all(
        value not in ("", [], None) for value in every_kind_queued[kind].personalisation.values()
    )
