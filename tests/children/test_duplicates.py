"""Probable duplicates (children.duplicates): finding them, holding imported rows that look
like one, merging two records, and resolving held rows."""

import json
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from audit.models import Action
from children.duplicates import (
    Person,
    children_merge,
    held_row_resolve,
    merged_into,
    probable_duplicate_ids,
    probable_duplicates,
)
from children.imports import HeldGroup, Outcome
from children.models import (
    Address,
    Child,
    HeldRow,
    Involvement,
    MergedChild,
    Name,
    NameKind,
    SourceRecord,
)
from children.probable_duplicates import within
from tests.audit.helpers import events, events_about, last_event
from tests.children.test_feed_api import URL, assert_matches_spec, post
from tests.children.test_import import (
    CAMDEN,
    WESTMINSTER,
    ago,
    child_of,
    import_csv,
    make_row,
    register_counts,
    run,
)
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

BORN = date(2015, 3, 2)


@pytest.fixture
def areas():
    return {
        CAMDEN: make_area(code=CAMDEN, name="Camden"),
        WESTMINSTER: make_area(code=WESTMINSTER, name="Westminster"),
    }


def add_name(child: Child, given: str, family: str, kind=NameKind.PREVIOUS) -> Name:
    return Name.objects.create(child=child, kind=kind, given_names=given, family_name=family)


def found(**query) -> list[Child]:
    return probable_duplicates(**query)


# --- Detection ------------------------------------------------------------------------------


def test_the_same_nhs_number_is_a_probable_duplicate_whatever_the_rest():
    child = make_child(nhs_number="9434765919")
    assert found(
        date_of_birth=date(2010, 1, 1), names=[("Zofia", "Nowak")], nhs_number="9434765919"
    ) == [child]


def test_the_same_date_of_birth_and_a_similar_name_is_a_probable_duplicate():
    child = make_child(date_of_birth=BORN, given_names="Amelia", family_name="Okafor")
    assert found(date_of_birth=BORN, names=[("Amelia", "Okafor")]) == [child]
    assert found(date_of_birth=BORN, names=[("Amelia", "Okafur")]) == [child]  # one slip
    assert found(date_of_birth=BORN, names=[("Amelie", "Okafor")]) == [child]
    assert found(date_of_birth=BORN, names=[("amelia", "O'KAFOR")]) == [child]


def test_the_day_and_month_swapped_is_the_same_date():
    child = make_child(date_of_birth=BORN, given_names="Amelia", family_name="Okafor")
    assert found(date_of_birth=date(2015, 2, 3), names=[("Amelia", "Okafor")]) == [child]


def test_a_mistyped_date_of_birth_with_the_same_names_is_a_probable_duplicate():
    # The second source typed the date with a slip: the same child (at the same address),
    # not a second record.
    child = make_child(date_of_birth=BORN, given_names="Amelia", family_name="Okafor")
    for typed in (date(2015, 3, 3), date(2016, 3, 2), date(2015, 2, 3), date(2015, 3, 20)):
        assert found(date_of_birth=typed, names=[("Amelia", "Okafor")], postcode="SW1A 1AA") == [
            child
        ]


def test_another_date_of_birth_altogether_is_not_a_duplicate():
    make_child(date_of_birth=BORN, given_names="Amelia", family_name="Okafor")
    assert found(date_of_birth=date(2011, 9, 24), names=[("Amelia", "Okafor")]) == []


def test_any_recorded_name_counts_and_any_given_name():
    child = make_child(date_of_birth=BORN, given_names="Amelia", family_name="Okafor")
    add_name(child, "Amelia", "Brennan")
    add_name(child, "Millie", "Okafor", kind=NameKind.PREFERRED)
    assert found(date_of_birth=BORN, names=[("Amelia", "Brennan")]) == [child]
    assert found(date_of_birth=BORN, names=[("Millie", "Okafor")]) == [child]
    # The query's other names count too.
    assert found(date_of_birth=BORN, names=[("Zofia", "Nowak"), ("Amelia", "Brenan")]) == [child]


