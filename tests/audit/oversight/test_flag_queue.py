"""The auditor's flag queue, outcomes (appended, never edited) and CSV exports of the trail."""

import csv
import io

import pytest

from accounts.models import Role
from audit.models import Action, Flag, FlagOutcome, Rule
from audit.services import record
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def always_working_hours(settings):
    settings.FLAG_WORKING_HOURS = (0, 24)
    settings.FLAG_WORKING_DAYS = (0, 1, 2, 3, 4, 5, 6)
    settings.FLAG_BANK_HOLIDAYS = False


@pytest.fixture
def auditor(client):
    user = make_user(role=Role.AUDITOR)
    client.force_login(user)
    return user


def out_of_area_view(*, viewer_area, child_area, given_names="Amelia"):
    viewer = make_user(role=Role.PRACTITIONER, organisation=viewer_area)
    child = make_child(area=child_area, given_names=given_names)
    record(
        request=None,
        actor=viewer,
        action=Action.RECORD_VIEW,
        children=[child],
        reason_code="other",
        reason_text="Curious",
    )
    return Flag.objects.get(child_public_id=child.public_id)


def shielded_attempt(*, viewer_area):
    viewer = make_user(role=Role.PRACTITIONER, organisation=viewer_area)
    child = make_child(area=viewer_area, given_names="Zed")
    record(
        request=None,
        actor=viewer,
        action=Action.ACCESS_DENIED,
        children=[child],
        outcome="denied",
        detail={"why": "shielded"},
    )
    return Flag.objects.get(child_public_id=child.public_id)


# --- The queue ------------------------------------------------------------------------------


