"""The auditor's event list: filters, paging, and every use recorded."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import Role
from audit.services import record
from tests.audit.helpers import events_after, head_sequence, last_event
from tests.factories import make_area, make_partner, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(client):
    user = make_user(role=Role.AUDITOR, email="auditor@example.org")
    client.force_login(user)
    return user


def as_user(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_events_are_listed_newest_first_and_the_look_is_recorded(client, auditor):
    practitioner = make_user(email="pat@example.org")
    record(request=as_user(practitioner), action="search", children=["AAA-BBB-CC1"])
    record(
        request=as_user(practitioner),
        action="record_view",
        children=["AAA-BBB-CC1"],
        reason_code="assessment",
    )
    start = head_sequence()
    response = client.get("/audit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Record view") < html.index("Search</td>")
    assert "pat@example.org" in html and "AAA-BBB-CC1" in html
    looked = events_after(start).get()
    assert looked.action == "audit_search"
    assert looked.actor_id == auditor.pk
    assert looked.result_count >= 2


def test_filters_narrow_the_list_and_are_recorded_as_criteria(client, auditor):
    area = make_area(code="E09000007", name="Camden")
    pat = make_user(email="pat@example.org", organisation=area)
    sam = make_user(email="sam@example.org")
    record(request=as_user(pat), action="record_view", children=["AAA-BBB-CC1"])
    record(request=as_user(sam), action="record_view", children=["ZZZ-YYY-XX9"])
    record(request=as_user(pat), action="search", children=["ZZZ-YYY-XX9"])

    html = client.get("/audit/", {"username": "PAT@example.org"}).content.decode()
    assert "pat@example.org" in html and "sam@example.org" not in html

    html = client.get("/audit/", {"child": "zzz-yyy-xx9"}).content.decode()
    assert "ZZZ-YYY-XX9" in html and "AAA-BBB-CC1" not in html

    html = client.get("/audit/", {"area": "E09000007", "action": "record_view"}).content.decode()
    assert "AAA-BBB-CC1" in html and "ZZZ-YYY-XX9" not in html
    assert last_event().criteria == {"area": "E09000007", "action": "record_view"}


def test_organisations_are_chosen_by_name_and_an_area_includes_its_partners(client, auditor):
    camden = make_area(code="E09000007", name="Camden")
    school = make_partner(area=camden, name="St Mary's Primary School")
    elsewhere = make_partner(area=make_area(name="Barnet"), name="St Mary's Health Centre")
    record(
        request=as_user(make_user(organisation=camden)), action="search", children=["AAA-BBB-CC1"]
    )
    record(
        request=as_user(make_user(organisation=school)), action="search", children=["BBB-CCC-DD2"]
    )
    record(
        request=as_user(make_user(organisation=elsewhere)),
        action="search",
        children=["CCC-DDD-EE3"],
    )
    # The area select lists local authorities by name, not codes.
    page = client.get("/audit/").content.decode()
    assert '<option value="E09000007">Camden</option>' in page

    html = client.get("/audit/", {"area": "E09000007"}).content.decode()
    assert "AAA-BBB-CC1" in html and "BBB-CCC-DD2" in html and "CCC-DDD-EE3" not in html

    html = client.get("/audit/", {"organisation": "st mary"}).content.decode()
    assert "BBB-CCC-DD2" in html and "CCC-DDD-EE3" in html and "AAA-BBB-CC1" not in html
    assert last_event().criteria == {"organisation": "st mary"}

    html = client.get("/audit/", {"organisation": "st mary", "area": "E09000007"}).content.decode()
    assert "BBB-CCC-DD2" in html and "CCC-DDD-EE3" not in html

    html = client.get("/audit/", {"organisation": "Nowhere Academy"}).content.decode()
    assert "govuk-error-summary" in html
    assert "No organisation has “Nowhere Academy” in its name" in html


def test_too_many_organisations_by_name_asks_for_more_of_it(client, auditor):
    area = make_area(name="Bigshire")
    for n in range(51):
        make_partner(area=area, name=f"Bigshire School {n}")
    html = client.get("/audit/", {"organisation": "school"}).content.decode()
    assert "More than 50 organisations have “school” in their name" in html


def dates(**days) -> dict[str, str]:
    """The GOV.UK date input's three boxes of each date."""
    return {
        f"{name}_{part}": str(getattr(day, part))
        for name, day in days.items()
        for part in ("day", "month", "year")
    }


