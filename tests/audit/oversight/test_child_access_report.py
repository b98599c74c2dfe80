"""The child access report: every event touching a child, from the trail alone, on screen,
printable and as CSV; every look at it recorded."""

import csv
import io
from datetime import UTC, date, datetime
from unittest import mock

import pytest
from django.test import Client, RequestFactory

import audit.services
from accounts.models import Role
from audit.oversight.reports import child_access_events, child_access_page
from audit.services import record
from children.duplicates import children_merge
from children.identifiers import new_public_id
from children.services import children_purge_expired, involvement_close
from tests.audit.helpers import events, events_after, head_sequence, last_event
from tests.factories import make_area, make_child, make_user

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


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def report_url(public_id: str) -> str:
    return f"/audit/children/{public_id}/"


def rows_of(response) -> list[str]:
    """The body rows of the report's events table, as text."""
    html = response.content.decode()
    body = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return body.split('<tr class="govuk-table__row">')[1:]


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


# --- Completeness --------------------------------------------------------------------


def test_every_event_touching_the_child_is_listed_and_nothing_about_others(client, auditor):
    child, other = new_public_id(), new_public_id()
    pat = make_user(email="pat@example.org")
    record(request=as_user(pat), action="search", children=[child, other], result_count=2)
    record(request=as_user(pat), action="search", children=[other], result_count=1)
    record(
        request=as_user(pat),
        action="record_view",
        children=[child],
        reason_code="child_protection",
        reason_text="Strategy meeting today",
    )
    record(
        request=as_user(pat),
        action="access_denied",
        children=[child],
        outcome="denied",
        detail={"why": "not_in_search_results"},
    )
    record(request=as_user(pat), action="rate_limited", children=[child], outcome="denied")
    record(
        request=as_user(make_user(role=Role.DATA_MANAGER)), action="manage_view", children=[child]
    )
    record(request=as_user(pat), action="record_view", children=[other], reason_code="assessment")

    response = client.get(report_url(child))
    assert response.status_code == 200
    rows = rows_of(response)
    assert len(rows) == 5
    # Newest first, each with its action, reason and outcome in words.
    assert "Record opened to manage" in rows[0]
    assert "Rate limited" in rows[1] and "over the hourly limit" in rows[1]
    assert "Access denied" in rows[2] and "not from the user&#x27;s latest search" in rows[2]
    assert "Child protection enquiry: Strategy meeting today" in rows[3]
    assert "Search" in rows[4] and "2 results" in rows[4]
    assert "pat@example.org" in rows[3] and "Practitioner" in rows[3]
    assert "Assessment" not in response.content.decode()  # the other child's view

    other_rows = rows_of(client.get(report_url(other)))
    assert len(other_rows) == 3  # both searches and its view; the first search is in both
    assert [event.sequence for event in child_access_events(public_id=other)] == [
        e.sequence
        for e in events().filter(child_links__child_public_id=other).order_by("-sequence")
    ]


def test_real_searches_and_views_are_in_the_report_with_no_criteria_and_no_name(client, auditor):
    area = make_area()
    child = make_child(area=area, given_names="Zebedee", family_name="Quixwell")
    practitioner = make_user(organisation=area, email="pat@example.org")
    browser = Client()
    browser.force_login(practitioner)
    found = browser.post(
        "/search/",
        {
            "family_name": "Quixwell",
            "dob_day": "2",
            "dob_month": "3",
            "dob_year": "2015",
        },
    )
    assert child.public_id in found.content.decode()
    viewed = browser.post(f"/children/{child.public_id}/", {"reason": "assessment"})
    assert viewed.status_code == 200

    html = client.get(report_url(child.public_id)).content.decode()
    assert "Record view" in html and "Assessment" in html and "Search" in html
    assert "Record held" in html
    # From the trail only: not the child's name, nor what the practitioner typed.
    assert "Zebedee" not in html and "Quixwell" not in html
    assert "2015-03-02" not in html


# --- What the register still holds ----------------------------------------------------


def test_a_purged_child_is_still_reported_and_said_to_be_no_longer_held(client, auditor):
    child = make_child(started_on=date(2020, 1, 1))
    involvement_close(involvement=child.involvements.get(), ended_on=date(2021, 1, 1))
    record(request=as_user(make_user()), action="record_view", children=[child])
    children_purge_expired(today=date(2026, 11, 25))

    response = client.get(report_url(child.public_id))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No record held: purged or never on the register" in html
    assert "Record purged" in html and "Record view" in html
    assert "Merged into" not in html


def test_a_merged_id_says_where_it_went_and_links_to_that_report(client, auditor):
    survivor = make_child(given_names="Aoife", family_name="Byrne")
    duplicate = make_child(given_names="Aoife", family_name="Byrne")
    old_id = duplicate.public_id
    record(request=as_user(make_user()), action="record_view", children=[old_id])
    children_merge(survivor=survivor, duplicate=duplicate)

    html = client.get(report_url(old_id)).content.decode()
    assert "No record held" in html
    assert f'href="/audit/children/{survivor.public_id}/"' in html
    assert "Records merged" in html and "Record view" in html
    # The survivor's own report has the merge too (it touched both).
    assert "Records merged" in client.get(report_url(survivor.public_id)).content.decode()


