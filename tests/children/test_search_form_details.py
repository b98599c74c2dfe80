"""The search and reason forms as the GOV.UK Design System has them (issue 15, item 6): the
error summary in the page's order, no radio chosen before the user chooses, the postcode
checked as a UK postcode, "Give the reason" revealed under "Other reason" only."""

import re
from datetime import date

import pytest

from accounts.models import Role
from tests.children.test_search_views import search
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

DOB = date(2014, 6, 21)


@pytest.fixture
def practitioner(client):
    area = make_area(name="Northshire")
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    return area


def summary(html: str) -> list[str]:
    start = html.index("govuk-error-summary__list")
    body = html[start : html.index("</ul>", start)]
    return re.findall(r'<a href="#([^"]+)">', body)


def test_the_error_summary_follows_the_fields_down_the_page(client, practitioner):
    html = client.post(
        "/search/",
        {
            "nhs_number": "123",
            "family_name": "Fitzgerald",
            "dob_day": "31",
            "dob_month": "2",
            "dob_year": "2015",
            "postcode": "not a postcode",
        },
    ).content.decode()
    assert summary(html) == ["id_nhs_number", "id_dob_day", "id_postcode"]


def test_no_sex_is_chosen_until_the_user_chooses(client, practitioner):
    html = client.get("/search/").content.decode()
    radios = re.findall(r'<input class="govuk-radios__input"[^>]*>', html)
    assert len(radios) == 4 and not any("checked" in radio for radio in radios)
    assert html.index(">Other<") < html.index(">Not known<")  # "Not known" last


@pytest.mark.parametrize("postcode", ["Q1 1AA", "SW1A 1A", "12345", "SW1A 1AAA"])
def test_a_postcode_must_be_a_uk_postcode(client, practitioner, postcode):
    html = client.post(
        "/search/",
        {"family_name": "Fitzgerald", "given_name": "Keira", "postcode": postcode},
    ).content.decode()
    assert "Enter a real UK postcode, like SW1A 1AA" in html


def test_not_known_searches_without_the_sex(client, practitioner):
    child = make_child(
        area=practitioner,
        given_names="Keira",
        family_name="Fitzgerald",
        date_of_birth=date(2014, 6, 21),
    )
    html = client.post(
        "/search/",
        {
            "family_name": "Fitzgerald",
            "given_name": "Keira",
            "dob_day": "21",
            "dob_month": "6",
            "dob_year": "2014",
            "sex": "not_known",
        },
    ).content.decode()
    assert child.public_id in html


def test_give_the_reason_is_revealed_under_other_reason_only(client, practitioner):
    child = make_child(
        area=practitioner,
        given_names="Keira",
        family_name="Fitzgerald",
        date_of_birth=date(2014, 6, 21),
    )
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    url = f"/children/{child.public_id}/"
    html = client.get(url).content.decode()
    other = re.search(r'<input[^>]*value="other"[^>]*>', html).group(0)
    assert 'data-aria-controls="conditional-id_reason_4"' in other
    hidden = 'class="govuk-radios__conditional govuk-radios__conditional--hidden"'
    assert f'{hidden} id="conditional-id_reason_4"' in html
    # The text box is inside the reveal, and nowhere else.
    assert html.count('name="details"') == 1
    assert html.index('id="conditional-id_reason_4"') < html.index('name="details"')
    # "Other reason" with no reason given: the error, with the box open.
    html = client.post(url, {"reason": "other", "details": ""}).content.decode()
    assert "Give the reason you need to see this child" in html
    assert 'class="govuk-radios__conditional" id="conditional-id_reason_4"' in html
