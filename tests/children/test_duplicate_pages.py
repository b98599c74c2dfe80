"""Data managers' duplicate pages (children.views_duplicates): their own area only, every
page audited, nothing saved before the check-your-answers step, GOV.UK error summaries."""

import re
from datetime import date

import pytest
from django.db import transaction
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from audit.models import Action
from children.models import Child, HeldRow, Involvement, MergedChild, Service, SourceRecord
from tests.audit.helpers import events, last_event
from tests.children.test_import import CAMDEN, WESTMINSTER, ago, import_csv, make_row
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

LIST = "/manage/duplicates/"
MERGE = "/manage/duplicates/merge/"


def decide_url(held: HeldRow) -> str:
    return f"/manage/duplicates/held/{held.pk}/"


@pytest.fixture
def areas():
    return {
        CAMDEN: make_area(code=CAMDEN, name="Camden"),
        WESTMINSTER: make_area(code=WESTMINSTER, name="Westminster"),
    }


@pytest.fixture
def existing(areas) -> Child:
    return make_child(
        area=areas[CAMDEN],
        date_of_birth=date.fromisoformat(ago(years=6)),
        given_names="Aoife",
        family_name="Byrne",
    )


@pytest.fixture
def held(existing) -> HeldRow:
    import_csv([make_row(child_ref="C1", family_name="Byrn", involvement_ref="I1")])
    return HeldRow.objects.get()


@pytest.fixture
def manager(client, areas):
    user = make_user(role=Role.DATA_MANAGER, organisation=areas[CAMDEN])
    client.force_login(user)
    return user


def state() -> dict:
    return {
        "children": Child.objects.count(),
        "involvements": Involvement.objects.count(),
        "sources": SourceRecord.objects.count(),
        "pending": HeldRow.objects.filter(resolved_at__isnull=True).count(),
        "merged": MergedChild.objects.count(),
    }


# --- Who may see the pages --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.LA_ADMIN, Role.AUDITOR])
def test_only_data_managers_may_use_the_pages(client, areas, held, role):
    client.force_login(make_user(role=role, organisation=areas[CAMDEN]))
    assert client.get(LIST).status_code == 403
    assert client.get(decide_url(held)).status_code == 403
    assert (
        client.post(decide_url(held), {"decision": "different", "confirmed": "yes"}).status_code
        == 403
    )
    assert client.get(MERGE).status_code == 403
    assert HeldRow.objects.get().is_pending


def test_signed_out_users_are_sent_to_sign_in(client, held):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_list_shows_the_areas_held_rows_only_and_is_audited(client, areas, held, manager):
    other = HeldRow.objects.create(
        source="wm", child_ref="W9", local_authority=areas[WESTMINSTER], rows=[]
    )
    response = client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Byrn" in page
    assert f"/manage/duplicates/held/{held.pk}/" in page
    assert f"/manage/duplicates/held/{other.pk}/" not in page
    event = last_event()
    assert event.action == Action.MANAGE_VIEW
    assert event.result_count == 1


def test_another_areas_held_row_is_not_found_and_the_attempt_recorded(client, areas, held):
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=areas[WESTMINSTER]))
    before = state()
    response = client.get(decide_url(held))
    assert response.status_code == 404
    assert "Byrn" not in response.content.decode()
    assert last_event().action == Action.ACCESS_DENIED
    response = client.post(decide_url(held), {"decision": "different", "confirmed": "yes"})
    assert response.status_code == 404
    assert state() == before


def test_a_missing_or_decided_held_row_is_not_found(client, held, manager):
    assert client.get("/manage/duplicates/held/999999/").status_code == 404


# --- Deciding about held rows ---------------------------------------------------------------


def test_the_decision_page_shows_the_rows_beside_the_candidate(client, held, existing, manager):
    response = client.get(decide_url(held))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Byrn" in page and "Byrne" in page
    assert existing.public_id in page
    assert f"The same child as Aoife Byrne ({existing.public_id})" in page
    event = last_event()
    assert event.action == Action.MANAGE_VIEW
    assert event.children == [existing.public_id]


def test_no_answer_gets_a_govuk_error_summary_and_saves_nothing(client, held, manager):
    before = state()
    response = client.post(decide_url(held), {})
    assert response.status_code == 200
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert "Select whether this is a different child" in page
    assert state() == before


def test_a_different_child_is_saved_only_after_checking(client, held, manager):
    before = state()
    check = client.post(decide_url(held), {"decision": "different"})
    assert check.status_code == 200
    assert "Check your answer" in check.content.decode()
    assert state() == before
    done = client.post(decide_url(held), {"decision": "different", "confirmed": "yes"})
    assert done.status_code == 302
    assert done["Location"] == LIST
    after = state()
    assert after["children"] == before["children"] + 1
    assert after["pending"] == 0
    held.refresh_from_db()
    assert held.resolution == "different"
    assert held.resolved_by_id == manager.pk
    assert client.get(decide_url(held)).status_code == 404  # decided once


