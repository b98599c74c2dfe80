"""A lead professional can be reached (issue 15, item 2): a name and a phone or an email, in
the manage pages, the services, imports and the feed API (an error naming the row); a record
says when no one is lead professional, and whom to call when an involvement names no one."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils.html import escape

from accounts.models import Role
from children.feed import feed_token_issue
from children.involvement_rules import LEAD_NEEDS_CONTACT, LEAD_NEEDS_NAME
from children.models import Involvement, Service
from children.services import InvolvementDetails, involvement_add, involvement_set_lead
from tests.children.test_feed_api import post
from tests.children.test_import import CAMDEN, WESTMINSTER, import_csv, make_row, messages
from tests.children.test_manage_pages import child_form
from tests.children.test_search_views import search
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

DOB = date(2014, 6, 21)


@pytest.fixture
def area():
    area = make_area(code=CAMDEN, name="Camden")
    area.safeguarding_contact = "Camden children's front door, 020 7974 3317"
    area.save()
    make_area(code=WESTMINSTER, name="Westminster")
    return area


@pytest.fixture
def manager(client, area):
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))


def test_add_a_child_refuses_a_lead_professional_no_one_can_reach(client, manager, area):
    data = child_form(area, practitioner_name="", practitioner_phone="", practitioner_email="")
    html = client.post("/manage/children/new/", data).content.decode()
    assert "govuk-error-summary" in html
    assert escape(LEAD_NEEDS_NAME) in html and escape(LEAD_NEEDS_CONTACT) in html
    # A name and an email are enough; not a lead, nothing is needed.
    ok = client.post(
        "/manage/children/new/", child_form(area, practitioner_phone="")
    ).content.decode()
    assert "Check your answers" in ok
    not_lead = child_form(
        area,
        practitioner_name="",
        practitioner_phone="",
        practitioner_email="",
        lead_professional="no",
    )
    assert "Check your answers" in client.post("/manage/children/new/", not_lead).content.decode()


def test_the_services_refuse_it_too(area):
    child = make_child(area=area)
    details = InvolvementDetails(
        service=Service.objects.get(code="gp"),
        organisation=area,
        started_on=date(2025, 1, 1),
        lead_professional=True,
    )
    with pytest.raises(ValidationError) as refused:
        involvement_add(child=child, details=details)
    assert set(refused.value.message_dict) == {"practitioner_name", "practitioner_phone"}
    nobody = involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="gp"), organisation=area, started_on=date(2025, 1, 1)
        ),
    )
    with pytest.raises(ValidationError):
        involvement_set_lead(involvement=nobody)
    nobody.refresh_from_db()
    assert not nobody.lead_professional


def test_make_lead_explains_why_it_cannot(client, manager, area):
    child = make_child(area=area)
    nobody = involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="gp"), organisation=area, started_on=date(2025, 1, 1)
        ),
    )
    url = f"/manage/children/{child.public_id}/involvements/{nobody.pk}/lead/"
    html = client.post(url, {"confirm": "1"}).content.decode()
    assert escape(LEAD_NEEDS_CONTACT) in html
    assert not Involvement.objects.get(pk=nobody.pk).lead_professional


def test_an_import_row_naming_no_one_to_reach_is_refused_with_its_row(area):
    report = import_csv(
        [
            make_row(),
            make_row(
                child_ref="C2",
                involvement_ref="I2",
                lead_professional="yes",
                practitioner_name="",
                practitioner_phone="",
                practitioner_email="",
            ),
        ]
    )
    found = messages(report)
    assert any("Row 3" in m and "practitioner_name" in m and "needs a name" in m for m in found)
    assert any("Row 3" in m and "practitioner_phone" in m and "be reached" in m for m in found)
    assert not Involvement.objects.exists()


def test_the_feed_api_answers_400_naming_the_item_and_field(client, area):
    _, token = feed_token_issue(source="camden-lcs", local_authority=area)
    row = make_row(lead_professional="yes", practitioner_phone="", practitioner_email="")
    response = post(client, [row], token)
    assert response.status_code == 400
    problems = {(error["row"], error["field"]) for error in response.json()["errors"]}
    assert (1, "practitioner_phone") in problems


def test_the_record_says_when_no_one_leads_and_whom_to_call(client, area):
    child = make_child(area=area, given_names="Keira", family_name="Fitzgerald", date_of_birth=DOB)
    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="gp"), organisation=area, started_on=date(2025, 1, 1)
        ),
    )
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    html = client.post(f"/children/{child.public_id}/", {"reason": "assessment"}).content.decode()
    assert "No one is the lead professional for this child" in html
    assert "No one is named for this involvement" in html
    assert "Camden children&#x27;s front door, 020 7974 3317" in html
