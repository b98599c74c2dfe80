"""Re-vetting reminders: VETTING_DUE_DAYS (30) before a user's access lapses, the user and
their area's LA admins are e-mailed, once for each lapse date, by `manage.py nightly`."""

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail

from accounts.emails import vetting_reminders_queue
from accounts.models import OutboundEmail, Role, Vetting
from tests.factories import make_area, make_partner, make_user

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 7)
Kind = OutboundEmail.Kind


@pytest.fixture
def email_on(settings):
    settings.EMAIL_ENABLED = True
    settings.SERVICE_URL = "https://find.example.gov.uk"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.VETTING_DUE_DAYS = 30
    settings.VETTING_DBS_MONTHS = 36
    settings.VETTING_TRAINING_MONTHS = 12


def trained_on(day: date) -> date:
    """The training date that makes access lapse on `day` (training lasts 12 months)."""
    return day - relativedelta(months=12)


def user_lapsing_on(day: date, *, organisation, role=Role.PRACTITIONER, name="Ada"):
    user = make_user(role=role, organisation=organisation, vetted_on=TODAY)
    user.first_name = name
    user.save(update_fields=["first_name"])
    Vetting.objects.filter(user=user).update(training_completed_on=trained_on(day))
    return user


@pytest.fixture
def area():
    return make_area(name="Homeshire")


def queued(kind) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(kind=kind).order_by("pk"))


def test_a_user_whose_access_lapses_in_30_days_and_their_admins_are_told(email_on, area):
    clinic = make_partner(area=area, name="Homeshire Clinic")
    admin = make_user(role=Role.LA_ADMIN, organisation=area, vetted_on=TODAY)
    other_area_admin = make_user(
        role=Role.LA_ADMIN, organisation=make_area(name="Farshire"), vetted_on=TODAY
    )
    due = user_lapsing_on(TODAY + timedelta(days=30), organisation=clinic, name="Ada")

    assert vetting_reminders_queue(today=TODAY) == (1, 1)

    (reminder,) = queued(Kind.VETTING_DUE)
    assert reminder.recipient == due
    assert reminder.personalisation["lapses_on"] == "6 January 2027"
    assert reminder.personalisation["lapsing"] == "your training for the service"
    (digest,) = queued(Kind.VETTING_DUE_ADMIN)
    assert digest.recipient == admin != other_area_admin
    assert digest.personalisation["area"] == "Homeshire"
    assert digest.personalisation["people"] == [
        f"Ada {due.last_name}, Homeshire Clinic: access ends on 6 January 2027"
    ]


def test_users_not_yet_due_already_lapsed_or_suspended_are_not_reminded(email_on, area):
    user_lapsing_on(TODAY + timedelta(days=31), organisation=area)
    user_lapsing_on(TODAY, organisation=area)  # lapsed today: access has ended already
    user_lapsing_on(TODAY - timedelta(days=3), organisation=area)
    suspended = user_lapsing_on(TODAY + timedelta(days=10), organisation=area)
    suspended.is_active = False
    suspended.save(update_fields=["is_active"])
    assert vetting_reminders_queue(today=TODAY) == (0, 0)
    assert not OutboundEmail.objects.exists()


def test_each_lapse_date_is_reminded_once_however_often_the_job_runs(email_on, area):
    admin = make_user(role=Role.LA_ADMIN, organisation=area, vetted_on=TODAY)
    user = user_lapsing_on(TODAY + timedelta(days=20), organisation=area)
    assert vetting_reminders_queue(today=TODAY) == (1, 1)
    assert vetting_reminders_queue(today=TODAY) == (0, 0)
    assert vetting_reminders_queue(today=TODAY + timedelta(days=1)) == (0, 0)
    # Re-vetted, and due again a year on: a new lapse date, a new reminder. The admin
    # re-trained on the day, so only the user is due (the clock is the test's, not the machine's).
    Vetting.objects.filter(user=user).update(
        training_completed_on=trained_on(TODAY + timedelta(days=365 + 20))
    )
    Vetting.objects.filter(user=admin).update(training_completed_on=TODAY + timedelta(days=365))
    assert vetting_reminders_queue(today=TODAY + timedelta(days=365)) == (1, 1)


def test_a_dbs_check_lapsing_first_is_named(email_on, area):
    user = make_user(role=Role.PRACTITIONER, organisation=area, vetted_on=TODAY)
    Vetting.objects.filter(user=user).update(
        dbs_checked_on=TODAY + timedelta(days=12) - relativedelta(months=36)
    )
    vetting_reminders_queue(today=TODAY)
    (reminder,) = queued(Kind.VETTING_DUE)
    assert reminder.personalisation["lapsing"] == "your DBS check"


def test_with_email_off_nobody_is_reminded(area):
    user_lapsing_on(TODAY + timedelta(days=5), organisation=area)
    assert vetting_reminders_queue(today=TODAY) == (0, 0)
    assert not OutboundEmail.objects.exists()


def test_the_nightly_run_reminds_and_sends_the_same_night(email_on, area, monkeypatch, tmp_path):
    from signposting import nightly

    make_user(
        role=Role.LA_ADMIN, organisation=area, email="admin@homeshire.example", vetted_on=TODAY
    )
    user_lapsing_on(TODAY + timedelta(days=30), organisation=area)
    results = nightly.nightly_run(today=TODAY, checkpoint_dir=tmp_path)
    lines = {result.name: result for result in results}
    assert lines["vetting reminders"].ok
    assert lines["vetting reminders"].outcome.startswith("1 user(s) reminded")
    assert lines["e-mail"].ok
    assert lines["e-mail"].outcome.startswith("2 sent, 0 to be tried again, 0 given up")
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == [
        "Users in Homeshire need re-vetting",
        "Your access to Find who's working with a child ends on 6 January 2027 unless you "
        "are re-vetted",
    ]
