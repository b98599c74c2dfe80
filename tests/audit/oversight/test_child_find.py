"""An auditor finds the child of a subject access request by name and date of birth (issue 15,
item 13), recorded as an audit search, to open the child's access report; a restricted
record shows as a search shows it (no name); a purged child is found by public id, and the
page says so."""

from datetime import date

import pytest

from accounts.models import Role
from audit.models import Action
from children.identifiers import new_public_id
from children.services import child_shield
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

FIND = "/audit/children/"
DOB = date(2013, 11, 2)


@pytest.fixture
def area():
    return make_area(name="Northshire")


@pytest.fixture
def child(area):
    return make_child(area=area, given_names="Tomasz", family_name="Zielinski", date_of_birth=DOB)


@pytest.fixture
def auditor(client, area):
    user = make_user(role=Role.AUDITOR, organisation=area)
    client.force_login(user)
    return user


def find(client, **extra):
    data = {
        "family_name": "Zielinski",
        "given_name": "Tomasz",
        "dob_day": "2",
        "dob_month": "11",
        "dob_year": "2013",
        **extra,
    }
    return client.post(FIND, data)


def results_of(response) -> str:
    html = response.content.decode()
    return html[html.index('id="results"') : html.index("A child whose record has been purged")]


def test_an_auditor_finds_the_child_and_opens_the_access_report(client, auditor, child):
    response = find(client)
    assert response.status_code == 200
    found = results_of(response)
    assert "Tomasz Zielinski" in found and "2 November 2013" in found
    assert f'href="/audit/children/{child.public_id}/"' in found
    event = last_event()
    assert (event.action, event.children, event.actor_id, event.detail) == (
        Action.AUDIT_SEARCH,
        [child.public_id],
        auditor.pk,
        {"page": "find_child"},
    )
    assert event.criteria["family_name"] == "Zielinski"
    assert event.criteria["date_of_birth"] == "2013-11-02"
    report = client.get(f"/audit/children/{child.public_id}/")
    assert report.status_code == 200 and "Record held" in report.content.decode()


def test_a_restricted_record_shows_no_name_but_its_report(client, auditor, child):
    south = make_area(name="Southshire")
    south.safeguarding_contact = "Southshire front door, 0300 555 0199"
    south.save()
    child_shield(child=child, authority=south, reason="Risk")
    found = results_of(find(client))
    assert "Tomasz" not in found and "Zielinski" not in found
    assert "Restricted record" in found and "0300 555 0199" in found
    assert f'href="/audit/children/{child.public_id}/"' in found


def test_no_match_says_a_purged_child_is_found_by_public_id(client, auditor, child, settings):
    settings.RETENTION_MONTHS = 12
    found = results_of(find(client, family_name="Kowalczyk", given_name="Anna"))
    assert "No child on the register matches" in found
    assert "purged 12 months after" in found and "find the report by public ID" in found
    assert last_event().children == []


def test_a_purged_childs_report_opens_by_public_id(client, auditor):
    purged = new_public_id()
    response = client.get(FIND, {"public_id": purged.lower()})
    assert response.status_code == 302 and response["Location"] == f"/audit/children/{purged}/"
    report = client.get(response["Location"]).content.decode()
    assert "No record held: purged or never on the register" in report


def test_a_mistyped_public_id_is_an_error(client, auditor):
    before = events().count()
    response = client.get(FIND, {"public_id": "7KQ-4M2-PX0"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in html and "not a real public ID" in html
    assert response.context["id_form"].errors
    assert events().count() == before


def test_too_little_to_search_is_an_error_and_nothing_is_read(client, auditor, child):
    before = events().count()
    response = client.post(FIND, {"family_name": "Zielinski"})
    html = response.content.decode()
    assert "govuk-error-summary" in html and "Enter the NHS number" in html
    assert "Tomasz" not in html
    assert events().count() == before


def test_the_form_page_reads_nothing(client, auditor, child):
    before = events().count()
    html = client.get(FIND).content.decode()
    assert (
        "access report" in html
        and '<h1 class="govuk-heading-l">Find a child' in html
        and 'id="results"' not in html
    )
    assert events().count() == before


def test_only_auditors_find_children_for_access_reports(client, area, child):
    for role in (Role.PRACTITIONER, Role.DATA_MANAGER, Role.LA_ADMIN):
        client.force_login(make_user(role=role, organisation=area))
        assert client.get(FIND).status_code == 403
        assert find(client).status_code == 403
    assert not events().filter(action=Action.AUDIT_SEARCH).exists()