def test_names_that_are_not_alike_are_not_duplicates():
    make_child(date_of_birth=BORN, given_names="Amelia", family_name="Okafor")
    assert found(date_of_birth=BORN, names=[("Zofia", "Nowak")]) == []
    assert found(date_of_birth=BORN, names=[("Amelia", "Nowak")]) == []  # family weighs most
    assert found(date_of_birth=BORN, names=[("John", "Okafor")]) == []


def test_excluded_children_are_left_out():
    child = make_child(date_of_birth=BORN, nhs_number="9434765919")
    other = make_child(date_of_birth=BORN)
    assert set(found(date_of_birth=BORN, names=[("Amelia", "Okafor")])) == {child, other}
    assert found(
        date_of_birth=BORN,
        names=[("Amelia", "Okafor")],
        nhs_number="9434765919",
        exclude_child_ids=[child.pk],
    ) == [other]


def test_many_people_are_checked_in_a_few_queries_whatever_their_number():
    make_child(date_of_birth=BORN)
    people = {
        n: Person(
            date_of_birth=BORN + timedelta(days=37 * n),
            names=[("Amelia", "Okafor")],
            postcode="M1 1AE" if n % 2 else "",
        )
        for n in range(300)
    }
    with CaptureQueriesContext(connection) as queries:
        result = probable_duplicate_ids(people)
    # One a block (the dates, the names' sounds, the outward code), not one a person.
    assert len(queries) <= 3
    assert list(result) == [0]


# --- Imports hold what looks like a child on the register --------------------------------------


def born_six_years_ago() -> date:
    return date.fromisoformat(ago(years=6))


def aoife(areas) -> Child:
    """On the register already: Aoife Byrne, born as make_row's child."""
    return make_child(
        area=areas[CAMDEN],
        date_of_birth=born_six_years_ago(),
        given_names="Aoife",
        family_name="Byrne",
    )


def file_with_a_probable_duplicate() -> list[dict[str, str]]:
    return [
        make_row(child_ref="C1", family_name="Byrn", involvement_ref="I1"),
        make_row(child_ref="C2", given_names="Zofia", family_name="Nowak", involvement_ref="I2"),
        make_row(child_ref="C1", family_name="Byrn", involvement_ref="I3", service="gp"),
    ]


def test_a_new_child_ref_like_a_child_on_the_register_is_held_and_the_rest_imported(areas):
    existing = aoife(areas)
    before = register_counts()
    report = import_csv(file_with_a_probable_duplicate())
    assert report.outcome == Outcome.COMMITTED
    assert report.held == (HeldGroup(rows=(2, 4), child_ref="C1"),)
    assert report.children.created == 1
    assert report.involvements.created == 1
    assert not SourceRecord.objects.filter(source_ref="C1").exists()
    assert child_of("C2").names.get(kind=NameKind.CURRENT).family_name == "Nowak"
    after = register_counts()
    assert after["Child"] == before["Child"] + 1
    assert after["Involvement"] == before["Involvement"] + 1
    held = HeldRow.objects.get()
    assert (held.source, held.child_ref, held.local_authority) == ("lcs", "C1", areas[CAMDEN])
    assert held.candidates == [existing.public_id]
    assert [row["involvement_ref"] for row in held.rows] == ["I1", "I3"]
    assert held.rows[0]["family_name"] == "Byrn"
    assert held.is_pending and held.resolution == ""
    assert "Byrn" not in str(held)
    assert (
        "Rows 2, 4 (child_ref C1) wait for review: a child like this is already on the register."
        in report.lines()
    )
    assert report.audit_detail()["held"] == 1
    assert last_event().detail["held"] == 1


