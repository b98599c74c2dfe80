"""The user activity report: a user's lookups per UK day, as figures, a chart and a table, and
everything they did in the range; every look at it recorded."""

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.test import RequestFactory
from django.utils import timezone

import audit.services
from accounts.models import Role
from audit.oversight.charts import daily_bar_chart
from audit.oversight.reports import DayCount, user_activity
from audit.services import record
from children.identifiers import new_public_id
from tests.audit.helpers import events_after, head_sequence, last_event
from tests.factories import make_area, make_user

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


@contextmanager
def recorded_at(when: datetime):
    """Events recorded inside are stamped with `when` (the trail takes the time itself)."""
    with mock.patch.object(audit.services.timezone, "now", return_value=when):
        yield


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def report_url(user) -> str:
    return f"/audit/users/{user if isinstance(user, int) else user.pk}/"


def bars(html: str) -> int:
    return html.count('<rect class="app-chart__bar"')


# --- Daily counts ----------------------------------------------------------------------


def test_every_day_of_the_range_is_counted_including_days_with_nothing():
    pat = make_user()
    with recorded_at(utc(2026, 11, 3, 10)):
        record(request=as_user(pat), action="search")
        record(request=as_user(pat), action="search")
        record(request=as_user(pat), action="record_view", children=[new_public_id()])
    with recorded_at(utc(2026, 11, 5, 15)):
        record(request=as_user(pat), action="access_denied", outcome="denied")
        record(request=as_user(pat), action="rate_limited", outcome="denied")
        record(request=as_user(pat), action="sign_in")  # not a lookup: not counted
    with recorded_at(utc(2026, 11, 4, 9)):
        record(request=as_user(make_user()), action="search")  # someone else

    activity = user_activity(user_id=pat.pk, date_from=date(2026, 11, 2), date_to=date(2026, 11, 6))
    assert activity.days == [
        DayCount(day=date(2026, 11, 2)),
        DayCount(day=date(2026, 11, 3), searches=2, record_views=1),
        DayCount(day=date(2026, 11, 4)),
        DayCount(day=date(2026, 11, 5), refused=2),
        DayCount(day=date(2026, 11, 6)),
    ]
    assert activity.days[1].lookups == 3
    assert (activity.totals.searches, activity.totals.record_views) == (2, 1)
    assert (activity.totals.lookups, activity.totals.refused) == (3, 2)


def test_days_are_uk_days_across_midnight_summer_and_winter():
    pat = make_user()
    with recorded_at(utc(2026, 7, 14, 23, 30)):  # 00:30 on 15 July in London (BST)
        record(request=as_user(pat), action="search")
    with recorded_at(utc(2026, 1, 14, 23, 30)):  # 23:30 on 14 January in London (GMT)
        record(request=as_user(pat), action="search")

    summer = user_activity(user_id=pat.pk, date_from=date(2026, 7, 14), date_to=date(2026, 7, 15))
    assert [(d.day, d.searches) for d in summer.days] == [
        (date(2026, 7, 14), 0),
        (date(2026, 7, 15), 1),
    ]
    winter = user_activity(user_id=pat.pk, date_from=date(2026, 1, 14), date_to=date(2026, 1, 15))
    assert [d.searches for d in winter.days] == [1, 0]
    # The range's edges are UK midnights too: the summer event is outside 14 July alone.
    only_14th = user_activity(
        user_id=pat.pk, date_from=date(2026, 7, 14), date_to=date(2026, 7, 14)
    )
    assert only_14th.totals.searches == 0


# --- The page ------------------------------------------------------------------------------


