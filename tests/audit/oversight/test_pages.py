"""The auditor's pages' reads and helpers, asked directly (issue 16, item 3): the export's
cap, paging from the address, a user's activity report, and the forms' parts the views use."""

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.test import RequestFactory
from django.utils import timezone

from audit.models import Outcome
from audit.oversight.csvexport import EXPORT_HEADER, event_export_rows
from audit.oversight.forms import OutcomeForm
from audit.oversight.forms_reports import ActivityRangeForm, default_range
from audit.oversight.pages import page_href, paging, paging_asked, sequence_param
from audit.oversight.reports import user_activity_report
from audit.oversight.selectors import EventFilter, events_for_export
from audit.services import record
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _as(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_the_export_is_capped_and_says_so():
    user = make_user()
    for n in range(3):
        record(request=_as(user), action="search", children=[f"AAA-BBB-CC{n}"])
    events, capped = events_for_export(criteria=EventFilter(username=user.username), limit=2)
    assert len(events) == 2 and capped
    assert events[0].sequence > events[1].sequence  # newest first
    events, capped = events_for_export(criteria=EventFilter(username=user.username), limit=3)
    assert len(events) == 3 and not capped


def test_an_exported_row_has_the_list_s_columns():
    user = make_user()
    event = record(request=_as(user), action="search", children=["AAA-BBB-CC1", "AAA-BBB-CC2"])
    (row,) = list(event_export_rows([event]))
    assert len(row) == len(EXPORT_HEADER)
    assert row[0] == event.sequence and row[7] == "AAA-BBB-CC1; AAA-BBB-CC2"
    assert row[-1] == ""  # no result count recorded


def test_paging_reads_only_sequence_numbers_from_the_address():
    query = QueryDict("before=12&after=%C2%B2&child=X")
    assert paging(query) == {"before": 12, "after": None}
    assert paging_asked(query) == {"before": "12", "after": "²"}
    assert sequence_param("9" * 19) is None
    assert page_href({"child": "X"}, "after", 7) == "?child=X&after=7"
    assert page_href({"child": "X"}, "after", None) == ""


def test_a_user_s_activity_report_counts_their_lookups_in_the_range():
    user = make_user()
    record(request=_as(user), action="search", children=["AAA-BBB-CC1"])
    today = timezone.localdate()
    report = user_activity_report(
        user_id=user.pk, date_range=(today, today), before=None, after=None, size=50
    )
    assert report.date_from == report.date_to == today
    assert [event.action for event in report.page.events] == ["search"]
    assert sum(day.lookups for day in report.activity.days) == 1


def test_the_range_form_takes_only_its_date_boxes_from_the_address():
    assert not ActivityRangeForm.from_query(QueryDict("before=3")).is_bound
    form = ActivityRangeForm.from_query(
        QueryDict("date_from_day=1&date_from_month=2&date_from_year=2025&before=3")
    )
    assert form.is_bound and set(form.data) == {
        "date_from_day",
        "date_from_month",
        "date_from_year",
    }
    assert form.is_valid()
    assert form.range_criteria() == {"date_from": "2025-02-01", "date_to": "2025-03-02"}
    start, end = default_range()
    assert ActivityRangeForm.from_query(QueryDict()).range_criteria() == {
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
    }
    assert end - start == timedelta(days=29) and end == timezone.localdate()


def test_an_outcome_form_gives_the_outcome_and_its_note():
    form = OutcomeForm({"outcome": Outcome.choices[0][0], "note": "  Checked with the team "})
    assert form.is_valid()
    assert form.decision() == {
        "outcome": Outcome(Outcome.choices[0][0]),
        "note": "Checked with the team",
    }
    assert isinstance(form.decision()["outcome"], Outcome)