def test_a_held_child_ref_sent_again_updates_the_same_held_row(areas):
    aoife(areas)
    import_csv(file_with_a_probable_duplicate())
    first = HeldRow.objects.get()
    again = import_csv(
        [
            make_row(child_ref="C1", family_name="Byrne", involvement_ref="I3", service="camhs"),
            make_row(child_ref="C1", family_name="Byrne", involvement_ref="I4"),
        ]
    )
    assert again.held == (HeldGroup(rows=(2, 3), child_ref="C1"),)
    held = HeldRow.objects.get()
    assert held.pk == first.pk
    by_ref = {row["involvement_ref"]: row for row in held.rows}
    assert sorted(by_ref) == ["I1", "I3", "I4"]
    assert by_ref["I3"]["service"] == "camhs"
    assert {row["family_name"] for row in held.rows} == {"Byrne"}  # the newest name applies
    assert held.updated_at >= first.updated_at


def test_a_dry_run_reports_what_would_be_held_and_stores_nothing(areas):
    aoife(areas)
    before = register_counts()
    report = import_csv(file_with_a_probable_duplicate(), dry_run=True)
    assert report.outcome == Outcome.DRY_RUN
    assert report.held == (HeldGroup(rows=(2, 4), child_ref="C1"),)
    assert any("would be held" in line for line in report.lines())
    assert register_counts() == before
    assert not HeldRow.objects.exists()


def test_an_nhs_number_match_is_attached_not_held(areas):
    existing = make_child(
        area=areas[CAMDEN],
        date_of_birth=born_six_years_ago(),
        given_names="Aoife",
        family_name="Byrne",
        nhs_number="9434765919",
    )
    report = import_csv([make_row(nhs_number="9434765919")])
    assert report.held == ()
    assert child_of("C1") == existing


def test_the_command_lists_held_rows(areas, tmp_path):
    aoife(areas)
    from tests.children.test_import import csv_bytes

    path = tmp_path / "file.csv"
    path.write_bytes(csv_bytes(file_with_a_probable_duplicate()))
    out = run(str(path), "--source", "lcs")
    assert "Rows 2, 4 (child_ref C1) wait for review" in out


def test_the_feed_api_reports_held_rows_as_documented(client, areas):
    from children.feed import feed_token_issue

    aoife(areas)
    _, token = feed_token_issue(source="camden-lcs", local_authority=areas[CAMDEN])
    response = post(client, file_with_a_probable_duplicate(), token)
    assert response.status_code == 200, response.content
    assert_matches_spec(response)
    assert response.json()["held"] == [{"rows": [1, 3], "child_ref": "C1"}]
    quiet = post(
        client, [make_row(child_ref="C9", given_names="Kwame", involvement_ref="I9")], token
    )
    assert quiet.json()["held"] == []
    assert_matches_spec(quiet)
    assert URL


# --- Merging ----------------------------------------------------------------------------------


def two_records(areas):
    survivor = make_child(
        area=areas[CAMDEN], given_names="Amelia", family_name="Okafor", lead_professional=True
    )
    duplicate = make_child(
        area=areas[WESTMINSTER],
        given_names="Amelia",
        family_name="Okafor-Brown",
        lead_professional=True,
        service_code="gp",
        nhs_number="9434765919",
    )
    add_name(duplicate, "Millie", "Brown", kind=NameKind.ALIAS)
    Address.objects.create(
        child=duplicate,
        line_1="Old Flat",
        postcode="W2 5EH",
        local_authority=areas[WESTMINSTER],
        moved_in_on=date(2018, 1, 1),
        moved_out_on=date(2019, 12, 31),
    )
    SourceRecord.objects.create(source="lcs", source_ref="W1", child=duplicate)
    return survivor, duplicate


def totals(*children: Child) -> dict[str, int]:
    ids = [child.pk for child in children]
    return {
        "names": Name.objects.filter(child_id__in=ids).count(),
        "addresses": Address.objects.filter(child_id__in=ids).count(),
        "involvements": Involvement.objects.filter(child_id__in=ids).count(),
        "sources": SourceRecord.objects.filter(child_id__in=ids).count(),
    }