def test_the_page_shows_the_user_counts_chart_table_and_events(client, auditor):
    area = make_area(name="Northshire")
    pat = make_user(email="pat@example.org", organisation=area)
    child = new_public_id()
    today = timezone.localdate()
    record(request=as_user(pat), action="search", children=[child], result_count=1)
    record(request=as_user(pat), action="record_view", children=[child], reason_code="referral")

    start = head_sequence()
    response = client.get(report_url(pat))
    assert response.status_code == 200
    html = response.content.decode()
    assert pat.get_full_name() in html and "pat@example.org" in html
    assert "Northshire" in html and "Practitioner" in html and "Active" in html
    # The default range: the 30 days ending today.
    assert response.context["activity"].date_from == today - timedelta(days=29)
    assert response.context["activity"].date_to == today
    for part in ("day", "month", "year"):
        value = getattr(today, part)
        assert f'name="date_to_{part}" type="text" inputmode="numeric" value="{value}"' in html
    # The chart: an image with a text alternative, a bar a day, no inline style.
    assert 'role="img"' in html and 'aria-labelledby="lookups-chart-title"' in html
    assert "Lookups per day (searches and record views): 2 lookups in 30 days" in html
    assert bars(html) == 30
    assert "style=" not in html and "<script>" not in html
    # The table of the same numbers, and the events with links to each child's report.
    assert html.count('<th scope="row" class="govuk-table__header"><time') == 30
    assert f'href="/audit/children/{child}/"' in html
    assert "Referral" in html
    event = events_after(start).get()  # the one event recorded
    assert event.action == "activity_report" and event.outcome == "allowed"
    assert event.criteria == {
        "user": pat.pk,
        "date_from": (today - timedelta(days=29)).isoformat(),
        "date_to": today.isoformat(),
    }
    assert event.result_count == 2


def boxes(**dates: str) -> dict[str, str]:
    """The GOV.UK date input's boxes of each date given as YYYY-MM-DD (unchecked: a wrong
    date goes in as typed)."""
    params = {}
    for name, value in dates.items():
        year, month, day = value.split("-")
        params.update(
            {
                f"{name}_day": day.lstrip("0"),
                f"{name}_month": month.lstrip("0"),
                f"{name}_year": year,
            }
        )
    return params


def test_a_range_can_be_chosen_and_each_day_gets_a_bar(client, auditor):
    pat = make_user()
    with recorded_at(utc(2026, 11, 3, 10)):
        record(request=as_user(pat), action="search")
    response = client.get(report_url(pat), boxes(date_from="2026-11-01", date_to="2026-11-07"))
    html = response.content.decode()
    assert bars(html) == 7
    assert "1 lookup in 7 days" in html
    assert last_event().criteria == {
        "user": pat.pk,
        "date_from": "2026-11-01",
        "date_to": "2026-11-07",
    }
    assert "3 Nov: 1 lookup<" in html and "4 Nov: 0 lookups" in html


def test_a_deleted_user_is_reported_from_their_latest_event(client, auditor):
    area = make_area(name="Southshire")
    pat = make_user(email="gone@example.org", organisation=area)
    user_id = pat.pk
    record(request=as_user(pat), action="search")
    pat.delete()

    response = client.get(report_url(user_id))
    assert response.status_code == 200
    html = response.content.decode()
    assert "gone@example.org" in html and "Southshire" in html
    assert "Deleted" in html
    assert response.context["activity"].totals.searches == 1


def test_a_suspended_user_is_shown_as_not_active(client, auditor):
    pat = make_user(is_active=False)
    assert "Not active" in client.get(report_url(pat)).content.decode()


