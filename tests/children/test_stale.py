"""Stale data made visible: open involvements their source has not confirmed lately."""

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from accounts.models import Role
from audit.models import Action
from children.models import Involvement
from tests.audit.helpers import last_event
from tests.factories import make_area, make_child, make_partner, make_user

pytestmark = pytest.mark.django_db

LIST = "/manage/involvements/not-confirmed/"


def confirmed(child, *, months_ago: int, days: int = 0) -> Involvement:
    involvement = child.involvements.get()
    when = timezone.now() - relativedelta(months=months_ago) - timedelta(days=days)
    Involvement.objects.filter(pk=involvement.pk).update(confirmed_at=when)
    return involvement


@pytest.fixture
def area():
    return make_area(name="Eastshire")


def test_the_record_marks_an_open_involvement_not_confirmed_for_six_months(client, area):
    child = make_child(
        area=area, given_names="Ines", family_name="Silva", date_of_birth=date(2015, 1, 9)
    )
    confirmed(child, months_ago=6, days=1)
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    client.post(
        "/search/",
        {
            "family_name": "Silva",
            "given_name": "Ines",
            "dob_day": "9",
            "dob_month": "1",
            "dob_year": "2015",
        },
    )
    html = client.post(f"/children/{child.public_id}/", {"reason": "assessment"}).content.decode()
    # The day in the UK of the instant it was confirmed (late in the evening, UTC and London
    # can be on different days).
    expected = timezone.localdate(timezone.now() - relativedelta(months=6) - timedelta(days=1))
    assert f"Not confirmed since {expected:%-d %B %Y}" in html


def test_a_recently_confirmed_or_closed_involvement_is_not_marked(client, area, settings):
    fresh = make_child(
        area=area, given_names="Ines", family_name="Silva", date_of_birth=date(2015, 1, 9)
    )
    confirmed(fresh, months_ago=5)
    closed = make_child(
        area=area,
        given_names="Ines",
        family_name="Silvas",
        date_of_birth=date(2015, 1, 9),
        ended_on=date(2024, 6, 1),
    )
    confirmed(closed, months_ago=30)
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    client.post(
        "/search/", {"family_name": "Silva", "dob_day": "9", "dob_month": "1", "dob_year": "2015"}
    )
    for child in (fresh, closed):
        html = client.post(
            f"/children/{child.public_id}/", {"reason": "assessment"}
        ).content.decode()
        assert "Not confirmed since" not in html
    settings.STALE_AFTER_MONTHS = 4  # the period is a setting
    html = client.post(f"/children/{fresh.public_id}/", {"reason": "assessment"}).content.decode()
    assert "Not confirmed since" in html


def test_data_managers_list_their_areas_stale_involvements_oldest_first(client, area):
    partner = make_partner(area=area, name="Eastshire Community Health")
    older = make_child(area=area, given_names="Ada", family_name="Older", organisation=partner)
    newer = make_child(area=area, given_names="Bea", family_name="Newer")
    fresh = make_child(area=area, given_names="Cal", family_name="Fresh")
    elsewhere = make_child(area=make_area(), given_names="Dee", family_name="Elsewhere")
    confirmed(older, months_ago=12)
    confirmed(newer, months_ago=7)
    confirmed(fresh, months_ago=1)
    confirmed(elsewhere, months_ago=12)
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))
    response = client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 involvements, oldest first" in html
    assert html.index("Ada Older") < html.index("Bea Newer")
    assert "Eastshire Community Health" in html  # partner agencies of the area too
    assert "Cal Fresh" not in html and "Dee Elsewhere" not in html
    event = last_event()
    assert event.action == Action.STALE_REVIEW
    assert event.children == sorted([older.public_id, newer.public_id])
    assert event.result_count == 2


def test_practitioners_cannot_list_them(client, area):
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    assert client.get(LIST).status_code == 403


def test_an_empty_list_says_so(client, area):
    make_child(area=area)
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))
    assert "has been confirmed since" in client.get(LIST).content.decode()


def test_the_list_goes_on_over_pages(client, area):
    for n in range(51):
        child = make_child(area=area, given_names="Page", family_name=f"Child{'x' * (n % 5)}")
        confirmed(child, months_ago=8)
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))
    first = client.get(LIST).content.decode()
    assert "51 involvements" in first and 'href="?page=2"' in first and "Previous page" not in first
    second = client.get(LIST, {"page": 2}).content.decode()
    assert 'href="?page=1"' in second and "Next page" not in second


def test_each_row_leads_to_the_record_and_says_whom_to_ask(client, area):
    child = make_child(area=area, given_names="Ada", family_name="Older")
    confirmed(child, months_ago=12)
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))
    html = client.get(LIST).content.decode()
    assert f'href="/manage/children/{child.public_id}/"' in html
    assert "Entered by a data manager" in html  # no source system sent it
    assert 'href="tel:02079460001"' in html  # the practitioner's phone, to check with


def test_a_record_another_authority_restricted_shows_only_whom_to_ask(client, area):
    from children.services import child_shield

    child = make_child(area=area, given_names="Ada", family_name="Older")
    confirmed(child, months_ago=12)
    other = make_area(name="Westshire")
    other.safeguarding_contact = "Westshire front door, 0300 555 0111"
    other.save()
    child_shield(child=child, authority=other, reason="Risk of harm")
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))
    html = client.get(LIST).content.decode()
    assert "Restricted record" in html and "Westshire front door, 0300 555 0111" in html
    assert "Ada Older" not in html
    assert f'href="/manage/children/{child.public_id}/"' not in html


def test_the_queries_do_not_grow_with_the_rows(client, area):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured.captured_queries)

    confirmed(make_child(area=area, family_name="One"), months_ago=12)
    queries()  # the first request of a session does a few things once
    one = queries()
    for n in range(5):
        confirmed(make_child(area=area, family_name=f"More{'x' * n}"), months_ago=12)
    assert queries() == one
