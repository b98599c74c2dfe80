""" "Back to results" (/search/results/): the user's latest search results again, read from the
trail, for RESULTS_KEPT_MINUTES, only to the user who searched, audited as a view of results
and not counted as a new lookup; the records as they are now (a record restricted since
shows as restricted)."""

from datetime import date

import pytest

from accounts.models import Role
from audit.models import Action
from children.services import child_shield
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

DOB = date(2014, 6, 21)
SEARCH = "/search/"
RESULTS = "/search/results/"


@pytest.fixture
def area():
    return make_area(name="Northshire")


@pytest.fixture
def child(area):
    return make_child(area=area, given_names="Keira", family_name="Fitzgerald", date_of_birth=DOB)


@pytest.fixture
def practitioner(client, area):
    user = make_user(role=Role.PRACTITIONER, organisation=area)
    client.force_login(user)
    return user


def search(client, **extra):
    data = {
        "family_name": "Fitzgerald",
        "given_name": "Keira",
        "dob_day": "21",
        "dob_month": "6",
        "dob_year": "2014",
        **extra,
    }
    return client.post(SEARCH, data)


def results_of(response) -> str:
    html = response.content.decode()
    return html[html.index('id="results"') :]


def test_the_latest_results_again_audited_as_a_view_of_results(client, practitioner, child):
    first = search(client)
    assert child.public_id in results_of(first)
    searches = events().filter(action=Action.SEARCH).count()
    response = client.get(RESULTS)
    assert response.status_code == 200
    html = response.content.decode()
    assert child.public_id in results_of(response) and "Keira Fitzgerald" in results_of(response)
    # As it was asked: the form filled in, with what agreed.
    assert 'value="Fitzgerald"' in html and 'value="21"' in html and 'value="2014"' in html
    assert "Family name: same" in html
    assert "shown again" in html
    event = last_event()
    assert event.action == Action.RESULTS_VIEW
    assert event.children == [child.public_id]
    assert event.actor_id == practitioner.pk
    assert events().filter(action=Action.SEARCH).count() == searches  # not a new search


def test_results_again_are_not_a_new_lookup(client, practitioner, child, settings):
    settings.LOOKUPS_PER_HOUR = 1
    search(client)  # the one lookup of the hour
    response = client.get(RESULTS)
    assert response.status_code == 200 and child.public_id in results_of(response)
    # ...and the record still opens from them? No: that would be a second lookup.
    opened = client.post(f"/children/{child.public_id}/", {"reason": "assessment"})
    assert opened.status_code == 429


def test_the_record_still_opens_from_the_results_shown_again(client, practitioner, child):
    search(client)
    client.get(RESULTS)
    opened = client.post(f"/children/{child.public_id}/", {"reason": "assessment"})
    assert opened.status_code == 200
    assert "Back to results" in opened.content.decode()


def test_the_reason_question_leads_back_to_the_results(client, practitioner, child):
    search(client)
    question = client.get(f"/children/{child.public_id}/")
    assert question.status_code == 200
    assert f'href="{RESULTS}"' in question.content.decode()


def test_only_the_user_who_searched_sees_them(client, practitioner, child, area):
    search(client)
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    response = client.get(RESULTS)
    assert response.status_code == 200
    html = response.content.decode()
    assert child.public_id not in html and "Keira" not in html
    assert "You have no search results from the last 30 minutes" in html
    assert not events().filter(action=Action.RESULTS_VIEW).exists()


def test_results_older_than_the_limit_are_gone(client, practitioner, child, settings):
    search(client)
    settings.RESULTS_KEPT_MINUTES = 0  # the search is now older than the limit
    response = client.get(RESULTS)
    html = response.content.decode()
    assert "Keira" not in html and "You have no search results from the last 0 minutes" in html
    assert not events().filter(action=Action.RESULTS_VIEW).exists()


def test_a_record_restricted_since_the_search_shows_as_restricted(client, practitioner, child):
    search(client)
    other = make_area(name="Southshire")
    child_shield(child=child, authority=other, reason="Risk of harm")
    response = client.get(RESULTS)
    results = results_of(response)
    assert "Restricted record" in results
    assert "Keira" not in results and "Fitzgerald" not in results
    assert "Family name: same" not in results


def test_no_results_and_too_many_are_shown_as_they_were(client, practitioner, area):
    for _ in range(12):
        make_child(area=area, given_names="Amelia", family_name="Okafor", date_of_birth=DOB)
    search(client, family_name="Okafor", given_name="Amelia")
    again = client.get(RESULTS)
    assert "More than 10 children match" in results_of(again)
    search(client, family_name="Nobody", given_name="Atall")
    again = client.get(RESULTS)
    assert "No child matches these details" in results_of(again)
    assert last_event().children == []


def test_the_results_page_puts_results_again_in_the_history(client, practitioner, child):
    html = search(client).content.decode()
    assert f'data-results-url="{RESULTS}"' in html