def test_a_merge_loses_nothing_and_keeps_the_registers_rules(areas):
    survivor, duplicate = two_records(areas)
    before = totals(survivor, duplicate)
    old_id = duplicate.public_id
    children_merge(survivor=survivor, duplicate=duplicate)
    assert not Child.objects.filter(public_id=old_id).exists()
    assert totals(survivor) == before
    names = survivor.names.all()
    assert names.filter(kind=NameKind.CURRENT).count() == 1
    assert names.get(kind=NameKind.CURRENT).family_name == "Okafor"
    moved = names.get(family_name="Okafor-Brown")
    assert moved.kind == NameKind.PREVIOUS
    assert (moved.family_key, moved.date_of_birth) == ("okaforbrown", survivor.date_of_birth)
    assert names.get(family_name="Brown").kind == NameKind.ALIAS
    assert survivor.addresses.filter(moved_out_on__isnull=True).count() == 1
    closed = survivor.addresses.get(local_authority=areas[WESTMINSTER], line_1="1 Test Street")
    assert closed.moved_out_on == timezone.localdate()
    # One lead professional at a time: the moved involvement gives the role up.
    assert survivor.involvements.filter(lead_professional=True, ended_on=None).count() == 1
    assert survivor.involvements.get(service__code="gp").lead_professional is False
    survivor.refresh_from_db()
    assert survivor.nhs_number == "9434765919"
    assert SourceRecord.objects.get(source_ref="W1").child == survivor
    # The survivor is found by the merged names now.
    assert found(date_of_birth=survivor.date_of_birth, names=[("Millie", "Brown")]) == [survivor]


def test_a_merge_is_one_audit_event_naming_both_records(areas):
    survivor, duplicate = two_records(areas)
    old_id = duplicate.public_id
    before = events().count()
    request = RequestFactory().post("/")
    request.user = make_user(role=Role.DATA_MANAGER, organisation=areas[CAMDEN])
    children_merge(survivor=survivor, duplicate=duplicate, request=request)
    assert events().count() == before + 1
    event = last_event()
    assert event.action == Action.RECORD_MERGE
    assert sorted(event.children) == sorted([survivor.public_id, old_id])
    assert event.detail["survivor"] == survivor.public_id
    assert event.detail["merged"] == old_id
    assert event.actor_id == request.user.pk
    assert events_about(old_id).filter(action=Action.RECORD_MERGE).exists()
    assert "Okafor" not in json.dumps(event.detail)


def test_a_merged_away_public_id_leads_to_the_survivor_through_later_merges(areas):
    first, second = two_records(areas)
    third = make_child(area=areas[CAMDEN], family_name="Okafor")
    old_second = second.public_id
    children_merge(survivor=first, duplicate=second)
    assert merged_into(old_second) == first.public_id
    old_first = first.public_id
    children_merge(survivor=third, duplicate=first)
    assert merged_into(old_first) == third.public_id
    assert merged_into(old_second) == third.public_id
    assert merged_into(third.public_id) is None
    assert MergedChild.objects.count() == 2


def test_a_name_the_survivor_has_is_not_repeated_and_no_current_address_is_taken_over(areas):
    survivor = make_child(area=areas[CAMDEN])
    duplicate = make_child(area=areas[CAMDEN])  # same name
    Address.objects.filter(child=survivor).update(moved_out_on=date(2023, 1, 1))
    children_merge(survivor=survivor, duplicate=duplicate)
    assert survivor.names.count() == 1
    current = survivor.addresses.get(moved_out_on__isnull=True)
    assert current.moved_in_on == date(2020, 1, 1)
    assert survivor.addresses.count() == 2


def test_records_with_different_nhs_numbers_are_not_merged(areas):
    survivor = make_child(area=areas[CAMDEN], nhs_number="9990000042")
    duplicate = make_child(area=areas[CAMDEN], nhs_number="9434765919")
    before = totals(survivor, duplicate)
    with pytest.raises(ValidationError):
        children_merge(survivor=survivor, duplicate=duplicate)
    assert totals(survivor, duplicate) == before
    with pytest.raises(ValidationError):
        children_merge(survivor=survivor, duplicate=survivor)


