"""Manage pages name the child beside the public id, and each change says what was saved
(issue 15, item 12)."""

from datetime import date

import pytest

from accounts.models import Role
from tests.children.test_manage_pages import date_parts
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def area():
    return make_area(name="Northshire")


@pytest.fixture
def child(area):
    return make_child(area=area, given_names="Tomasz", family_name="Kowalczyk")


@pytest.fixture
def manager(client, area):
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))


def test_every_change_page_names_the_child_beside_the_public_id(client, manager, child):
    involvement = child.involvements.get()
    base = f"/manage/children/{child.public_id}/"
    for suffix in (
        "involvements/new/",
        f"involvements/{involvement.pk}/close/",
        f"involvements/{involvement.pk}/lead/",
        "move/",
        "name/",
    ):
        html = client.get(base + suffix).content.decode()
        assert f"Tomasz Kowalczyk, {child.public_id}" in html, suffix


def test_a_closed_involvement_says_so(client, manager, child):
    involvement = child.involvements.get()
    url = f"/manage/children/{child.public_id}/involvements/{involvement.pk}/close/"
    response = client.post(url, {**date_parts("ended_on", date(2026, 1, 31)), "confirm": "1"})
    assert response["Location"].endswith("?saved=involvement_closed")
    html = client.get(response["Location"]).content.decode()
    assert "The involvement has been closed." in html


def test_a_new_name_says_the_old_one_is_kept(client, manager, child):
    url = f"/manage/children/{child.public_id}/name/"
    data = {
        "given_names": "Tomasz",
        "family_name": "Nowak",
        **date_parts("since", date(2026, 2, 1)),
    }
    response = client.post(url, {**data, "confirm": "1"})
    html = client.get(response["Location"]).content.decode()
    assert "The old name is kept as a previous name" in html


def test_an_unknown_message_code_says_nothing(client, manager, child):
    html = client.get(f"/manage/children/{child.public_id}/?saved=<script>").content.decode()
    assert "govuk-notification-banner--success" not in html and "<script>" not in html
