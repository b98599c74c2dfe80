"""Whatever is posted to the search and reason forms: never a server error, always either a
GOV.UK error summary or an answer (results, the question or the record). 1,200 examples."""

import string
from datetime import date

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SEARCH_FIELDS = [
    "family_name",
    "given_name",
    "dob_day",
    "dob_month",
    "dob_year",
    "postcode",
    "sex",
    "nhs_number",
]
DOB = date(2016, 3, 27)

# Text that is mostly plausible, with the nasty cases mixed in: any unicode, NUL and other
# control characters, wildcards, SQL, huge values.
nasty_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=string.printable, max_size=30),
    st.sampled_from(
        ["Okafor", "O'Brien", "27", "3", "2016", "SW1A 1AA", "943 476 5919", "female", ""]
    ),
    st.sampled_from(["%", "*", "_", "' OR 1=1 --", "\x00", "Ok\x00afor", "\ud7ff", "ǅ"]),
    st.text(min_size=1, max_size=3).map(lambda text: text * 20_000),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
# Each field absent, once or repeated (a list posts the field several times).
field_value = st.one_of(nasty_text, st.lists(nasty_text, min_size=2, max_size=3))
search_posts = st.dictionaries(st.sampled_from(SEARCH_FIELDS), field_value, max_size=8)
reason_posts = st.dictionaries(
    st.sampled_from(["reason", "details", "csrfmiddlewaretoken", "public_id"]),
    st.one_of(
        st.sampled_from(["child_protection", "assessment", "referral", "other", "OTHER"]),
        field_value,
    ),
    max_size=4,
)


@pytest.fixture
def searcher(settings):
    settings.LOOKUPS_PER_HOUR = 1_000_000  # the fuzzing is not the harvesting under test
    area = make_area()
    child = make_child(area=area, given_names="Ada", family_name="Okafor", date_of_birth=DOB)
    client = Client()
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    return client, child


def assert_answered(response) -> str:
    assert response.status_code in (200, 403, 429), response.status_code
    html = response.content.decode()
    assert 'class="govuk-' in html
    return html


@FUZZ
@given(data=search_posts)
def test_search_form_never_fails(searcher, data):
    client, _ = searcher
    html = assert_answered(client.post("/search/", data))
    assert "govuk-error-summary" in html or "Search results" in html


@FUZZ
@given(data=search_posts)
def test_search_form_with_a_real_name_never_fails(searcher, data):
    client, _ = searcher
    data = {"family_name": "Okafor", "dob_day": "27", "dob_month": "3", "dob_year": "2016", **data}
    html = assert_answered(client.post("/search/", data))
    assert "govuk-error-summary" in html or "Search results" in html


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=reason_posts)
def test_reason_form_never_fails(searcher, data):
    client, child = searcher
    client.post(
        "/search/",
        {
            "family_name": "Okafor",
            "given_name": "Ada",
            "dob_day": "27",
            "dob_month": "3",
            "dob_year": "2016",
        },
    )
    response = client.post(f"/children/{child.public_id}/", data)
    html = assert_answered(response)
    assert response.status_code == 200
    assert "govuk-error-summary" in html or "Working with the child now" in html
