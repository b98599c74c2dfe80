"""Vetting that expires: access lapses by itself on each rule, and returns when re-vetted."""

from datetime import date, timedelta
from io import StringIO

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from accounts.capabilities import Capability, capabilities_of
from accounts.models import Role, User, Vetting
from accounts.services import vetting_record
from accounts.vetting import VettingState, vetting_status
from audit.models import Action
from tests.audit.helpers import last_event
from tests.factories import make_area, make_user

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 25)


def vetting(*, dbs=TODAY, training=TODAY, agreement=TODAY) -> Vetting:
    return Vetting(
        dbs_checked_on=dbs, training_completed_on=training, agreement_accepted_on=agreement
    )


# --- The rules, as pure functions ----------------------------------------------------------


def test_fresh_vetting_is_current_and_lapses_at_the_first_expiry():
    status = vetting_status(vetting(dbs=date(2025, 1, 10), training=date(2026, 3, 1)), today=TODAY)
    assert status.state == VettingState.CURRENT
    assert status.allows_access
    assert status.lapses_on == date(2027, 3, 1)  # the training, a year on


def test_a_dbs_check_lapses_after_three_years():
    checked = TODAY - relativedelta(years=3)
    status = vetting_status(vetting(dbs=checked), today=TODAY)
    assert status.state == VettingState.LAPSED
    assert not status.allows_access
    assert status.problems == (f"The DBS check of {checked:%-d %B %Y} is more than 3 years old",)
    day_before = vetting_status(vetting(dbs=checked + timedelta(days=1)), today=TODAY)
    assert day_before.allows_access


def test_training_lapses_after_one_year():
    status = vetting_status(vetting(training=TODAY - relativedelta(years=1)), today=TODAY)
    assert status.state == VettingState.LAPSED
    assert "training" in status.problems[0] and "1 year" in status.problems[0]


def test_both_lapsed_gives_both_reasons():
    old = TODAY - relativedelta(years=4)
    assert len(vetting_status(vetting(dbs=old, training=old), today=TODAY).problems) == 2


def test_re_vetting_is_due_thirty_days_ahead():
    training = TODAY - relativedelta(years=1) + timedelta(days=30)
    status = vetting_status(vetting(training=training), today=TODAY)
    assert status.state == VettingState.DUE
    assert status.allows_access
    assert status.label == "Re-vetting due"
    not_yet = vetting_status(vetting(training=training + timedelta(days=1)), today=TODAY)
    assert not_yet.state == VettingState.CURRENT


def test_a_missing_part_means_not_vetted():
    assert vetting_status(None, today=TODAY).state == VettingState.NOT_VETTED
    status = vetting_status(vetting(agreement=None), today=TODAY)
    assert status.state == VettingState.NOT_VETTED
    assert status.problems == ("The user agreement has not been accepted",)


def test_the_periods_are_settings(settings):
    settings.VETTING_DBS_MONTHS = 12
    status = vetting_status(vetting(dbs=TODAY - relativedelta(years=1)), today=TODAY)
    assert status.state == VettingState.LAPSED
    assert "more than 1 year old" in status.problems[0]


# --- What lapsed vetting stops ---------------------------------------------------------------


def lapsed_practitioner(**kwargs) -> User:
    return make_user(
        role=Role.PRACTITIONER, vetted_on=timezone.localdate() - relativedelta(years=4), **kwargs
    )


def test_lapsed_vetting_takes_away_every_capability_of_the_role():
    for role in Role:
        user = make_user(role=role, vetted_on=timezone.localdate() - relativedelta(years=4))
        assert capabilities_of(user) == frozenset()
    assert Capability.SEARCH_CHILDREN in capabilities_of(make_user(role=Role.PRACTITIONER))


def test_a_user_never_vetted_has_no_capabilities():
    assert capabilities_of(make_user(role=Role.AUDITOR, vetted=False)) == frozenset()


def test_a_lapsed_practitioner_gets_a_page_saying_why_and_whom_to_ask(client):
    area = make_area(name="Homeshire")
    admin = make_user(role=Role.LA_ADMIN, organisation=area)
    user = lapsed_practitioner(organisation=area)
    client.force_login(user)
    for path in ("/search/", "/notices/"):
        response = client.get(path)
        html = response.content.decode()
        assert response.status_code == 403
        assert "Your access has lapsed" in html
        assert "The DBS check of" in html
        assert admin.username in html
    # Nothing to search with: the header offers no search either.
    assert "Find a child" not in client.get("/").content.decode()