def test_the_same_child_gets_the_rows(client, held, existing, manager):
    before = state()
    check = client.post(decide_url(held), {"decision": existing.public_id})
    assert f"The same child as {existing.public_id}" in check.content.decode()
    assert state() == before
    client.post(decide_url(held), {"decision": existing.public_id, "confirmed": "yes"})
    assert state()["children"] == before["children"]
    assert SourceRecord.objects.get(source_ref="C1").child == existing
    assert existing.involvements.count() == 2
    assert last_event().action == Action.RECORD_MERGE


def test_a_child_who_is_not_a_candidate_cannot_be_chosen(client, areas, held, manager):
    stranger = make_child(area=areas[CAMDEN], family_name="Kowalski")
    before = state()
    response = client.post(decide_url(held), {"decision": stranger.public_id, "confirmed": "yes"})
    assert response.status_code == 200
    assert "govuk-error-summary" in response.content.decode()
    assert state() == before


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.dictionaries(
        st.sampled_from(["decision", "confirmed", "other"]),
        st.one_of(
            st.text(max_size=30),
            st.sampled_from(["different", "yes", "CANDIDATE"]),
        ),
        max_size=3,
    )
)
def test_any_answer_is_never_a_server_error_nor_a_partial_write(
    client, held, existing, manager, data
):
    data = {
        key: existing.public_id if value == "CANDIDATE" else value for key, value in data.items()
    }
    with transaction.atomic():
        before = state()
        sequence = events().count()
        response = client.post(decide_url(held), data)
        assert response.status_code in (200, 302)
        after = state()
        if response.status_code == 200:
            # Nothing but the page view's audit event.
            assert after == before
            assert events().count() == sequence + 1
        else:
            assert data.get("confirmed") == "yes"
            assert after["pending"] == before["pending"] - 1
            assert SourceRecord.objects.filter(source_ref="C1").count() == 1
            if data["decision"] == "different":
                assert after["children"] == before["children"] + 1
            else:
                assert after["children"] == before["children"]
        transaction.set_rollback(True)


# --- Merging two records of the area ---------------------------------------------------------


def two_records(areas):
    first = make_child(area=areas[CAMDEN], given_names="Amelia", family_name="Okafor")
    second = make_child(area=areas[CAMDEN], given_names="Amelia", family_name="Okafur")
    return first, second


def test_merging_asks_for_the_record_to_keep_then_checks_then_merges(client, areas, manager):
    first, second = two_records(areas)
    ids = {"first": first.public_id, "second": second.public_id.lower()}
    assert client.get(MERGE).status_code == 200
    choose = client.post(MERGE, ids)
    assert choose.status_code == 200
    assert "Which record should be kept?" in choose.content.decode()
    assert last_event().action == Action.MANAGE_VIEW
    check = client.post(MERGE, {**ids, "keep": first.public_id})
    assert "Check your answers" in check.content.decode()
    assert Child.objects.filter(pk=second.pk).exists()
    done = client.post(MERGE, {**ids, "keep": first.public_id, "confirmed": "yes"})
    assert done.status_code == 302
    assert not Child.objects.filter(pk=second.pk).exists()
    assert MergedChild.objects.get().old_public_id == second.public_id
    event = last_event()
    assert event.action == Action.RECORD_MERGE
    assert sorted(event.children) == sorted([first.public_id, second.public_id])


def test_a_record_of_another_area_cannot_be_merged(client, areas, manager):
    first = make_child(area=areas[CAMDEN])
    elsewhere = make_child(area=areas[WESTMINSTER])
    response = client.post(
        MERGE,
        {
            "first": first.public_id,
            "second": elsewhere.public_id,
            "keep": first.public_id,
            "confirmed": "yes",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert "No record in your area has this public id" in page
    assert Child.objects.filter(pk=elsewhere.pk).exists()
    event = last_event()
    assert event.action == Action.ACCESS_DENIED
    assert event.children == [elsewhere.public_id]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"first": "nonsense", "second": "7KQ-4M2-PXA"},
        {"first": "SAME", "second": "SAME"},
        {"first": "FIRST", "second": "SECOND", "keep": "7KQ-4M2-PXA", "confirmed": "yes"},
    ],
)
def test_bad_merge_answers_get_an_error_summary_and_merge_nothing(client, areas, manager, data):
    first, second = two_records(areas)
    names = {"SAME": first.public_id, "FIRST": first.public_id, "SECOND": second.public_id}
    data = {key: names.get(value, value) for key, value in data.items()}
    response = client.post(MERGE, data)
    assert response.status_code == 200
    assert "govuk-error-summary" in response.content.decode()
    assert Child.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
    assert not MergedChild.objects.exists()


def test_review_pages_write_dates_and_services_as_the_service_does_and_titles_match(
    client, manager, held
):
    html = client.get(decide_url(held)).content.decode()
    assert re.search(r"<title>Check a child waiting for review", html)
    assert '<h1 class="govuk-heading-l">Check a child waiting for review</h1>' in html
    dob = date.fromisoformat(held.rows[0]["date_of_birth"])
    assert f"{dob.day} {dob.strftime('%B')} {dob.year}" in html
    assert held.rows[0]["date_of_birth"] not in html  # never the raw text
    service = Service.objects.get(code=held.rows[0]["service"]).name
    assert escape(service) in html
