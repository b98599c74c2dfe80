"""Probable duplicates across the register (`manage.py find_duplicates`, children.matching.
register) and the data managers' queue of them (children.views_duplicates): found by the
search's model, twins and other NHS numbers left out, stored idempotently and audited; each
area sees the pairs it looks after, shielded records stay restricted, nothing is decided
before the check-your-answers step."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from audit.models import Action
from children.duplicates import probable_pairs_store
from children.matching.model import current_model
from children.models import Child, Involvement, Name, NameKind, ProbableDuplicate, Service
from children.services import child_shield
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_child, make_partner, make_user

pytestmark = pytest.mark.django_db

BORN = date(2015, 3, 2)
LIST = "/manage/duplicates/"


def pair_url(pair: ProbableDuplicate) -> str:
    return f"/manage/duplicates/pairs/{pair.pk}/"


def find(**options) -> str:
    out = StringIO()
    call_command("find_duplicates", stdout=out, **options)
    return out.getvalue()


def pairs() -> set[frozenset[int]]:
    return {
        frozenset((p.child_a_id, p.child_b_id))
        for p in ProbableDuplicate.objects.filter(decided_at__isnull=True)
    }


@pytest.fixture
def camden():
    return make_area(code="E09000007", name="Camden")


@pytest.fixture
def twice(camden) -> tuple[Child, Child]:
    """One child with two records: a slip in the family name, the same date and address."""
    first = make_child(area=camden, date_of_birth=BORN, given_names="Amelia", family_name="Okafor")
    second = make_child(area=camden, date_of_birth=BORN, given_names="Amelia", family_name="Okafur")
    return first, second


# --- Finding ------------------------------------------------------------------------------------


def test_records_of_one_child_are_paired_and_others_are_not(twice, camden):
    make_child(
        area=camden, date_of_birth=date(2012, 7, 9), given_names="Zofia", family_name="Nowak"
    )
    output = find()
    assert pairs() == {frozenset(c.pk for c in twice)}
    pair = ProbableDuplicate.objects.get()
    assert pair.child_a_id < pair.child_b_id
    assert pair.probability >= current_model().show_at
    assert pair.model_version == current_model().version
    assert "1 pairs: 1 new" in output
    # The output names no child.
    assert "Amelia" not in output and "Okafor" not in output and twice[0].public_id not in output


def test_with_a_replica_the_register_is_read_there_and_the_queue_written_here(twice, replica):
    primary = connections["default"]
    with CaptureQueriesContext(replica) as on_replica, CaptureQueriesContext(primary) as here:
        find()
    assert pairs() == {frozenset(c.pk for c in twice)}
    read = " ".join(query["sql"] for query in on_replica.captured_queries)
    assert "children_name" in read and "children_involvement" in read
    assert "INSERT" not in read and "probableduplicate" not in read
    assert any("INSERT" in query["sql"] for query in here.captured_queries)
    assert last_event().action == Action.DUPLICATES_FOUND


def test_a_date_with_swapped_day_and_month_and_names_swapped_still_pair(camden):
    first = make_child(area=camden, date_of_birth=BORN, given_names="Kwame", family_name="Mensah")
    second = make_child(
        area=camden, date_of_birth=date(2015, 2, 3), given_names="Mensah", family_name="Kwame"
    )
    find()
    assert pairs() == {frozenset((first.pk, second.pk))}


def test_a_middle_name_the_child_goes_by_pairs_with_the_first_given_name(camden):
    first = make_child(
        area=camden, date_of_birth=BORN, given_names="Grace Oluwaseun", family_name="Adeyemi"
    )
    second = make_child(
        area=camden, date_of_birth=BORN, given_names="Oluwaseun", family_name="Adeyemi"
    )
    find()
    assert pairs() == {frozenset((first.pk, second.pk))}


def test_twins_are_not_paired_even_when_they_share_a_middle_name(camden):
    make_child(area=camden, date_of_birth=BORN, given_names="Amelia Rose", family_name="Okafor")
    make_child(area=camden, date_of_birth=BORN, given_names="Kemi Rose", family_name="Okafor")
    find()
    assert pairs() == set()


def test_twin_looking_records_that_no_organisation_shares_are_paired_for_a_decision(camden):
    # A school's record and a GP practice's record of one child who goes by another name
    # look like twins, but twins are known to the same services: these are listed.
    school = make_partner(area=camden, name="Camden Primary")
    practice = make_partner(area=camden, name="Camden Health Centre")
    first = make_child(
        area=camden,
        organisation=school,
        date_of_birth=BORN,
        given_names="Oluwaseun",
        family_name="Adeyemi",
    )
    second = make_child(
        area=camden,
        organisation=practice,
        date_of_birth=BORN,
        given_names="Grace",
        family_name="Adeyemi",
    )
    find()
    assert pairs() == {frozenset((first.pk, second.pk))}
    # Once the school knows the second record too, the two are twins to the rule.
    Involvement.objects.create(
        child=second,
        service=Service.objects.get(code="gp"),
        organisation=school,
        started_on=date(2020, 9, 1),
    )
    ProbableDuplicate.objects.all().delete()
    find()
    assert pairs() == set()


def test_a_previous_family_name_does_not_make_twins_look_like_one_child(camden):
    # "Tobias Reed" against "Arvydas Hall" differs in both names, yet the same day and
    # address would pair them: the twins rule holds for the two children, by any names.
    first = make_child(area=camden, date_of_birth=BORN, given_names="Tobias", family_name="Hall")
    Name.objects.create(
        child=first, kind=NameKind.PREVIOUS, given_names="Tobias", family_name="Reed"
    )
    make_child(area=camden, date_of_birth=BORN, given_names="Arvydas", family_name="Hall")
    find()
    assert pairs() == set()


def test_children_with_different_nhs_numbers_are_not_paired(camden):
    make_child(area=camden, date_of_birth=BORN, nhs_number="9434765919")
    make_child(area=camden, date_of_birth=BORN, nhs_number="9434765870")
    find()
    assert pairs() == set()


def test_a_previous_name_counts(camden):
    first = make_child(area=camden, date_of_birth=BORN, given_names="Amelia", family_name="Brennan")
    Name.objects.create(
        child=first, kind=NameKind.PREVIOUS, given_names="Amelia", family_name="Okafor"
    )
    second = make_child(
        area=camden, date_of_birth=date(2015, 3, 20), given_names="Amelia", family_name="Okafor"
    )
    find()
    assert pairs() == {frozenset((first.pk, second.pk))}


# --- Storing -------------------------------------------------------------------------------------


def test_a_second_run_changes_nothing_but_when_the_pair_was_found(twice):
    find()
    before = ProbableDuplicate.objects.get()
    output = find()
    after = ProbableDuplicate.objects.get()
    assert after.pk == before.pk and after.found_at == before.found_at
    assert after.last_found_at >= before.last_found_at
    assert "0 new, 1 waiting already" in output


def test_every_run_is_audited_with_counts_only(twice):
    find()
    event = last_event()
    assert event.action == Action.DUPLICATES_FOUND
    assert event.detail["found"] == 1 and event.detail["new"] == 1
    assert event.detail["model_version"] == current_model().version
    assert event.children == []


def test_a_dry_run_stores_nothing(twice):
    output = find(dry_run=True)
    assert "Dry run: 1 pairs" in output
    assert not ProbableDuplicate.objects.exists()
    assert not events().filter(action=Action.DUPLICATES_FOUND).exists()


def test_a_pair_decided_different_is_not_asked_again_and_a_pair_no_longer_found_goes(twice):
    find()
    stored = probable_pairs_store(pairs=[], model_version="test")
    assert stored.gone == 1 and not ProbableDuplicate.objects.exists()
    find()
    pair = ProbableDuplicate.objects.get()
    pair.decision, pair.decided_at = ProbableDuplicate.Decision.DIFFERENT, pair.found_at
    pair.save()
    output = find()
    assert "1 decided before" in output
    assert ProbableDuplicate.objects.get().decision == "different"


def test_a_merge_takes_the_pair_out_of_the_queue(twice):
    from children.duplicates import children_merge

    find()
    children_merge(survivor=twice[0], duplicate=twice[1])
    assert not ProbableDuplicate.objects.exists()


# --- The queue -----------------------------------------------------------------------------------


@pytest.fixture
def manager(client, camden):
    user = make_user(role=Role.DATA_MANAGER, organisation=camden)
    client.force_login(user)
    return user


def test_the_queue_lists_the_areas_pairs_and_is_audited(client, manager, twice):
    find()
    response = client.get(LIST)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Records that may be the same child" in body
    assert twice[0].public_id in body and twice[1].public_id in body
    assert last_event().detail["pairs"] == 1
    assert set(last_event().children) >= {twice[0].public_id, twice[1].public_id}


def test_another_areas_data_manager_does_not_see_the_pair(client, twice):
    find()
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=make_area(name="Elsewhere")))
    assert twice[0].public_id not in client.get(LIST).content.decode()
    response = client.get(pair_url(ProbableDuplicate.objects.get()))
    assert response.status_code == 404
    assert last_event().action == Action.ACCESS_DENIED
    assert last_event().detail["why"] == "pair_of_another_area"


def test_different_children_is_saved_only_after_checking(client, manager, twice):
    find()
    pair = ProbableDuplicate.objects.get()
    page = client.get(pair_url(pair)).content.decode()
    assert "Compare two records" in page and "Amelia" in page
    assert "Yes, the same child: merge the records" in page
    check = client.post(pair_url(pair), {"decision": "different"})
    assert "Check your answer" in check.content.decode()
    assert ProbableDuplicate.objects.get().is_pending
    done = client.post(pair_url(pair), {"decision": "different", "confirmed": "yes"})
    assert done.status_code == 302
    pair.refresh_from_db()
    assert pair.decision == "different" and pair.decided_by_id == manager.pk
    event = last_event()
    assert event.action == Action.RECORD_CHANGE
    assert event.detail == {"change": "probable_duplicate_different", "pair": pair.pk}
    assert client.get(pair_url(pair)).status_code == 404  # decided: out of the queue


def test_the_same_child_leads_to_the_merge_pages_with_both_ids(client, manager, twice):
    find()
    pair = ProbableDuplicate.objects.get()
    response = client.post(pair_url(pair), {"decision": "same"})
    assert response.status_code == 302
    merge = client.get(response["Location"]).content.decode()
    assert f'value="{twice[0].public_id}"' in merge and f'value="{twice[1].public_id}"' in merge
    assert ProbableDuplicate.objects.get().is_pending  # nothing decided yet


def test_no_answer_gets_an_error_summary(client, manager, twice):
    find()
    body = client.post(pair_url(ProbableDuplicate.objects.get()), {}).content.decode()
    assert "govuk-error-summary" in body
    assert "Select whether these records are the same child" in body


def test_a_shielded_record_stays_restricted_and_cannot_be_decided_on(client, camden):
    shielding = make_area(name="Shieldshire")
    make_child(area=camden, date_of_birth=BORN, given_names="Amelia", family_name="Okafor")
    second = make_child(
        area=shielding, date_of_birth=BORN, given_names="Amelia", family_name="Okafur"
    )
    child_shield(child=second, authority=shielding, reason="Risk from a parent")
    find()
    pair = ProbableDuplicate.objects.get()
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=camden))
    listed = client.get(LIST).content.decode()
    assert "Restricted record" in listed and "Okafur" not in listed
    page = client.get(pair_url(pair)).content.decode()
    assert "This record is restricted" in page and "Okafur" not in page
    assert "Are these records the same child?" not in page
    refused = client.post(pair_url(pair), {"decision": "different", "confirmed": "yes"})
    assert "Okafur" not in refused.content.decode()
    assert ProbableDuplicate.objects.get().is_pending
    # The shielding authority's data manager sees both, but cannot merge a record that
    # Camden looks after: only say they are different children.
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=shielding))
    page = client.get(pair_url(pair)).content.decode()
    assert "Okafur" in page and "Yes, the same child" not in page
    assert "No, different children" in page
