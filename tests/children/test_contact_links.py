"""Phone numbers are tel: links and e-mail addresses mailto: links on the record (issue 15,
item 4), so a practitioner on a phone calls the lead professional with one tap."""

from datetime import date

import pytest

from accounts.models import Role
from children.models import Service
from children.services import InvolvementDetails, involvement_add
from signposting.templatetags.contact_links import phone_link
from tests.children.test_search_views import search
from tests.factories import make_area, make_child, make_user

DOB = date(2014, 6, 21)


@pytest.mark.parametrize(
    ("number", "href"),
    [
        ("020 7946 0999", "tel:02079460999"),
        ("07700-900 123", "tel:07700900123"),
        ("+44 (0)20 7946 0999", "tel:+442079460999"),
        ("(01632) 960 001", "tel:01632960001"),
    ],
)
def test_a_number_is_dialled_without_spaces_dashes_or_brackets(number, href):
    html = phone_link(number)
    assert f'href="{href}"' in html and f">{number}</a>" in html


def test_no_number_or_no_digits():
    assert phone_link("") == "Not recorded"
    assert phone_link("ask at reception") == "ask at reception"
    assert "<" not in phone_link("<script>")  # escaped or left as text, never markup
    assert phone_link("<b>0300</b>").count("<a ") == 1 and "<b>" not in phone_link("<b>0300</b>")


@pytest.mark.django_db
def test_the_record_links_the_phone_and_the_email(client):
    area = make_area(name="Northshire")
    child = make_child(area=area, given_names="Keira", family_name="Fitzgerald", date_of_birth=DOB)
    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="gp"),
            organisation=area,
            started_on=date(2025, 2, 1),
            practitioner_name="Dr Ada Lovelace",
            practitioner_phone="020 7946 0999",
            practitioner_email="ada.lovelace@nhs.example",
        ),
    )
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    html = client.post(f"/children/{child.public_id}/", {"reason": "assessment"}).content.decode()
    assert '<a class="govuk-link" href="tel:02079460999">020 7946 0999</a>' in html
    assert 'href="mailto:ada.lovelace@nhs.example"' in html