def test_a_merge_refreshes_retention_from_every_involvement(areas):
    survivor = make_child(area=areas[CAMDEN], ended_on=date(2024, 2, 1))
    duplicate = make_child(area=areas[CAMDEN], family_name="Okafur")  # still open
    children_merge(survivor=survivor, duplicate=duplicate)
    survivor.refresh_from_db()
    duplicate_retention = Child.objects.get(pk=survivor.pk).retention_ends_on
    assert survivor.retention_ends_on == duplicate_retention
    assert survivor.retention_ends_on > date(2024, 2, 1)


# --- Resolving held rows ---------------------------------------------------------------------


def held_row(areas) -> tuple[Child, HeldRow]:
    existing = aoife(areas)
    import_csv(file_with_a_probable_duplicate())
    return existing, HeldRow.objects.get()


def manager_request(areas):
    request = RequestFactory().post("/")
    request.user = make_user(role=Role.DATA_MANAGER, organisation=areas[CAMDEN])
    return request


def test_a_different_child_is_imported_as_a_new_record(areas):
    existing, held = held_row(areas)
    request = manager_request(areas)
    report = held_row_resolve(held=held, resolution="different", child=None, request=request)
    assert report.outcome == Outcome.COMMITTED
    assert report.children.created == 1
    created = child_of("C1")
    assert created != existing
    assert created.involvements.count() == 2
    held.refresh_from_db()
    assert held.resolution == "different" and held.resolved_at is not None
    assert held.resolved_by_id == request.user.pk
    assert held.rows == []
    event = last_event()
    assert (event.action, event.children) == (Action.RECORD_CHANGE, [created.public_id])
    assert event.detail["resolution"] == "different"
    # The source's next file updates that new record; nothing is held any more.
    again = import_csv(file_with_a_probable_duplicate())
    assert again.held == ()
    assert again.children.created == 0


def test_the_same_child_gets_the_held_rows_and_the_child_ref(areas):
    existing, held = held_row(areas)
    before = Child.objects.count()
    held_row_resolve(held=held, resolution="merged", child=existing, request=manager_request(areas))
    assert Child.objects.count() == before
    assert child_of("C1") == existing
    assert existing.involvements.count() == 3
    assert existing.names.filter(family_name="Byrn").exists()
    held.refresh_from_db()
    assert held.resolution == "merged"
    event = last_event()
    assert event.action == Action.RECORD_MERGE
    assert event.children == [existing.public_id]


def test_a_decision_is_made_once_and_needs_a_child_for_the_same(areas):
    existing, held = held_row(areas)
    with pytest.raises(ValidationError):
        held_row_resolve(held=held, resolution="merged", child=None)
    with pytest.raises(ValidationError):
        held_row_resolve(held=held, resolution="maybe", child=existing)
    held_row_resolve(held=held, resolution="different")
    with pytest.raises(ValidationError):
        held_row_resolve(held=held, resolution="merged", child=existing)
    assert SourceRecord.objects.filter(source_ref="C1").count() == 1


def test_held_rows_the_import_now_refuses_change_nothing(areas):
    existing, held = held_row(areas)
    other = make_child(area=areas[CAMDEN], family_name="Kowalski")
    # The involvement I1 now belongs to another child of the source: the import refuses.
    Involvement.objects.filter(child=other).update(source="lcs", source_id="I1")
    before = register_counts()
    from children.duplicates import HeldRowNotImported

    with pytest.raises(HeldRowNotImported) as refused:
        held_row_resolve(held=held, resolution="merged", child=existing)
    assert refused.value.report.refused
    assert register_counts() == before
    held.refresh_from_db()
    assert held.is_pending
    assert last_event().outcome == "refused"


def test_twins_are_not_duplicates_of_each_other():
    child = make_child(date_of_birth=BORN, given_names="Amelia", family_name="Okafor")
    assert found(date_of_birth=BORN, names=[("Kwame", "Okafor")]) == []
    assert found(date_of_birth=BORN, names=[("Amelie", "Okafor")]) == [child]  # a slip, not a twin


