"""LA admins manage their own area's users: scope, grant limits, suspension, unlocking, audit."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from dateutil.relativedelta import relativedelta
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User, Vetting
from audit.models import Action, ChangeRecord
from tests.audit.helpers import events, last_event
from tests.factories import PASSWORD, make_area, make_partner, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def area():
    return make_area(name="Homeshire")


@pytest.fixture
def admin(client, area):
    user = make_user(role=Role.LA_ADMIN, organisation=area)
    client.force_login(user)
    return user


@pytest.fixture
def practitioner(area):
    return make_user(role=Role.PRACTITIONER, organisation=make_partner(area=area, name="Clinic"))


def signs_in(user) -> bool:
    response = Client().post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    return response.status_code == 302


def page(user) -> str:
    return f"/manage/users/{user.pk}/"


# --- Scope -----------------------------------------------------------------------------------


def test_the_list_shows_the_areas_users_with_role_vetting_and_state(client, admin, area):
    due = make_user(
        role=Role.DATA_MANAGER,
        organisation=area,
        vetted_on=timezone.localdate() - relativedelta(years=1) + timedelta(days=10),
    )
    lapsed = make_user(
        role=Role.PRACTITIONER,
        organisation=area,
        vetted_on=timezone.localdate() - relativedelta(years=4),
    )
    suspended = make_user(role=Role.PRACTITIONER, organisation=area, is_active=False)
    outsider = make_user(role=Role.PRACTITIONER, organisation=make_area(name="Farshire"))
    html = client.get("/manage/users/").content.decode()
    assert "Users in Homeshire" in html
    for user in (admin, due, lapsed, suspended):
        assert user.username in html
    assert outsider.username not in html
    assert "Re-vetting due" in html and "Vetting lapsed" in html and "Suspended" in html


def test_another_areas_user_is_not_found_on_any_page(client, admin):
    outsider = make_user(role=Role.PRACTITIONER, organisation=make_area())
    for path in ("", "vetting/", "role/"):
        assert client.get(page(outsider) + path).status_code == 404
    suspend = {"action": "suspend", "confirm": "yes"}
    assert client.post(page(outsider) + "status/", suspend).status_code == 404
    assert client.post(page(outsider) + "unlock/").status_code == 404
    outsider.refresh_from_db()
    assert outsider.is_active


def test_partner_agency_users_belong_to_the_area(client, admin, practitioner):
    assert client.get(page(practitioner)).status_code == 200


# --- Roles ----------------------------------------------------------------------------------------


def test_an_admin_changes_a_role_and_it_applies_on_the_next_request(client, admin, practitioner):
    other = Client()
    other.force_login(practitioner)
    assert other.get("/search/").status_code == 200
    response = client.post(page(practitioner) + "role/", {"role": "la_admin"})
    assert response.status_code == 302
    practitioner.refresh_from_db()
    assert practitioner.role == Role.LA_ADMIN
    assert other.get("/search/").status_code == 403
    assert other.get("/manage/users/").status_code == 200
    event = last_event()
    assert (event.action, event.actor_id) == (Action.USER_CHANGE, admin.pk)
    assert event.detail == {
        "user": practitioner.pk,
        "username": practitioner.username,
        "role": "la_admin",
        "was": "practitioner",
    }
    assert ChangeRecord.objects.filter(object_pk=str(practitioner.pk), actor_id=admin.pk).exists()


def test_an_admin_cannot_make_an_auditor_unless_allowed(client, admin, practitioner, settings):
    response = client.post(page(practitioner) + "role/", {"role": "auditor"})
    assert response.status_code == 200
    assert "Select a role" in response.content.decode()
    practitioner.refresh_from_db()
    assert practitioner.role == Role.PRACTITIONER
    settings.LA_ADMINS_MAY_GRANT_AUDITOR = True
    assert client.post(page(practitioner) + "role/", {"role": "auditor"}).status_code == 302
    practitioner.refresh_from_db()
    assert practitioner.role == Role.AUDITOR


def test_no_role_makes_an_operator(client, admin, practitioner):
    client.post(page(practitioner) + "role/", {"role": "operator"})
    client.post(page(practitioner) + "role/", {"role": ""})
    practitioner.refresh_from_db()
    assert practitioner.role == Role.PRACTITIONER and not practitioner.is_superuser


def test_an_admin_cannot_change_their_own_role(client, admin):
    response = client.post(page(admin) + "role/", {"role": "practitioner"})
    assert "You cannot change your own role" in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == Role.LA_ADMIN


# --- Suspension -------------------------------------------------------------------------------


def test_suspension_ends_every_session_of_the_user_at_once(client, admin, practitioner):
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        device.force_login(practitioner)
        assert device.get("/search/").status_code == 200
    bystander = Client()
    bystander.force_login(make_user(role=Role.PRACTITIONER, organisation=admin.organisation))
    sessions_before = Session.objects.count()
    response = client.post(page(practitioner) + "status/", {"action": "suspend", "confirm": "yes"})
    assert response.status_code == 302
    assert Session.objects.count() == sessions_before - 2
    for device in (phone, laptop):
        assert device.get("/search/").status_code == 302  # signed out
    assert bystander.get("/search/").status_code == 200
    event = last_event()
    assert event.action == Action.USER_SUSPEND
    assert event.detail["sessions_ended"] == 2
    assert not signs_in(practitioner)


def test_reactivation_lets_the_user_sign_in_again(client, admin, practitioner):
    client.post(page(practitioner) + "status/", {"action": "suspend", "confirm": "yes"})
    client.post(page(practitioner) + "status/", {"action": "reactivate", "confirm": "yes"})
    practitioner.refresh_from_db()
    assert practitioner.is_active
    assert last_event().action == Action.USER_REACTIVATE
    assert signs_in(practitioner)


def test_suspending_is_checked_first_and_nothing_changes_until_confirmed(
    client, admin, practitioner
):
    check = client.get(page(practitioner) + "status/?action=suspend")
    html = check.content.decode()
    assert check.status_code == 200
    assert "Check before you suspend this account" in html
    assert practitioner.username in html and "signed out everywhere" in html
    # Posted without the confirmation (an old page, a replayed form): the check again.
    unconfirmed = client.post(page(practitioner) + "status/", {"action": "suspend"})
    assert unconfirmed.status_code == 200
    assert "Check before you suspend" in unconfirmed.content.decode()
    practitioner.refresh_from_db()
    assert practitioner.is_active
    assert not events().filter(action=Action.USER_SUSPEND).exists()
    # The user page's button leads to the check, not to the change.
    user_page = client.get(page(practitioner)).content.decode()
    assert 'status/?action=suspend"' in user_page


def test_an_admin_cannot_suspend_themself(client, admin):
    client.post(page(admin) + "status/", {"action": "suspend", "confirm": "yes"})
    admin.refresh_from_db()
    assert admin.is_active


# --- Lockouts and vetting ----------------------------------------------------------------------


def test_an_admin_unlocks_a_locked_account(client, admin, practitioner):
    AccessAttempt.objects.create(
        username=practitioner.username,
        ip_address="192.0.2.1",
        user_agent="test",
        attempt_time=timezone.now(),
        failures_since_start=5,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )
    assert "Locked" in client.get("/manage/users/").content.decode()
    response = client.post(page(practitioner) + "unlock/")
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=practitioner.username).exists()
    assert last_event().action == Action.USER_UNLOCK
    assert "Locked" not in client.get("/manage/users/").content.decode()


def test_an_admin_records_vetting_through_the_form(client, admin, area):
    user = make_user(role=Role.PRACTITIONER, organisation=area, vetted=False)
    today = timezone.localdate()
    response = client.post(
        page(user) + "vetting/",
        {
            "dbs_checked_on_day": today.day,
            "dbs_checked_on_month": today.month,
            "dbs_checked_on_year": today.year,
            "dbs_certificate": "0012 3456 7890",
            "training_completed_on_day": today.day,
            "training_completed_on_month": today.month,
            "training_completed_on_year": today.year,
            "agreement_accepted_on_day": today.day,
            "agreement_accepted_on_month": today.month,
            "agreement_accepted_on_year": today.year,
        },
    )
    assert response.status_code == 302
    vetting = User.objects.get(pk=user.pk).vetting
    assert vetting.dbs_certificate == "001234567890"
    assert vetting.dbs_recorded_by == admin
    assert last_event().action == Action.VETTING_RECORD
    assert "Vetted" in client.get(page(user)).content.decode()


def test_a_vetting_form_with_nothing_or_bad_dates_is_refused(client, admin, area):
    user = make_user(role=Role.PRACTITIONER, organisation=area, vetted=False)
    empty = client.post(page(user) + "vetting/", {})
    assert "Enter at least one of" in empty.content.decode()
    future = timezone.localdate() + timedelta(days=3)
    bad = client.post(
        page(user) + "vetting/",
        {
            "dbs_checked_on_day": future.day,
            "dbs_checked_on_month": future.month,
            "dbs_checked_on_year": future.year,
            "dbs_certificate": "12",
        },
    )
    html = bad.content.decode()
    assert "govuk-error-summary" in html
    assert "must be today or in the past" in html
    assert "12-digit" in html
    assert not Vetting.objects.filter(user=user).exists()