@pytest.mark.parametrize("user_id", [987654321, 2**63, 10**30])
def test_an_id_with_no_user_and_no_events_is_not_found(client, auditor, user_id):
    start = head_sequence()
    assert client.get(report_url(user_id)).status_code == 404
    assert head_sequence() == start


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (boxes(date_from="2026-02-30"), "The start date must be a real date"),
        ({"date_to_day": "yesterday"}, "The end date must be a real date"),
        ({"date_to_day": "1"}, "The end date must include a month and a year"),
        ({"date_to_day": "1", "date_to_month": "x", "date_to_year": "2026"}, "must be a real date"),
        (boxes(date_from="2026-05-02", date_to="2026-05-01"), "must be the same as or after"),
        (boxes(date_from="2025-01-01", date_to="2026-01-02"), "at most 366 days"),
        (boxes(date_from="1950-01-01", date_to="1950-01-02"), "Enter a start date between"),
        (boxes(date_to="9999-12-31"), "Enter an end date between"),
        (
            {"date_from_day": "\x00", **boxes(date_to="2026-13-01")},
            "The end date must be a real date",
        ),
    ],
)
def test_bad_ranges_get_an_error_summary_and_are_recorded_as_invalid(
    client, auditor, params, message
):
    pat = make_user()
    start = head_sequence()
    response = client.get(report_url(pat), params)
    assert response.status_code == 200
    html = response.content.decode()
    assert "govuk-error-summary" in html and message in html
    assert "<title>Error: " in html
    assert bars(html) == 0
    event = events_after(start).get()  # the one event recorded
    assert event.action == "activity_report" and event.outcome == "invalid"
    assert event.criteria["user"] == pat.pk


def test_a_full_366_days_is_allowed(client, auditor):
    pat = make_user()
    response = client.get(report_url(pat), boxes(date_from="2024-01-01", date_to="2024-12-31"))
    assert "govuk-error-summary" not in response.content.decode()
    assert bars(response.content.decode()) == 366


def test_only_one_date_given_takes_the_other_from_the_default(client, auditor):
    pat = make_user()
    response = client.get(report_url(pat), boxes(date_to="2026-11-30"))
    assert response.context["activity"].date_from == date(2026, 11, 1)
    response = client.get(report_url(pat), boxes(date_from="2020-03-01"))
    assert response.context["activity"].date_to == date(2020, 3, 30)


def test_events_are_paged_fifty_at_a_time(client, auditor):
    pat = make_user()
    with recorded_at(utc(2026, 11, 3, 10)):
        for _ in range(55):
            record(request=as_user(pat), action="search")
    params = boxes(date_from="2026-11-01", date_to="2026-11-30")
    first = client.get(report_url(pat), params)
    assert len(first.context["page"].events) == 50
    html = first.content.decode()
    href = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "date_from_day=1&date_from_month=11&date_from_year=2026" in href
    assert "before=" in href
    second = client.get(report_url(pat) + href)
    assert len(second.context["page"].events) == 5
    assert second.context["activity"].totals.searches == 55
    assert "before" in last_event().criteria


def test_other_roles_cannot_open_it(client):
    pat = make_user()
    for role in (Role.PRACTITIONER, Role.DATA_MANAGER, Role.LA_ADMIN):
        client.force_login(make_user(role=role))
        assert client.get(report_url(pat)).status_code == 403


# --- The chart itself ------------------------------------------------------------------------


def test_the_chart_is_an_image_with_a_bar_a_day_and_escapes_its_text():
    days = [(date(2026, 11, 1) + timedelta(days=n), n % 3) for n in range(10)]
    svg = daily_bar_chart(
        values=days, title="Lookups <by> day", unit="lookup", units="lookups", chart_id="c"
    )
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert '<title id="c-title">Lookups &lt;by&gt; day: 9 lookups in 10 days' in svg
    assert svg.count('<rect class="app-chart__bar"') == 10
    assert "style" not in svg and "<script" not in svg
    heights = [float(h) for h in re.findall(r'class="app-chart__bar"[^>]* height="([0-9.]+)"', svg)]
    assert heights[0] == 0 and heights[2] > heights[1] > 0


def test_a_chart_of_nothing_still_draws():
    svg = daily_bar_chart(
        values=[(date(2026, 11, 1), 0)],
        title="Lookups",
        unit="lookup",
        units="lookups",
        chart_id="c",
    )
    assert svg.count('<rect class="app-chart__bar"') == 1
