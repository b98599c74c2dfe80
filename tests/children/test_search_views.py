"""The practitioner's journey through /search/ and /children/<public_id>/, and its audit trail."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

import audit.services
from accounts.models import Role
from audit.models import Action
from children.models import Address, Child, Service
from children.services import InvolvementDetails, involvement_add
from tests.audit.helpers import events, events_about, last_event
from tests.factories import make_area, make_child, make_partner, make_user

pytestmark = pytest.mark.django_db

DOB = date(2014, 6, 21)
SEARCH = "/search/"


def record_url(child: Child) -> str:
    return f"/children/{child.public_id}/"


@pytest.fixture
def area():
    area = make_area(name="Northshire")
    area.safeguarding_contact = "Northshire front door, 0300 555 0100"
    area.save()
    return area


@pytest.fixture
def child(area):
    return make_child(
        area=area,
        given_names="Keira",
        family_name="Fitzgerald",
        date_of_birth=DOB,
        lead_professional=True,
    )


@pytest.fixture
def practitioner(client, area):
    user = make_user(role=Role.PRACTITIONER, organisation=area)
    client.force_login(user)
    return user


def search(client, **criteria):
    data = {"dob_day": "", "dob_month": "", "dob_year": ""}
    dob = criteria.pop("date_of_birth", None)
    if dob:
        data.update(dob_day=str(dob.day), dob_month=str(dob.month), dob_year=str(dob.year))
    data.update(criteria)
    return client.post(SEARCH, data)


def results_of(response) -> str:
    """The results part of the search page (the form above it shows what was typed)."""
    html = response.content.decode()
    return html[html.index('id="results"') :]


def open_record(client, child, reason="assessment", details=""):
    return client.post(record_url(child), {"reason": reason, "details": details})


# --- Searching -------------------------------------------------------------------------


def test_the_search_form_asks_for_the_details(client, practitioner):
    response = client.get(SEARCH)
    html = response.content.decode()
    assert response.status_code == 200
    for label in ("NHS number", "Family name", "Given name", "Date of birth", "Postcode"):
        assert label in html
    assert 'method="post"' in html


def test_too_few_details_are_refused_with_an_error_summary_and_no_search(
    client, practitioner, child
):
    before = events().count()
    response = search(client, family_name="Fitzgerald")
    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in html
    assert "Enter the NHS number, or the family name and date of birth" in html
    assert "Keira" not in html
    assert events().count() == before


def test_a_misspelt_surname_finds_the_child_and_shows_minimal_details(client, practitioner, child):
    response = search(client, family_name="Fitzgerrald", given_name="Keira", date_of_birth=DOB)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Keira Fitzgerald" in html
    assert "21 June 2014" in html
    assert "Northshire" in html  # the area of the current address
    assert "SW1A 1AA" not in html and "Test Street" not in html  # never the address
    assert "020 7946 0001" not in html  # nothing of the involvements before a reason
    assert record_url(child) in html
    assert response["Cache-Control"].startswith("no-store")


def test_each_search_is_one_audit_event_with_criteria_and_results(client, practitioner, child):
    before = events().count()
    search(client, family_name="Fitzgerrald", given_name="Keira", date_of_birth=DOB)
    assert events().count() == before + 1
    event = last_event()
    assert event.action == Action.SEARCH
    assert event.actor_username == practitioner.username
    assert event.criteria == {
        "family_name": "Fitzgerrald",
        "given_name": "Keira",
        "date_of_birth": "2014-06-21",
    }
    assert event.children == [child.public_id]
    assert event.result_count == 1
    # Found through the link table too, as the auditor reports find it.
    assert events_about(child.public_id).filter(action=Action.SEARCH).get() == event


def test_a_search_that_finds_nobody_is_still_recorded(client, practitioner, child):
    response = search(client, family_name="Nakamura", date_of_birth=DOB)
    assert "No child matches these details" in response.content.decode()
    event = last_event()
    assert (event.action, event.result_count, event.children) == (Action.SEARCH, 0, [])


def test_more_strong_matches_than_ten_asks_to_refine_and_shows_none(client, practitioner, area):
    for _ in range(11):
        make_child(area=area, given_names="Sam", family_name="Jones", date_of_birth=DOB)
    response = search(client, family_name="Jones", given_name="Sam", date_of_birth=DOB)
    html = results_of(response)
    assert "Refine your search" in html
    assert "Sam Jones" not in html
    event = last_event()
    assert (event.outcome, event.result_count) == ("too_many", 0)


def test_ten_matches_are_all_shown(client, practitioner, area):
    for _ in range(10):
        make_child(area=area, given_names="Sam", family_name="Jones", date_of_birth=DOB)
    html = results_of(search(client, family_name="Jones", given_name="Sam", date_of_birth=DOB))
    assert html.count("Sam Jones") == 10
    assert "Refine your search" not in html


def test_search_criteria_never_travel_in_the_url(client, practitioner, child):
    assert client.get(SEARCH, {"family_name": "Fitzgerald"}).status_code == 200
    assert events().filter(action=Action.SEARCH).count() == 0


# --- Shielded records ------------------------------------------------------------------


@pytest.fixture
def shielded(area, child):
    Child.objects.filter(pk=child.pk).update(
        shielded=True, shielded_by=area, shielding_reason="Risk of harm from a family member"
    )
    child.refresh_from_db()
    return child


def test_a_shielded_child_appears_only_as_restricted_to_practitioners(
    client, practitioner, shielded
):
    html = results_of(
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    )
    assert "Restricted record" in html
    assert "Northshire front door, 0300 555 0100" in html
    assert "Keira" not in html
    assert record_url(shielded) not in html


def test_a_practitioner_cannot_open_a_shielded_record_and_the_attempt_is_recorded(
    client, practitioner, shielded
):
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    for response in (client.get(record_url(shielded)), open_record(client, shielded)):
        assert response.status_code == 403
        assert "Keira" not in response.content.decode()
    denied = events_about(shielded.public_id).filter(action=Action.ACCESS_DENIED)
    assert denied.count() == 2


def test_the_shielding_authoritys_data_manager_can_open_it_without_the_address(
    client, area, shielded
):
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))
    html = search(
        client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB
    ).content.decode()
    assert "Keira Fitzgerald" in html
    response = open_record(client, shielded)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Keira" in html and "020 7946 0001" in html
    assert "Test Street" not in html and "SW1A 1AA" not in html
    assert "the address is restricted" in html


def test_another_areas_data_manager_sees_only_restricted(client, shielded):
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=make_area()))
    html = results_of(
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    )
    assert "Restricted record" in html and "Keira" not in html


# --- The reason gate and the record ----------------------------------------------------


def test_choosing_a_result_asks_why_and_shows_nothing_of_the_child_yet(client, practitioner, child):
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    before = events().count()
    response = client.get(record_url(child))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Why do you need to see this child" in html
    for reason in (
        "Child protection enquiry",
        "Assessment",
        "Referral",
        "Continuing work with the child",
        "Other reason",
    ):
        assert reason in html
    # Whose record it is, as the search result showed it (issue 15), and nothing of the
    # record itself: no one working with the child, no phone.
    assert "Keira Fitzgerald, born 21 June 2014" in html
    assert "020 7946 0001" not in html and "Working with the child now" not in html
    assert events().count() == before


def test_no_reason_no_record_and_the_question_asked_again_is_recorded(client, practitioner, child):
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    response = client.post(record_url(child), {})
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert "Select why you need to see this child" in html
    assert "Keira Fitzgerald, born 21 June 2014" in html  # whose record, as asked before
    assert "Working with the child now" not in html
    # Recorded once, and not as a refusal: the user has not answered yet (issue 15, item 14).
    event = last_event()
    assert (event.action, event.outcome, event.children) == (
        Action.REASON_MISSING,
        "asked_again",
        [child.public_id],
    )
    assert not events_about(child.public_id).filter(action=Action.ACCESS_DENIED).exists()
    assert events_about(child.public_id).filter(action=Action.REASON_MISSING).count() == 1


def test_other_needs_the_reason_written(client, practitioner, child):
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    response = open_record(client, child, reason="other", details="   ")
    assert "Give the reason you need to see this child" in response.content.decode()
    assert not events().filter(action=Action.RECORD_VIEW).exists()
    response = open_record(client, child, reason="other", details="School transfer check")
    assert response.status_code == 200
    event = last_event()
    assert (event.action, event.reason_code, event.reason_text) == (
        Action.RECORD_VIEW,
        "other",
        "School transfer check",
    )


def test_with_a_reason_the_record_shows_who_is_working_with_the_child(client, practitioner, child):
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    response = open_record(client, child, reason="child_protection")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store")
    assert "Keira Fitzgerald" in html
    assert "Pat Practitioner" in html and "020 7946 0001" in html
    assert "Lead professional" in html
    assert "1 Test Street" in html  # not shielded: the address
    event = last_event()
    assert event.action == Action.RECORD_VIEW
    assert event.children == [child.public_id]
    assert event.reason_code == "child_protection"
    assert events().filter(action=Action.RECORD_VIEW).count() == 1


def test_the_lead_professional_comes_first(client, practitioner, child, area):
    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="school_nursing"),
            organisation=make_partner(area=area, name="Northshire NHS Trust"),
            started_on=date(2025, 1, 1),
            practitioner_name="Nell Nurse",
        ),
    )
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    html = open_record(client, child).content.decode()
    assert html.index("Pat Practitioner") < html.index("Nell Nurse")


def test_a_record_cannot_be_opened_except_from_your_own_latest_results(
    client, practitioner, child, area
):
    other = make_child(area=area, given_names="Noor", family_name="Haddad", date_of_birth=DOB)
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    for response in (client.get(record_url(other)), open_record(client, other)):
        assert response.status_code == 403
        html = response.content.decode()
        assert "Noor" not in html and "Haddad" not in html
    assert events_about(other.public_id).filter(action=Action.ACCESS_DENIED).count() == 2
    # Another user's results do not open it either.
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    assert open_record(client, child).status_code == 403


def test_a_malformed_public_id_is_not_found(client, practitioner):
    assert client.get("/children/not-an-id/").status_code == 404


def _sexual_health_clinic_for(child, area):
    """A partner clinic giving the child a sensitive service (sexual health)."""
    clinic = make_partner(area=area, name="Northshire Sexual Health Clinic")
    clinic.safeguarding_contact = "Clinic safeguarding lead, 0300 555 0199"
    clinic.save()
    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="sexual_health"),
            organisation=clinic,
            started_on=date(2025, 2, 1),
            practitioner_name="Sana Clinician",
            practitioner_phone="020 7946 0999",
        ),
    )
    return clinic


def test_sensitive_services_are_masked_unless_the_viewer_provides_them(client, area, child):
    clinic = _sexual_health_clinic_for(child, area)
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    html = open_record(client, child).content.decode()
    assert "A sensitive service is involved" in html
    assert "Clinic safeguarding lead, 0300 555 0199" in html
    assert "Sana Clinician" not in html and "020 7946 0999" not in html
    assert "Sexual health" not in html

    client.force_login(make_user(role=Role.PRACTITIONER, organisation=clinic))
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    html = open_record(client, child).content.decode()
    assert "Sana Clinician" in html and "020 7946 0999" in html


def test_a_sensitive_service_shows_in_full_to_another_provider_of_it_only(client, area, child):
    """Whoever provides a sensitive service (to any child) sees it on every record; an
    organisation that provides another sensitive service, or none, sees it masked."""
    _sexual_health_clinic_for(child, area)
    other_clinic = make_partner(area=area, name="Southshire Sexual Health Clinic")
    other_service = Service.objects.filter(sensitive=True).exclude(code="sexual_health").first()
    elsewhere = make_partner(area=area, name="Northshire Other Sensitive Service")
    someone_else = make_child(
        area=area, given_names="Noor", family_name="Haddad", date_of_birth=DOB
    )
    for organisation, service in ((other_clinic, "sexual_health"), (elsewhere, other_service.code)):
        involvement_add(
            child=someone_else,
            details=InvolvementDetails(
                service=Service.objects.get(code=service),
                organisation=organisation,
                started_on=date(2025, 3, 1),
            ),
        )
    for organisation, shown in ((other_clinic, True), (elsewhere, False), (area, False)):
        client.force_login(make_user(role=Role.PRACTITIONER, organisation=organisation))
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
        html = open_record(client, child).content.decode()
        assert ("Sana Clinician" in html) is shown, organisation.name
        assert ("A sensitive service is involved" in html) is not shown, organisation.name


def test_the_area_history_shows_what_went_on_before_a_move(client, child, area):
    new_area = make_area(name="Southshire")
    Address.objects.filter(child=child).update(moved_out_on=date(2025, 5, 31))
    Address.objects.create(
        child=child,
        line_1="2 New Road",
        postcode="SE1 7PB",
        local_authority=new_area,
        moved_in_on=date(2025, 6, 1),
    )
    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="early_help"),
            organisation=new_area,
            started_on=date(2025, 6, 10),
            practitioner_name="Sol Southshire",
        ),
    )
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=new_area))
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    html = open_record(client, child).content.decode()
    history = html[html.index("Areas the child has lived in") :]
    assert history.index("Southshire") < history.index("Northshire")
    northshire = history[history.index("Northshire") :]
    assert "Children&#x27;s social care, Northshire" in northshire
    assert "1 June 2025" in history and "31 May 2025" in history


# --- Fail closed -----------------------------------------------------------------------


def failing_append(*args, **kwargs):
    raise RuntimeError("audit database unavailable")


def test_no_audit_row_no_search_results(client, practitioner, child, monkeypatch):
    monkeypatch.setattr(audit.services, "_append", failing_append)
    response = search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    html = response.content.decode()
    assert response.status_code == 503
    assert "Keira" not in html and child.public_id not in html
    monkeypatch.undo()
    # Nothing was committed: not the event, not the results that would open the record.
    assert not events().filter(action=Action.SEARCH).exists()
    assert client.get(record_url(child)).status_code == 403


def test_no_audit_row_no_record(client, practitioner, child, monkeypatch):
    search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    monkeypatch.setattr(audit.services, "_append", failing_append)
    response = open_record(client, child)
    html = response.content.decode()
    assert response.status_code == 503
    assert "Keira" not in html and "020 7946 0001" not in html
    monkeypatch.undo()
    assert not events().filter(action=Action.RECORD_VIEW).exists()


# --- Anti-harvesting -------------------------------------------------------------------


def test_lookups_beyond_the_hourly_limit_are_refused_and_recorded(
    client, practitioner, child, area, settings
):
    settings.LOOKUPS_PER_HOUR = 3
    for _ in range(2):
        assert (
            search(
                client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB
            ).status_code
            == 200
        )
    assert open_record(client, child).status_code == 200  # views count too: 3 of 3
    response = search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB)
    html = response.content.decode()
    assert response.status_code == 429
    assert "You have made too many searches" in html and "Keira" not in html
    assert open_record(client, child).status_code == 429
    limited = events().filter(action=Action.RATE_LIMITED)
    assert limited.count() == 2
    assert limited.filter(actor_id=practitioner.pk).count() == 2
    # The limit is per user: a colleague can still search.
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    assert (
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB).status_code
        == 200
    )


def test_the_count_is_the_audit_trail_so_every_worker_shares_it(
    client, practitioner, child, settings
):
    settings.LOOKUPS_PER_HOUR = 2
    # Lookups served by other workers are audit events like any other.
    for _ in range(2):
        audit.services.record(request=None, action=Action.SEARCH, actor=practitioner)
    assert (
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB).status_code
        == 429
    )


def test_the_window_slides_lookups_over_an_hour_ago_no_longer_count(
    client, practitioner, child, settings, monkeypatch
):
    settings.LOOKUPS_PER_HOUR = 2
    an_hour_ago = timezone.now() - timedelta(minutes=61)
    monkeypatch.setattr(audit.services.timezone, "now", lambda: an_hour_ago)
    for _ in range(2):
        audit.services.record(request=None, action=Action.SEARCH, actor=practitioner)
    monkeypatch.undo()
    assert (
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB).status_code
        == 200
    )
    assert (
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB).status_code
        == 200
    )
    assert (
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB).status_code
        == 429
    )


def test_refusals_do_not_count_as_lookups(client, practitioner, child, settings):
    settings.LOOKUPS_PER_HOUR = 1
    assert (
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB).status_code
        == 200
    )
    for _ in range(3):
        assert (
            search(
                client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB
            ).status_code
            == 429
        )
    assert events().filter(action=Action.RATE_LIMITED).count() == 3
    settings.LOOKUPS_PER_HOUR = 2  # as if the oldest lookup had left the window
    assert (
        search(client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB).status_code
        == 200
    )


def test_a_merged_away_public_id_leads_to_the_record_kept(client, practitioner, area, child):
    from children.duplicates import children_merge

    twin_record = make_child(
        area=area, given_names="Keira", family_name="Fitzgerald", date_of_birth=DOB
    )
    search(
        client, family_name="Fitzgerald", given_name="Keira", date_of_birth=DOB
    )  # shows both records
    children_merge(survivor=child, duplicate=twin_record)
    response = client.get(record_url(twin_record))
    assert response.status_code == 302
    assert response["Location"] == record_url(child)
    # The record kept opens from the same search, with a reason as ever.
    assert client.get(record_url(child)).status_code == 200
    opened = open_record(client, child)
    assert opened.status_code == 200 and "Keira Fitzgerald" in opened.content.decode()


def test_a_merged_away_id_from_a_search_opens_the_record_kept(client, practitioner, area, child):
    from children.duplicates import children_merge

    duplicate = make_child(
        area=area, given_names="Keira", family_name="Fitzgerald", date_of_birth=DOB
    )
    children_merge(survivor=child, duplicate=duplicate)
    # A search from before the merge listed only the duplicate's id.
    audit.services.record(
        request=None, action=Action.SEARCH, actor=practitioner, children=[duplicate.public_id]
    )
    assert client.get(record_url(duplicate))["Location"] == record_url(child)
    assert client.get(record_url(child)).status_code == 200


def test_auditors_read_a_missing_reason_as_what_it_is():
    from audit.oversight.reports import outcome_text

    text = outcome_text(
        action=Action.REASON_MISSING, outcome="asked_again", result_count=None, detail={}
    )
    assert text == "Asked again: no reason given yet"
    assert "Refused" not in text