def test_a_lapsed_users_search_post_searches_nothing(client):
    user = lapsed_practitioner()
    client.force_login(user)
    response = client.post("/search/", {"family_name": "Okafor", "given_name": "Amelia"})
    assert response.status_code == 403
    assert not (last_event() and last_event().action == Action.SEARCH)


def test_re_vetting_gives_access_back_on_the_next_request(client):
    area = make_area()
    admin = make_user(role=Role.LA_ADMIN, organisation=area)
    user = lapsed_practitioner(organisation=area)
    client.force_login(user)
    assert client.get("/search/").status_code == 403
    vetting_record(
        user=user,
        by=admin,
        dbs_checked_on=timezone.localdate(),
        dbs_certificate="009876543210",
    )
    assert client.get("/search/").status_code == 403  # the training is still 4 years old
    vetting_record(user=user, by=admin, training_completed_on=timezone.localdate())
    assert client.get("/search/").status_code == 200


def test_a_role_that_never_had_the_capability_still_gets_a_plain_forbidden(client):
    client.force_login(make_user(role=Role.AUDITOR, vetted=False))
    response = client.get("/search/")
    assert response.status_code == 403
    assert "lapsed" not in response.content.decode()


# --- Recording vetting -------------------------------------------------------------------------


def test_recording_vetting_keeps_who_recorded_each_part_and_is_audited():
    area = make_area()
    admin = make_user(role=Role.LA_ADMIN, organisation=area)
    user = make_user(role=Role.PRACTITIONER, organisation=area, vetted=False)
    vetting_record(user=user, by=admin, training_completed_on=date(2026, 10, 1))
    record = Vetting.objects.get(user=user)
    assert record.training_recorded_by == admin
    assert record.dbs_recorded_by is None
    event = last_event()
    assert event.action == Action.VETTING_RECORD
    assert event.actor_id == admin.pk
    assert event.detail["user"] == user.pk
    assert event.detail["recorded"] == ["training"]
    assert event.detail["training_completed_on"] == "2026-10-01"


def test_vetting_dates_cannot_be_in_the_future():
    user = make_user(vetted=False)
    with pytest.raises(ValidationError) as error:
        vetting_record(user=user, by=None, dbs_checked_on=timezone.localdate() + timedelta(days=1))
    assert "dbs_checked_on" in error.value.message_dict
    assert not Vetting.objects.filter(user=user).exists()


def test_a_dbs_certificate_number_has_twelve_digits():
    with pytest.raises(ValidationError):
        vetting_record(user=make_user(vetted=False), by=None, dbs_certificate="12345")


def test_vetting_changes_are_in_the_change_history():
    from audit.models import ChangeRecord

    user = make_user(vetted=False)
    vetting_record(user=user, by=None, dbs_checked_on=date(2026, 1, 5))
    history = ChangeRecord.objects.filter(content_type__model="vetting")
    assert history.exists()
    assert "2026-01-05" in str(history.first().changes)


def test_create_user_vetted_today_records_vetting_as_of_today(monkeypatch):
    make_area(code="E09000033", name="Westminster")
    monkeypatch.setenv("SIGNPOSTING_NEW_PASSWORD", "a-long-bootstrap-password-7")
    out = StringIO()
    call_command(
        "create_user",
        "first.admin@westminster.example",
        role="la_admin",
        organisation="E09000033",
        vetted_today=True,
        stdout=out,
    )
    user = User.objects.get(username="first.admin@westminster.example")
    record = user.vetting
    today = timezone.localdate()
    assert (record.dbs_checked_on, record.training_completed_on, record.agreement_accepted_on) == (
        today,
        today,
        today,
    )
    assert Capability.MANAGE_USERS in capabilities_of(user)
    assert "Recorded vetting as of" in out.getvalue()


def test_create_user_without_vetting_makes_a_user_who_can_do_nothing_yet(monkeypatch):
    make_area(code="E09000033", name="Westminster")
    monkeypatch.setenv("SIGNPOSTING_NEW_PASSWORD", "a-long-bootstrap-password-7")
    out = StringIO()
    call_command(
        "create_user",
        "new@westminster.example",
        role="practitioner",
        organisation="E09000033",
        stdout=out,
    )
    assert capabilities_of(User.objects.get(username="new@westminster.example")) == frozenset()
    assert "No vetting recorded" in out.getvalue()
