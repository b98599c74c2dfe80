"""An LA admin finds the child of their area whose record to restrict (issue 15, item 8): by
name and date of birth (or any of the search's minimum criteria), as an audited,
rate-limited lookup that shows only the children the area looks after; "Restrict this
record" fills in the form; "check your answers" names the child (name and date of birth),
itself a recorded read."""

from datetime import date

import pytest

from accounts.models import Role
from audit.models import Action
from children.services import child_shield
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

FIND = "/manage/shielding/find/"
SHIELDING = "/manage/shielding/"
DOB = date(2016, 4, 5)


@pytest.fixture
def area():
    return make_area(name="Northshire")


@pytest.fixture
def child(area):
    return make_child(area=area, given_names="Lena", family_name="Novak", date_of_birth=DOB)


@pytest.fixture
def admin(client, area):
    user = make_user(role=Role.LA_ADMIN, organisation=area)
    client.force_login(user)
    return user


def find(client, **extra):
    data = {
        "family_name": "Novak",
        "given_name": "Lena",
        "dob_day": "5",
        "dob_month": "4",
        "dob_year": "2016",
        **extra,
    }
    return client.post(FIND, data)


def results_of(response) -> str:
    html = response.content.decode()
    return html[html.index('id="results"') :]


def test_an_admin_finds_the_child_of_their_area_and_the_search_is_recorded(client, admin, child):
    response = find(client)
    assert response.status_code == 200
    found = results_of(response)
    assert "Lena Novak" in found and child.public_id in found and "5 April 2016" in found
    assert f'href="{SHIELDING}?child={child.public_id}&amp;action=shield"' in found
    event = last_event()
    assert (event.action, event.children, event.actor_id) == (
        Action.SEARCH,
        [child.public_id],
        admin.pk,
    )
    assert event.detail == {"page": "restrict"}
    assert event.criteria["family_name"] == "Novak" and event.criteria["date_of_birth"]


def test_only_children_the_area_looks_after_are_shown(client, admin, area):
    elsewhere = make_child(
        area=make_area(name="Southshire"),
        given_names="Lena",
        family_name="Novak",
        date_of_birth=DOB,
    )
    found = results_of(find(client))
    assert elsewhere.public_id not in found and "Lena" not in found
    assert "No child that Northshire looks after matches" in found
    assert last_event().children == []


def test_a_record_another_authority_restricted_shows_whom_to_ask(client, admin, child):
    south = make_area(name="Southshire")
    south.safeguarding_contact = "Southshire front door, 0300 555 0199"
    south.save()
    child_shield(child=child, authority=south, reason="Risk")
    found = results_of(find(client))
    assert "Restricted record" in found and "0300 555 0199" in found
    assert "Lena" not in found and "Restrict this record" not in found
    assert "Lift the restriction" not in found


def test_a_record_the_area_restricted_offers_to_lift_it(client, admin, child, area):
    child_shield(child=child, authority=area, reason="Risk")
    found = results_of(find(client))
    assert "Lena Novak" in found and "Restricted by Northshire" in found
    assert f"?child={child.public_id}&amp;action=unshield" in found
    assert "Restrict this record" not in found


def test_too_little_to_search_is_an_error_and_no_lookup(client, admin, child):
    before = events().count()
    response = client.post(FIND, {"family_name": "Novak"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in html and "Enter the NHS number" in html
    assert events().count() == before


def test_the_lookup_counts_towards_the_hourly_limit(client, admin, child, settings):
    settings.LOOKUPS_PER_HOUR = 1
    assert find(client).status_code == 200
    response = find(client)
    assert response.status_code == 429
    assert "Lena" not in response.content.decode()
    assert last_event().action == Action.RATE_LIMITED


def test_restrict_this_record_fills_in_the_form(client, admin, child):
    html = client.get(f"{SHIELDING}?child={child.public_id}&action=shield").content.decode()
    assert f'value="{child.public_id}"' in html
    assert 'value="shield" checked' in html
    # Nothing but a well-formed public id and a known action is taken from the address.
    html = client.get(f"{SHIELDING}?child=<script>&action=delete").content.decode()
    assert "<script>" not in html and "checked" not in html


def test_check_your_answers_names_the_child_and_the_read_is_recorded(client, admin, child):
    data = {"public_id": child.public_id, "action": "shield", "reason": "Risk from a parent"}
    response = client.post(SHIELDING, data)
    html = response.content.decode()
    assert "Check your answers" in html
    assert "Lena Novak" in html and "5 April 2016" in html and child.public_id in html
    event = last_event()
    assert (event.action, event.children, event.detail) == (
        Action.MANAGE_VIEW,
        [child.public_id],
        {"page": "restrict"},
    )
    child.refresh_from_db()
    assert not child.shielded  # nothing changes until confirmed


def test_a_mistyped_public_id_names_no_one(client, admin):
    other = make_child(area=make_area(name="Southshire"), given_names="Ola", family_name="Nowak")
    response = client.post(
        SHIELDING, {"public_id": other.public_id, "action": "shield", "reason": "Risk"}
    )
    html = response.content.decode()
    assert "There is no record with this public ID in Northshire" in html
    assert "Ola" not in html and "Check your answers" not in html


def test_only_la_admins_find_children_to_restrict(client, area, child):
    for role in (Role.PRACTITIONER, Role.DATA_MANAGER, Role.AUDITOR):
        client.force_login(make_user(role=role, organisation=area))
        assert client.get(FIND).status_code == 403
        assert find(client).status_code == 403
    assert not events().filter(action=Action.SEARCH, detail__page="restrict").exists()
