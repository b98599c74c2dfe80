"""Properties of every search, whatever is typed: it never shows more than the page's limit of
children, and never a shielded child's name, date of birth link or record, only "Restricted
record". Hypothesis types names, typos of them, dates near and far, postcodes and no postcode
against a register of look-alikes (one family of many children born the same day, some of
them shielded), through the practitioner's real search page."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from children.search import MAX_RESULTS
from children.services import child_shield
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

BORN = date(2015, 3, 2)
SEARCH = "/search/"
# Open records: more children alike than a search may show (records of different children
# with the same details, which the limit must hold against), one family's children born the
# same day, and some cousins.
OPEN = (
    *[("Amelia", "Okafor")] * (MAX_RESULTS + 2),
    ("Chidi", "Okafor"),
    ("Emeka", "Okafor"),
    ("Grace", "Okafor"),
    ("Kemi", "Okafor"),
    ("Amelia", "Okafur"),
    ("Amelia", "Okafor-Mensah"),
)
# Shielded records: given names no open record has, so that one in the results is a leak.
SHIELDED = (("Zainab", "Okafor"), ("Ifeoma", "Okafor"), ("Oluchi", "Okafur"))
TYPOS = ["Zainap", "Ifeomah", "Oluchy", "Amelie", "Grce", ""]
GIVEN = [*sorted({g for g, _ in (*OPEN, *SHIELDED)}), *TYPOS]
FAMILY = ["Okafor", "Okafur", "Okafo", "Okafor-Mensah", "Mensah", "Okafor Mensah", "OKAFOR"]
DATES = st.sampled_from(
    [
        BORN,
        date(2015, 2, 3),  # day and month swapped
        date(2015, 3, 12),  # one digit
        date(2015, 3, 20),  # digits transposed
        date(2016, 3, 2),  # a year out
        date(2011, 8, 30),  # different
    ]
)


@pytest.fixture
def register():
    area = make_area(name="Northshire")
    for given_names, family in OPEN:
        make_child(area=area, date_of_birth=BORN, given_names=given_names, family_name=family)
    shielded = []
    for given_names, family in SHIELDED:
        child = make_child(
            area=area, date_of_birth=BORN, given_names=given_names, family_name=family
        )
        child_shield(child=child, authority=area, reason="Risk of harm")
        shielded.append(child)
    return area, shielded


@pytest.fixture
def practitioner(client, register, settings):
    settings.LOOKUPS_PER_HOUR = 1_000_000
    settings.FLAG_VOLUME_DAILY_LIMIT = 1_000_000
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=register[0]))


def results_of(html: str) -> str:
    return html[html.index('id="results"') :] if 'id="results"' in html else ""


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    family=st.sampled_from(FAMILY),
    given_name=st.sampled_from(GIVEN),
    born=DATES,
    postcode=st.sampled_from(["", "N1 1AA", "M1 1AE", "SW1A 1AA"]),
)
def test_no_search_shows_more_than_the_limit_or_a_shielded_name(
    client, register, practitioner, family, given_name, born, postcode
):
    _, shielded = register
    response = client.post(
        SEARCH,
        {
            "family_name": family,
            "given_name": given_name,
            "dob_day": str(born.day),
            "dob_month": str(born.month),
            "dob_year": str(born.year),
            "postcode": postcode,
        },
    )
    assert response.status_code == 200
    results = results_of(response.content.decode())
    assert results, "a search with the minimum criteria gets a results section"
    rows = results.count('<tr class="govuk-table__row">') - 1  # less the header row
    assert rows <= MAX_RESULTS
    for child in shielded:
        name = child.names.get()
        assert name.given_names not in results
        assert child.public_id not in results
        assert f"/children/{child.public_id}/" not in results


def test_the_register_is_one_where_the_property_can_fail(client, register, practitioner):
    """The look-alikes do reach the limit, and a shielded child is found (as restricted)."""
    everyone = client.post(
        SEARCH,
        {
            "family_name": "Okafor",
            "given_name": "Amelia",
            "dob_day": "2",
            "dob_month": "3",
            "dob_year": "2015",
        },
    )
    assert "More than 10 children match" in results_of(everyone.content.decode())
    typo = client.post(
        SEARCH,
        {
            "family_name": "Okafor",
            "given_name": "Zainap",
            "dob_day": "2",
            "dob_month": "3",
            "dob_year": "2015",
        },
    )
    results = results_of(typo.content.decode())
    assert "Restricted record" in results and "Zainab" not in results