@pytest.mark.parametrize(
    "public_id", ["7KQ-4M2-PX8", "7kq-4m2-px9", "AAA-BBB-CCC-DDD", "AAA", "%00", "ILO-UUU-000"]
)
def test_an_invalid_public_id_is_not_found(client, auditor, public_id):
    start = head_sequence()
    assert client.get(report_url(public_id)).status_code == 404
    assert head_sequence() == start


def test_a_valid_id_with_no_events_says_so(client, auditor):
    public_id = new_public_id()
    response = client.get(report_url(public_id))
    assert response.status_code == 200
    html = response.content.decode()
    assert "There are no events about this public ID" in html
    assert "No record held" in html
    assert last_event().criteria == {"child": public_id}
    assert last_event().result_count == 0


# --- Paging ------------------------------------------------------------------------------


def test_pages_of_a_hundred_by_sequence(client, auditor):
    public_id = new_public_id()
    pat = make_user()
    for _ in range(130):
        record(request=as_user(pat), action="search", children=[public_id])
    first = client.get(report_url(public_id))
    assert len(rows_of(first)) == 100
    html = first.content.decode()
    assert "Older events" in html and "Newer events" not in html
    older = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert older.startswith("?before=")

    second = client.get(report_url(public_id) + older)
    assert len(rows_of(second)) == 30
    assert last_event().criteria == {"child": public_id, "before": older.split("=")[1]}
    html = second.content.decode()
    assert "Newer events" in html and "Older events" not in html
    newer = html.split('rel="prev"')[0].rsplit('href="', 1)[1].split('"')[0]
    back = client.get(report_url(public_id) + newer)
    assert rows_of(back) == rows_of(first)


def test_the_selector_pages_by_sequence():
    public_id = new_public_id()
    for _ in range(5):
        record(request=None, action="record_purge", children=[public_id])
    newest = child_access_events(public_id=public_id, limit=2)
    assert [e.sequence for e in newest] == sorted((e.sequence for e in newest), reverse=True)
    rest = child_access_events(public_id=public_id, before=newest[-1].sequence)
    assert len(rest) == 3 and all(e.sequence < newest[-1].sequence for e in rest)


def test_pages_lose_and_repeat_nothing_when_time_and_sequence_disagree():
    # Two requests appending at once: the one stamped first may be numbered second.
    public_id = new_public_id()
    stamped = [utc(2026, 11, 3, 10, minute) for minute in (5, 1, 3, 3, 2, 4, 0)]
    for when in stamped:
        with mock.patch.object(audit.services.timezone, "now", return_value=when):
            record(request=None, action="search", children=[public_id])
    everything = child_access_events(public_id=public_id)
    assert [e.occurred_at for e in everything] == sorted(stamped, reverse=True)

    seen, before = [], None
    while True:
        page = child_access_page(public_id=public_id, before=before, size=2)
        seen += page.events
        if page.older_than is None:
            break
        before = page.older_than
        assert child_access_events(public_id=public_id, before=before, limit=2) == (
            child_access_page(public_id=public_id, before=before, size=2).events
        )
    assert [e.sequence for e in seen] == [e.sequence for e in everything]
    # And back again, newest first on every page.
    newer = child_access_page(public_id=public_id, after=seen[-1].sequence, size=2)
    assert newer.events == seen[-3:-1]


def test_nonsense_paging_and_formats_are_ignored(client, auditor):
    public_id = new_public_id()
    for params in (
        {"before": "99999999999999999999999"},
        {"after": "-3"},
        {"before": "²"},
        {"format": "pdf"},
        {"format": ""},
    ):
        response = client.get(report_url(public_id), params)
        assert response.status_code == 200
        assert "Child access report" in response.content.decode()


# --- CSV -----------------------------------------------------------------------------------


def test_csv_lists_the_events_and_is_recorded_as_an_export(client, auditor):
    public_id = new_public_id()
    pat = make_user(email="pat@example.org")
    record(request=as_user(pat), action="search", children=[public_id], result_count=1)
    record(
        request=as_user(pat),
        action="record_view",
        children=[public_id],
        reason_code="assessment",
        reason_text="Home visit",
    )
    start = head_sequence()
    response = client.get(report_url(public_id), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="access-report-{public_id}.csv"'
    )
    assert "no-store" in response["Cache-Control"]
    header, *rows = read_csv(response)
    assert header == [
        "Event number",
        "When (UK time)",
        "Action",
        "Name",
        "Username",
        "Role",
        "Organisation",
        "Reason",
        "Reason details",
        "Outcome",
    ]
    assert [row[2] for row in rows] == ["Record view", "Search"]
    assert rows[0][4] == "pat@example.org" and rows[0][5] == "Practitioner"
    assert rows[0][7:9] == ["Assessment", "Home visit"]
    exported = events_after(start).get()  # the one event recorded
    assert exported.action == "audit_export"
    assert exported.detail == {"report": "child_access", "rows": 2}
    assert exported.children == [public_id]
    assert exported.actor_id == auditor.pk


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_cannot_run_as_formulas(client, auditor, text):
    public_id = new_public_id()
    record(
        request=as_user(make_user()),
        action="record_view",
        children=[public_id],
        reason_code="other",
        reason_text=text,
    )
    _, row = read_csv(client.get(report_url(public_id), {"format": "csv"}))
    assert row[8] == "'" + text