def test_date_range_filters_whole_days(client, auditor):
    record(request=as_user(make_user(email="pat@example.org")), action="search")
    today = timezone.localdate()
    page = client.get("/audit/").content.decode()
    assert 'name="date_from_day"' in page and 'name="date_to_year"' in page
    html = client.get("/audit/", dates(date_from=today, date_to=today)).content
    assert b"pat@example.org" in html
    tomorrow = today + timedelta(days=1)
    html = client.get("/audit/", dates(date_from=tomorrow)).content
    assert b"pat@example.org" not in html
    assert last_event().criteria == {"date_from": str(tomorrow)}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"date_from_day": "30", "date_from_month": "2", "date_from_year": "2026"},
            "The start date must be a real date",
        ),
        ({"date_to_day": "1", "date_to_year": "2026"}, "The end date must include a month"),
        (
            {
                **{"date_from_day": "2", "date_from_month": "5", "date_from_year": "2026"},
                **{"date_to_day": "1", "date_to_month": "5", "date_to_year": "2026"},
            },
            "must be the same as or after",
        ),
        ({"child": "robert'); drop table"}, "Enter a public ID in the form"),
        ({"action": "teleport"}, "Select a valid choice"),
        ({"area": "E99999999"}, "Select a valid choice"),
    ],
)
def test_bad_filters_get_an_error_summary_and_are_still_recorded(client, auditor, params, message):
    start = head_sequence()
    response = client.get("/audit/", params)
    assert response.status_code == 200
    html = response.content.decode()
    assert "govuk-error-summary" in html and message in html
    event = events_after(start).get()
    assert event.action == "audit_search" and event.outcome == "invalid"


def test_pages_of_fifty_by_sequence(client, auditor):
    pat = make_user(email="pat@example.org")
    for _ in range(120):
        record(request=as_user(pat), action="search")
    first = client.get("/audit/", {"username": "pat@example.org"})
    assert first.content.decode().count('<tr class="govuk-table__row">') == 51  # + header
    older = first.context["page"].older_than
    second = client.get("/audit/", {"username": "pat@example.org", "before": older})
    sequences = [e.sequence for e in second.context["page"].events]
    assert len(sequences) == 50 and max(sequences) < older
    assert second.context["page"].newer_than == max(sequences)
    back = client.get("/audit/", {"username": "pat@example.org", "after": max(sequences)})
    assert [e.sequence for e in back.context["page"].events] == [
        e.sequence for e in first.context["page"].events
    ]


def test_nonsense_paging_parameters_are_ignored(client, auditor):
    response = client.get("/audit/", {"before": "99999999999999999999999", "after": "-3"})
    assert response.status_code == 200


def test_other_roles_cannot_open_it(client):
    for role in (Role.PRACTITIONER, Role.DATA_MANAGER, Role.LA_ADMIN):
        client.force_login(make_user(role=role))
        assert client.get("/audit/").status_code == 403


def test_django_admin_shows_audit_data_read_only(client):
    operator = make_user(superuser=True)
    client.force_login(operator)
    event = record(request=as_user(operator), action="search")
    assert client.get("/django-admin/audit/auditevent/").status_code == 200
    assert client.get(f"/django-admin/audit/auditevent/{event.pk}/change/").status_code == 200
    assert client.get("/django-admin/audit/auditevent/add/").status_code == 403
    assert client.get(f"/django-admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    response = client.post(
        f"/django-admin/audit/auditevent/{event.pk}/change/", {"reason_text": "edited"}
    )
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.reason_text == ""
    assert client.get("/django-admin/audit/changerecord/add/").status_code == 403


def test_the_pages_keep_the_filters_and_follow_on(client, auditor):
    for _ in range(55):
        record(request=None, action="sign_out")
    first = client.get("/audit/", {"action": "sign_out"}).content.decode()
    assert "Older events" in first and "Newer events" not in first
    href = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert href.startswith("?") and "action=sign_out" in href and "before=" in href
    second = client.get("/audit/" + href).content.decode()
    assert "Newer events" in second
    assert second.count('<tr class="govuk-table__row">') == 1 + 5  # header and the rest


def test_a_reason_without_a_code_shows_as_its_text(client, auditor):
    record(
        request=as_user(make_user(email="pat@example.org")),
        action="record_change",
        children=["AAA-BBB-CC1"],
        reason_text="Risk from a parent",
    )
    html = client.get("/audit/", {"username": "pat@example.org"}).content.decode()
    assert ">Risk from a parent<" in html and "\u2013: Risk" not in html


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the query plan is PostgreSQL's")
def test_the_list_filtered_by_user_reads_that_users_events_from_their_index():
    from audit.oversight.selectors import EventFilter, events_matching

    users = [make_user(role=Role.PRACTITIONER) for _ in range(40)]
    for user in users:
        for _ in range(10):
            record(request=as_user(user), action="search")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")
        # At 400 events a sort of them all costs nothing, so the planner would sort: ask
        # for the plan it makes when the trail is too large to sort (sorting and reading a
        # whole month are kept for when nothing else can give the rows in order).
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
    wanted = users[7].username.upper()  # the filter is case-insensitive
    page = events_matching(criteria=EventFilter(username=wanted))[:50]
    plan = page.explain()
    # The user's events from the index on (upper-cased username, time, number), newest
    # first: not the whole trail walked backwards, filtering. (The index of the partitioned
    # table is one index per month's partition: those are what the plan names.) The months
    # are read one after another, newest first, so the page stops at the month that fills
    # it: an Append, not a Merge Append that descends every month's index before the first
    # row (by number, which is not the partition key, it was the latter).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'audit_username_time'::regclass"
        )
        per_month = {row[0] for row in cursor.fetchall()}
    this_month = next(name for name in per_month if timezone.now().strftime("_%Y_%m_") in name)
    assert this_month in plan, plan
    assert "Merge Append" not in plan and "Sort" not in plan, plan
    assert len(page) == 10
    assert {event.actor_id for event in page} == {users[7].pk}