def test_a_child_with_another_nhs_number_is_another_child():
    make_child(
        date_of_birth=BORN, given_names="Amelia", family_name="Okafor", nhs_number="9434765919"
    )
    # The same details, another NHS number: two children (they could never be merged).
    assert found(date_of_birth=BORN, names=[("Amelia", "Okafor")], nhs_number="9434765870") == []
    # Without an NHS number to tell them apart, the details decide.
    assert len(found(date_of_birth=BORN, names=[("Amelia", "Okafor")])) == 1


# --- Within one file --------------------------------------------------------------------------


def like_aoife(**values: str) -> dict[str, str]:
    """A row for another child_ref with C1's details (make_row gives it its own)."""
    first = make_row()
    details = ("given_names", "family_name", "date_of_birth", "address_line_1", "postcode")
    return make_row(**{column: first[column] for column in details} | values)


def test_a_child_ref_like_one_earlier_in_the_file_is_held_beside_it(areas):
    report = import_csv(
        [
            make_row(child_ref="C1", involvement_ref="I1"),
            like_aoife(child_ref="X7", family_name="Byrn", involvement_ref="I2", service="gp"),
        ]
    )
    assert report.children.created == 1
    assert report.held == (HeldGroup(rows=(3,), child_ref="X7"),)
    held = HeldRow.objects.get()
    # The data manager sees the child the file created first as the candidate.
    assert held.candidates == [child_of("C1").public_id]


def test_children_of_one_file_with_different_nhs_numbers_are_not_held(areas):
    report = import_csv(
        [
            make_row(child_ref="C1", involvement_ref="I1", nhs_number="9434765919"),
            like_aoife(
                child_ref="X7", family_name="Byrn", involvement_ref="I2", nhs_number="9434765870"
            ),
        ]
    )
    assert report.held == ()
    assert report.children.created == 2


def test_children_of_one_file_are_compared_in_memory():
    # Not against the register (whose child 1, were there one, is not in the file).
    make_child(date_of_birth=BORN, given_names="Kwame", family_name="Mensah")
    people = {
        ref: Person(date_of_birth=BORN, names=[(given, "Okafor")], postcode="M1 1AE", sex="female")
        for ref, given in (("A", "Amelia"), ("B", "Amelie"), ("C", "Kwame"))
    }
    with CaptureQueriesContext(connection) as queries:
        same = within(people)
    assert len(queries) == 0
    assert same == {"B": "A"}  # C is a sibling: the same family name, another given name


def test_a_merge_refuses_when_child_gains_a_relation_it_cannot_move():
    """A model added later with a key to Child: the merge and the system check both stop,
    before anything is moved or deleted."""
    from django.apps import apps
    from django.core import checks
    from django.db import models

    from children.duplicates import MergeNotSafe, children_merge

    area = make_area()
    survivor = make_child(area=area, given_names="Ana", family_name="Lopes")
    duplicate = make_child(area=area, given_names="Ana", family_name="Lopez")

    class CarePlan(models.Model):
        child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="care_plans")

        class Meta:
            app_label = "children"

        def __str__(self) -> str:
            return f"Care plan {self.pk}"

    Child._meta._expire_cache()
    try:
        with pytest.raises(MergeNotSafe, match=r"children\.CarePlan\.child"):
            children_merge(survivor=survivor, duplicate=duplicate)
        errors = [e for e in checks.run_checks() if e.id == "children.E001"]
        assert [e.msg for e in errors] == [
            "children_merge does not know how to move children.CarePlan.child"
        ]
    finally:
        del apps.all_models["children"]["careplan"]
        apps.clear_cache()
        Child._meta._expire_cache()
    assert Child.objects.filter(pk=duplicate.pk).exists()  # nothing merged
    assert not [e for e in checks.run_checks() if e.id == "children.E001"]
