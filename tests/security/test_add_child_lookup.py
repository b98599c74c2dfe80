""" "Add a child" is a lookup like a search: audited naming the children shown, counted in
the hourly limit, under the misuse rules, and showing no more than a search result would.
The data manager can add their involvement to a record found there instead of a second one."""

from datetime import date

import pytest

from accounts.models import Role
from audit.models import Action, Flag, Rule
from children.models import Child, Involvement
from children.services import child_shield
from tests.audit.helpers import events, last_event
from tests.children.test_manage_pages import child_form
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

DOB = date(2016, 4, 5)


@pytest.fixture
def home():
    return make_area(name="Northshire")


@pytest.fixture
def elsewhere():
    return make_area(name="Southshire")


@pytest.fixture
def manager(client, home):
    user = make_user(role=Role.DATA_MANAGER, organisation=home)
    client.force_login(user)
    return user


def _their_child(area, **kwargs):
    return make_child(
        area=area, given_names="Tomasz", family_name="Kowalczyk", date_of_birth=DOB, **kwargs
    )


def test_a_match_in_another_area_is_shown_as_a_search_result_and_recorded(
    client, manager, home, elsewhere
):
    other = _their_child(elsewhere)
    html = client.post("/manage/children/new/", child_form(home)).content.decode()
    assert "Tomasz Kowalczyk" in html and "Southshire" in html
    assert "1 Test Street" not in html  # never the address
    event = last_event()
    assert event.action == Action.SEARCH and event.children == [other.public_id]
    assert event.detail == {"page": "add_child"} and event.result_count == 1


def test_a_shielded_match_is_only_a_restricted_record_with_the_authoritys_contact(
    client, manager, home, elsewhere
):
    other = _their_child(elsewhere)
    elsewhere.safeguarding_contact = "Southshire safeguarding hub, 0300 555 0100"
    elsewhere.save()
    child_shield(child=other, authority=elsewhere, reason="Risk from a parent")
    html = client.post("/manage/children/new/", child_form(home)).content.decode()
    assert "Restricted record" in html and "Southshire safeguarding hub" in html
    # Not the record's name, area or address, and nothing to add to.
    assert "Kowalczyk</td>" not in html and "1 Test Street" not in html
    assert f'value="{other.public_id}"' not in html
    assert last_event().children == [other.public_id]


def test_the_check_counts_towards_the_hourly_limit(client, manager, home, elsewhere, settings):
    settings.LOOKUPS_PER_HOUR = 2
    _their_child(elsewhere)
    for _ in range(2):
        assert client.post("/manage/children/new/", child_form(home)).status_code == 200
    refused = client.post("/manage/children/new/", child_form(home))
    assert refused.status_code == 429
    assert "Kowalczyk</td>" not in refused.content.decode()
    assert last_event().action == Action.RATE_LIMITED
    # ...and a search after the checks is refused too: one limit for every lookup.
    assert client.post("/search/", {"nhs_number": "9434765919"}).status_code == 429


def test_the_misuse_rules_run_on_the_check(client, manager, home, elsewhere, settings):
    settings.FLAG_WORKING_HOURS = (0, 0)  # every hour is out of hours
    _their_child(elsewhere)
    client.post("/manage/children/new/", child_form(home))
    flag = Flag.objects.get()
    assert flag.rule == Rule.OUT_OF_HOURS and flag.event_sequence == last_event().sequence


def test_adding_the_involvement_to_a_record_of_another_area(client, manager, home, elsewhere):
    other = _their_child(elsewhere)
    data = child_form(home, lead_professional="no")
    client.post("/manage/children/new/", data)
    response = client.post("/manage/children/new/", {**data, "attach": other.public_id})
    assert response.status_code == 302
    assert response["Location"] == f"/manage/children/{other.public_id}/?saved=attached"
    assert Child.objects.count() == 1  # no second record
    added = Involvement.objects.get(child=other, organisation=home)
    assert added.practitioner_name == "Priya Shah"
    assert last_event().action in (Action.RECORD_CHANGE, Action.MANAGE_VIEW)
    # The record is now one the area works with: its manage page opens.
    assert client.get(response["Location"]).status_code == 200


def test_the_lead_is_not_taken_from_another_service_by_adding_to_a_record(
    client, manager, home, elsewhere
):
    other = _their_child(elsewhere, lead_professional=True)
    data = child_form(home, lead_professional="yes")
    client.post("/manage/children/new/", data)
    response = client.post("/manage/children/new/", {**data, "attach": other.public_id})
    assert response.status_code == 200
    assert "already has a lead professional" in response.content.decode()
    assert not Involvement.objects.filter(child=other, organisation=home).exists()


def test_adding_to_a_record_the_check_did_not_show_is_refused(client, manager, home, elsewhere):
    other = _their_child(elsewhere)
    unrelated = make_child(area=elsewhere, given_names="Zofia", family_name="Nowak")
    data = child_form(home, lead_professional="no")
    client.post("/manage/children/new/", data)
    before = Involvement.objects.count()
    response = client.post("/manage/children/new/", {**data, "attach": unrelated.public_id})
    assert response.status_code == 404
    assert Involvement.objects.count() == before
    event = last_event()
    assert event.action == Action.ACCESS_DENIED and event.detail["why"] == "not_in_search_results"
    assert other.public_id not in event.children


def test_adding_to_a_record_shielded_by_another_authority_is_refused(
    client, manager, home, elsewhere
):
    other = _their_child(elsewhere)
    data = child_form(home, lead_professional="no")
    client.post("/manage/children/new/", data)  # shown before it was shielded
    child_shield(child=other, authority=elsewhere, reason="Risk from a parent")
    before = events().count()
    response = client.post("/manage/children/new/", {**data, "attach": other.public_id})
    assert response.status_code == 403 and "This record is restricted" in response.content.decode()
    assert not Involvement.objects.filter(child=other, organisation=home).exists()
    assert events().count() == before + 1
    assert last_event().detail["why"] == "shielded"