def test_the_queue_lists_open_flags_newest_first(client, auditor):
    north, south = make_area(name="North"), make_area(name="South")
    older = out_of_area_view(viewer_area=north, child_area=south)
    newer = shielded_attempt(viewer_area=south)
    response = client.get("/audit/flags/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(newer.child_public_id) < html.index(older.child_public_id)
    assert "Out of area" in html and "Attempt on a shielded record" in html


def test_the_queue_filters_by_rule_and_by_area(client, auditor):
    north, south = make_area(name="North"), make_area(name="South")
    outside = out_of_area_view(viewer_area=north, child_area=south)
    attempt = shielded_attempt(viewer_area=south)
    html = client.get("/audit/flags/", {"rule": Rule.RESTRICTED}).content.decode()
    assert attempt.child_public_id in html and outside.child_public_id not in html
    html = client.get("/audit/flags/", {"area": north.ons_code}).content.decode()
    assert outside.child_public_id in html and attempt.child_public_id not in html


def test_an_unknown_filter_value_is_an_error_not_a_crash(client, auditor):
    response = client.get("/audit/flags/", {"rule": "nonsense", "area": "E99"})
    assert response.status_code == 200
    assert "govuk-error-summary" in response.content.decode()
    assert last_event().outcome == "invalid"


def test_reading_the_queue_is_an_audit_event(client, auditor):
    flag = out_of_area_view(viewer_area=make_area(), child_area=make_area())
    client.get("/audit/flags/", {"rule": Rule.OUT_OF_AREA})
    event = last_event()
    assert (event.action, event.actor_id) == (Action.FLAG_REVIEW, auditor.pk)
    assert event.criteria == {"rule": "out_of_area", "status": "open"}
    assert event.children == [flag.child_public_id]
    assert event.result_count == 1


def test_the_queue_pages_by_flag(client, auditor, monkeypatch):
    monkeypatch.setattr("audit.oversight.views_flags.PAGE_SIZE", 2)
    area = make_area()
    flags = [shielded_attempt(viewer_area=area) for _ in range(3)]
    first = client.get("/audit/flags/").content.decode()
    assert flags[0].child_public_id not in first
    older = client.get("/audit/flags/", {"before": str(flags[1].pk)}).content.decode()
    assert flags[0].child_public_id in older


# --- Outcomes ---------------------------------------------------------------------------------


def test_an_outcome_closes_the_flag_and_is_its_own_audit_event(client, auditor):
    flag = out_of_area_view(viewer_area=make_area(), child_area=make_area())
    page = client.get(f"/audit/flags/{flag.pk}/")
    assert page.status_code == 200
    assert "Record an outcome" in page.content.decode()
    response = client.post(
        f"/audit/flags/{flag.pk}/", {"outcome": "advice_given", "note": "Reminded of the rules"}
    )
    assert response.status_code == 302
    outcome = FlagOutcome.objects.get(flag=flag)
    assert (outcome.outcome, outcome.note, outcome.auditor_id) == (
        "advice_given",
        "Reminded of the rules",
        auditor.pk,
    )
    event = events().get(sequence=outcome.event_sequence)
    assert event.action == Action.FLAG_OUTCOME
    assert event.outcome == "advice_given"
    assert event.reason_text == "Reminded of the rules"
    assert event.detail["flag"] == flag.pk
    assert event.children == [flag.child_public_id]
    # Gone from the open queue; shown with its outcome among the closed ones.
    assert flag.child_public_id not in client.get("/audit/flags/").content.decode()
    closed = client.get("/audit/flags/", {"status": "closed"}).content.decode()
    assert flag.child_public_id in closed and "Advice given" in closed


def test_an_outcome_needs_a_choice_and_a_note(client, auditor):
    flag = out_of_area_view(viewer_area=make_area(), child_area=make_area())
    response = client.post(f"/audit/flags/{flag.pk}/", {"outcome": "", "note": "  "})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Select the outcome" in html and "Enter a note about the outcome" in html
    assert "govuk-error-summary" in html
    assert not FlagOutcome.objects.exists()
    assert last_event().action == Action.FLAG_REVIEW
    assert last_event().outcome == "invalid"


def test_a_second_outcome_is_refused_and_the_first_kept(client, auditor):
    flag = out_of_area_view(viewer_area=make_area(), child_area=make_area())
    client.post(f"/audit/flags/{flag.pk}/", {"outcome": "no_concern", "note": "Fine"})
    again = client.post(f"/audit/flags/{flag.pk}/", {"outcome": "referred", "note": "Changed"})
    assert again.status_code == 409
    assert "recorded an outcome on this flag first" in again.content.decode()
    assert list(FlagOutcome.objects.values_list("outcome", "note")) == [("no_concern", "Fine")]
    assert events().filter(action=Action.FLAG_OUTCOME).count() == 1


def test_a_decided_flag_shows_its_outcome_and_no_form(client, auditor):
    flag = out_of_area_view(viewer_area=make_area(), child_area=make_area())
    client.post(f"/audit/flags/{flag.pk}/", {"outcome": "referred", "note": "To the DPO"})
    html = client.get(f"/audit/flags/{flag.pk}/").content.decode()
    assert "Referred for investigation" in html and "To the DPO" in html
    assert "Record outcome" not in html


def test_a_decided_flag_is_linked_from_the_queue_and_the_success_message(client, auditor):
    flag = out_of_area_view(viewer_area=make_area(), child_area=make_area())
    done = client.post(
        f"/audit/flags/{flag.pk}/", {"outcome": "referred", "note": "To the DPO"}, follow=True
    )
    html = done.content.decode()
    assert f'<a class="govuk-notification-banner__link" href="/audit/flags/{flag.pk}/">' in html
    queue = client.get("/audit/flags/", {"status": "closed"}).content.decode()
    assert "Referred for investigation" in queue
    assert f'href="/audit/flags/{flag.pk}/">See the outcome' in queue


def test_a_nonsense_decided_parameter_says_nothing(client, auditor):
    for value in ("abc", "²", "1" * 40, "<b>"):
        response = client.get("/audit/flags/", {"decided": value})
        assert response.status_code == 200
        assert "has been recorded" not in response.content.decode()


def test_an_unknown_flag_is_not_found(client, auditor):
    assert client.get("/audit/flags/424242/").status_code == 404


def test_only_auditors_record_outcomes(client):
    flag = out_of_area_view(viewer_area=make_area(), child_area=make_area())
    client.force_login(make_user(role=Role.LA_ADMIN))
    response = client.post(f"/audit/flags/{flag.pk}/", {"outcome": "no_concern", "note": "x"})
    assert response.status_code == 403
    assert not FlagOutcome.objects.exists()


# --- CSV export of the event list ---------------------------------------------------------


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_export_has_the_screens_columns_for_the_filtered_events(client, auditor):
    practitioner = make_user(role=Role.PRACTITIONER)
    record(request=None, actor=practitioner, action=Action.SIGN_IN)
    record(request=None, actor=practitioner, action=Action.SEARCH, result_count=0)
    response = client.get("/audit/export/", {"username": practitioner.username})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-events-')
    rows = rows_of(response)
    assert rows[0][:4] == ["No.", "When", "Name", "Username"]
    assert [row[6] for row in rows[1:]] == ["Search", "Sign in"]  # newest first
    assert {row[3] for row in rows[1:]} == {practitioner.username}


def test_an_export_is_audited_with_its_filters_and_row_count(client, auditor):
    practitioner = make_user(role=Role.PRACTITIONER)
    record(request=None, actor=practitioner, action=Action.SIGN_IN)
    client.get("/audit/export/", {"username": practitioner.username})
    event = last_event()
    assert event.action == Action.AUDIT_EXPORT
    assert event.criteria == {"username": practitioner.username}
    assert event.result_count == 1
    assert event.detail == {"report": "events", "capped": False}


def test_an_export_stops_at_the_cap_and_says_so(client, auditor, settings):
    settings.AUDIT_EXPORT_MAX_ROWS = 3
    practitioner = make_user(role=Role.PRACTITIONER)
    for _ in range(5):
        record(request=None, actor=practitioner, action=Action.SIGN_IN)
    response = client.get("/audit/export/", {"username": practitioner.username})
    assert len(rows_of(response)) == 1 + 3
    assert response["X-Export-Capped"] == "3"
    assert last_event().detail == {"report": "events", "capped": True}
    assert last_event().result_count == 3


def test_an_export_cannot_carry_a_spreadsheet_formula(client, auditor):
    practitioner = make_user(role=Role.PRACTITIONER)
    record(
        request=None,
        actor=practitioner,
        action=Action.RECORD_VIEW,
        reason_code="other",
        reason_text='=HYPERLINK("http://evil.example","x")',
    )
    rows = rows_of(client.get("/audit/export/", {"username": practitioner.username}))
    assert rows[1][9] == '\'=HYPERLINK("http://evil.example","x")'


def test_an_export_with_bad_filters_goes_back_to_the_list_and_exports_nothing(client, auditor):
    before = events().count()
    response = client.get("/audit/export/", {"date_from_day": "yesterday"})
    assert response.status_code == 302
    assert response["Location"].startswith("/audit/?")
    assert events().count() == before


def test_the_event_list_links_to_an_export_of_the_same_filters(client, auditor):
    record(request=None, actor=make_user(role=Role.PRACTITIONER), action=Action.SEARCH)
    html = client.get("/audit/", {"action": "search"}).content.decode()
    assert 'href="/audit/export/?action=search"' in html
