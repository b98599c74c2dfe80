"""Printing a record (issue 15, item 5): only the print version prints a child's details; it
is stamped with who printed it, where and when, carries the handling marking, and is
recorded as a print (with the record view's reason) before it is shown. A past involvement
says "Was lead professional", never the current tag."""

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.models import Action
from children.models import Service
from children.services import InvolvementDetails, child_shield, involvement_add
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

DOB = date(2014, 6, 21)


@pytest.fixture
def area():
    return make_area(name="Northshire")


@pytest.fixture
def child(area):
    return make_child(
        area=area,
        given_names="Keira",
        family_name="Fitzgerald",
        date_of_birth=DOB,
        lead_professional=True,
    )


@pytest.fixture
def practitioner(client, area):
    user = make_user(role=Role.PRACTITIONER, organisation=area)
    user.first_name, user.last_name = "Priya", "Shah"
    user.save(update_fields=["first_name", "last_name"])
    client.force_login(user)
    return user


def search(client):
    return client.post(
        "/search/",
        {
            "family_name": "Fitzgerald",
            "given_name": "Keira",
            "dob_day": "21",
            "dob_month": "6",
            "dob_year": "2014",
        },
    )


def print_url(child) -> str:
    return f"/children/{child.public_id}/print/"


def open_record(client, child, reason="child_protection", details=""):
    return client.post(f"/children/{child.public_id}/", {"reason": reason, "details": details})


def test_the_record_page_offers_a_print_that_carries_its_reason(client, practitioner, child):
    search(client)
    html = open_record(client, child, reason="other", details="Strategy meeting").content.decode()
    assert f'action="{print_url(child)}"' in html
    assert '<input type="hidden" name="reason" value="other">' in html
    assert '<input type="hidden" name="details" value="Strategy meeting">' in html
    # Printed from the browser instead, the record page gives only a pointer to the print
    # version: the child's details sit in a block that print styles hide.
    assert 'class="app-print-only"' in html
    assert html.index('class="app-screen-only"') < html.index("Keira Fitzgerald</h1>")


def test_the_print_version_is_stamped_marked_and_recorded(client, practitioner, child):
    search(client)
    open_record(client, child, reason="other", details="Strategy meeting")
    response = client.post(print_url(child), {"reason": "other", "details": "Strategy meeting"})
    assert response.status_code == 200
    html = response.content.decode()
    event = last_event()
    assert event.action == Action.RECORD_PRINT
    assert event.children == [child.public_id]
    assert (event.actor_id, event.reason_code, event.reason_text) == (
        practitioner.pk,
        "other",
        "Strategy meeting",
    )
    printed = timezone.localtime(event.occurred_at)
    stamp = (
        f"Printed by Priya Shah, Northshire on {printed:%-d %B %Y} at "
        f"{printed.strftime('%-I:%M%p').lower()}"
    )
    assert stamp in html
    assert html.count('<p class="app-handling-marking">OFFICIAL-SENSITIVE</p>') == 2
    assert "data-print-on-load" in html
    assert "Keira Fitzgerald" in html and "Pat Practitioner" in html
    assert "Print this record" not in html  # no button to print the print


def test_the_marking_is_a_setting(client, practitioner, child, settings):
    settings.RECORD_HANDLING_MARKING = "OFFICIAL-SENSITIVE PERSONAL"
    search(client)
    html = client.post(print_url(child), {"reason": "assessment"}).content.decode()
    assert '<p class="app-handling-marking">OFFICIAL-SENSITIVE PERSONAL</p>' in html


def test_a_print_is_not_a_new_lookup(client, practitioner, child, settings):
    settings.LOOKUPS_PER_HOUR = 2
    search(client)
    open_record(client, child)  # the hour's two lookups
    response = client.post(print_url(child), {"reason": "child_protection"})
    assert response.status_code == 200
    assert last_event().action == Action.RECORD_PRINT


def test_a_print_needs_the_latest_search(client, practitioner, child, area):
    other = make_child(area=area, given_names="Ola", family_name="Nowak")
    search(client)
    response = client.post(print_url(other), {"reason": "child_protection"})
    assert response.status_code == 403
    assert "Ola" not in response.content.decode()
    event = last_event()
    assert (event.action, event.children, event.detail["why"]) == (
        Action.ACCESS_DENIED,
        [other.public_id],
        "not_in_search_results",
    )
    assert not events().filter(action=Action.RECORD_PRINT).exists()


def test_a_record_restricted_since_the_search_does_not_print(client, practitioner, child):
    search(client)
    child_shield(child=child, authority=make_area(name="Southshire"), reason="Risk")
    response = client.post(print_url(child), {"reason": "child_protection"})
    assert response.status_code == 403
    assert "Pat Practitioner" not in response.content.decode()
    assert not events().filter(action=Action.RECORD_PRINT).exists()


def test_a_print_without_a_reason_asks_for_one(client, practitioner, child):
    search(client)
    response = client.post(print_url(child), {"reason": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select why you need to see this child" in html
    assert "Pat Practitioner" not in html
    event = last_event()
    assert (event.action, event.detail) == (Action.REASON_MISSING, {"page": "print"})


def test_a_print_is_a_post(client, practitioner, child):
    search(client)
    assert client.get(print_url(child)).status_code == 405
    assert not events().filter(action=Action.RECORD_PRINT).exists()


def test_only_searchers_print(client, child, area):
    client.force_login(make_user(role=Role.LA_ADMIN, organisation=area))
    assert client.post(print_url(child), {"reason": "child_protection"}).status_code == 403


def test_a_past_lead_professional_shows_as_was(client, practitioner, child, area):
    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="health_visiting"),
            organisation=area,
            started_on=date(2020, 1, 1),
            ended_on=date(2021, 6, 30),
            practitioner_name="Sam Earlier",
            practitioner_phone="020 7946 0002",
            lead_professional=True,
        ),
    )
    search(client)
    html = open_record(client, child).content.decode()
    past = html[html.index("Past involvements") :]
    now = html[html.index("Working with the child now") : html.index("Past involvements")]
    assert "Sam Earlier" in past
    assert "Was lead professional" in past and ">Lead professional<" not in past
    assert ">Lead professional<" in now and "Was lead professional" not in now
