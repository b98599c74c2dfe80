"""The 429 page (issue 15, item 3): the exact time the next lookup is allowed, from the
sliding 60 minutes of the trail, and whom to call when a child is at risk now."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.models import Action
from children.ratelimit import next_lookup_at
from tests.audit.helpers import events
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

DOB = date(2014, 6, 21)


@pytest.fixture
def area():
    area = make_area(name="Northshire")
    area.safeguarding_contact = "Northshire children's front door, 0300 555 0100"
    area.save()
    return area


@pytest.fixture
def practitioner(client, area):
    user = make_user(role=Role.PRACTITIONER, organisation=area)
    client.force_login(user)
    return user


def search(client):
    return client.post(
        "/search/",
        {"family_name": "Fitzgerald", "dob_day": "21", "dob_month": "6", "dob_year": "2014"},
    )


def clock(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local.strftime('%I:%M').lstrip('0')}{local.strftime('%p').lower()}"


def test_the_page_gives_the_time_the_oldest_lookup_leaves_the_window(
    client, practitioner, area, settings
):
    settings.LOOKUPS_PER_HOUR = 2
    make_child(area=area, family_name="Fitzgerald", date_of_birth=DOB)
    search(client)
    search(client)
    first = events().filter(action=Action.SEARCH).order_by("sequence").first().occurred_at
    response = search(client)
    assert response.status_code == 429
    html = response.content.decode()
    assert f"again at {clock(first + timedelta(hours=1))}" in html
    assert "start of the next hour" not in html
    assert next_lookup_at(user=practitioner) == first + timedelta(hours=1)
    assert "Northshire children&#x27;s front door, 0300 555 0100" in html
    assert "call 999" in html


def test_under_the_limit_the_next_lookup_is_now(practitioner):
    before = timezone.now()
    assert before <= next_lookup_at(user=practitioner) <= timezone.now()


def test_without_an_area_contact_the_page_says_where_to_turn(client, practitioner, area, settings):
    area.safeguarding_contact = ""
    area.save()
    settings.LOOKUPS_PER_HOUR = 1
    search(client)
    html = search(client).content.decode()
    assert "front door of the child's local authority" in html
    assert "out-of-hours emergency duty team" in html