def test_csv_and_print_leave_out_names_when_the_setting_is_off(client, auditor, settings):
    settings.ACCESS_REPORT_NAMES_PRACTITIONERS = False
    public_id = new_public_id()
    area = make_area(name="Northshire")
    pat = make_user(email="pat@example.org", organisation=area)
    record(request=as_user(pat), action="record_view", children=[public_id])

    header, row = read_csv(client.get(report_url(public_id), {"format": "csv"}))
    assert "Name" not in header and "Username" not in header
    assert row[3:5] == ["Practitioner", "Northshire"]
    assert "pat@example.org" not in ",".join(row) and pat.last_name not in ",".join(row)

    html = client.get(report_url(public_id), {"format": "print"}).content.decode()
    assert "pat@example.org" not in html and pat.last_name not in html
    assert "Northshire" in html and "Practitioner" in html

    # On screen, for auditors, names are always shown.
    html = client.get(report_url(public_id)).content.decode()
    assert "pat@example.org" in html and pat.last_name in html


def test_csv_and_print_name_practitioners_by_default(client, auditor):
    public_id = new_public_id()
    pat = make_user(email="pat@example.org")
    record(request=as_user(pat), action="record_view", children=[public_id])
    _, row = read_csv(client.get(report_url(public_id), {"format": "csv"}))
    assert row[3:5] == [pat.get_full_name(), "pat@example.org"]
    assert (
        "pat@example.org" in client.get(report_url(public_id), {"format": "print"}).content.decode()
    )


def test_csv_stops_at_the_export_cap(client, auditor, settings):
    settings.AUDIT_EXPORT_MAX_ROWS = 3
    public_id = new_public_id()
    for _ in range(5):
        record(request=None, action="search", children=[public_id])
    _, *rows = read_csv(client.get(report_url(public_id), {"format": "csv"}))
    assert len(rows) == 3
    assert last_event().detail == {"report": "child_access", "rows": 3}


# --- Printable -----------------------------------------------------------------------------


def test_the_printable_report_is_recorded_and_says_who_produced_it(client, auditor):
    public_id = new_public_id()
    record(request=as_user(make_user()), action="record_view", children=[public_id])
    start = head_sequence()
    response = client.get(report_url(public_id), {"format": "print"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Record of access to child {public_id}" in html
    assert "auditor@example.org" in html and "Produced" in html
    assert "govuk-!-display-none-print" in html
    assert "capped" not in html
    printed = events_after(start).get()  # the one event recorded
    assert printed.action == "access_report"
    assert printed.detail == {"format": "print"}
    assert printed.children == [public_id]
    assert printed.result_count == 1


def test_the_printable_report_says_when_it_is_capped(client, auditor, settings):
    settings.AUDIT_EXPORT_MAX_ROWS = 3
    public_id = new_public_id()
    for _ in range(4):
        record(request=None, action="search", children=[public_id])
    response = client.get(report_url(public_id), {"format": "print"})
    assert len(rows_of(response)) == 3
    assert "This report is capped at 3 events" in response.content.decode()


# --- Every look recorded; only auditors --------------------------------------------------


def test_each_look_writes_exactly_one_event_linked_to_the_child(client, auditor):
    public_id = new_public_id()
    for params, action in (
        ({}, "access_report"),
        ({"format": "print"}, "access_report"),
        ({"format": "csv"}, "audit_export"),
    ):
        start = head_sequence()
        assert client.get(report_url(public_id), params).status_code == 200
        assert events_after(start).count() == 1
        event = last_event()
        assert event.action == action and event.children == [public_id]
    # The looks are themselves events about the child, in its report.
    assert len(rows_of(client.get(report_url(public_id)))) == 3


def test_other_roles_cannot_open_it(client):
    public_id = new_public_id()
    for role in (Role.PRACTITIONER, Role.DATA_MANAGER, Role.LA_ADMIN):
        client.force_login(make_user(role=role))
        for params in ({}, {"format": "csv"}, {"format": "print"}):
            assert client.get(report_url(public_id), params).status_code == 403


def test_signed_out_users_are_sent_to_sign_in(client):
    response = client.get(report_url(new_public_id()))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_only_safe_methods(client, auditor):
    assert client.post(report_url(new_public_id())).status_code == 405
