"""The register's rules: children come with an involvement; the database keeps the invariants."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Role
from children.models import Address, Child, Involvement, Name, Service
from children.selectors import children_for_data_manager, children_in_area
from children.services import InvolvementDetails, involvement_add, involvement_close
from tests.audit.helpers import events_after, head_sequence
from tests.factories import make_area, make_child, make_partner, make_user

pytestmark = pytest.mark.django_db


def test_a_child_is_created_with_names_address_and_first_involvement():
    start = head_sequence()
    child = make_child(given_names="Zoë", family_name="O'Brien-Kowalski", nhs_number="943 476 5919")
    assert child.nhs_number == "9434765919"
    assert child.names.get(kind="current").family_name == "O'Brien-Kowalski"
    assert child.addresses.get().postcode == "SW1A 1AA"
    assert child.involvements.count() == 1
    assert child.retention_ends_on == date(2034, 3, 2)  # open: 18th birthday + 12 months
    event = events_after(start).get()
    assert event.action == "record_create" and event.children == [child.public_id]
    assert "Brien" not in str(event.__dict__)


def test_a_child_is_never_left_without_an_involvement():
    before = Child.objects.count()
    with pytest.raises(ValidationError):
        make_child(started_on=date(2024, 5, 1), ended_on=date(2024, 4, 1))
    assert Child.objects.count() == before
    assert not Name.objects.exists() and not Address.objects.exists()


def test_str_of_register_models_never_shows_a_name():
    child = make_child(given_names="Distinctive", family_name="Surnameington")
    for instance in (child, child.names.get(), child.addresses.get(), child.involvements.get()):
        assert "Distinctive" not in str(instance) and "Surnameington" not in str(instance)


def test_change_history_masks_names():
    from audit.models import ChangeRecord

    child = make_child(given_names="Distinctive", family_name="Surnameington")
    name = child.names.get()
    name.family_name = "Changedname"
    name.save()
    history = " ".join(
        f"{entry.object_repr} {entry.changes}" for entry in ChangeRecord.objects.all()
    )
    assert "Surnameington" not in history and "Changedname" not in history


def test_public_ids_are_not_sequential():
    first, second = make_child(), make_child()
    assert first.public_id != second.public_id
    assert first.public_id[:6] != second.public_id[:6]


def test_database_allows_one_current_name():
    child = make_child()
    with pytest.raises(IntegrityError), transaction.atomic():
        Name.objects.create(child=child, kind="current", given_names="A", family_name="B")


def test_database_allows_one_current_address():
    child = make_child()
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(
            child=child,
            line_1="2 Road",
            postcode="M1 1AE",
            local_authority=child.addresses.get().local_authority,
            moved_in_on=date(2024, 1, 1),
        )


def test_database_refuses_an_involvement_ending_before_it_starts():
    child = make_child()
    involvement = child.involvements.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Involvement.objects.filter(pk=involvement.pk).update(ended_on=date(2000, 1, 1))


def test_one_open_lead_professional_per_child():
    child = make_child(lead_professional=True)
    area = child.addresses.get().local_authority
    details = InvolvementDetails(
        service=Service.objects.get(code="health_visiting"),
        organisation=area,
        started_on=date(2024, 2, 1),
        practitioner_name="Hana Visitor",
        practitioner_phone="020 7946 0002",
        lead_professional=True,
    )
    with pytest.raises(ValidationError, match="lead professional"):
        involvement_add(child=child, details=details)
    # Once the first lead's involvement has ended, another may lead.
    involvement_close(involvement=child.involvements.get(), ended_on=date(2024, 6, 30))
    involvement_add(child=child, details=details)
    assert child.involvements.filter(lead_professional=True, ended_on__isnull=True).count() == 1


def test_closing_the_last_involvement_starts_the_retention_clock():
    child = make_child()
    involvement_close(involvement=child.involvements.get(), ended_on=date(2025, 1, 31))
    child.refresh_from_db()
    assert child.retention_ends_on == date(2026, 1, 31)


def test_closing_before_the_start_is_refused():
    child = make_child(started_on=date(2024, 5, 1))
    with pytest.raises(ValidationError):
        involvement_close(involvement=child.involvements.get(), ended_on=date(2024, 4, 1))


def test_nhs_numbers_are_unique_on_the_register():
    make_child(nhs_number="9434765919")
    with pytest.raises(ValidationError):
        make_child(nhs_number="9434765919")


def test_data_manager_area_covers_current_residents_and_local_involvements():
    westminster, camden = make_area(), make_area()
    agency = make_partner(area=westminster, name="Westminster Health Visiting")
    lives_here = make_child(area=westminster)
    served_by_partner = make_child(area=camden, organisation=agency)
    elsewhere = make_child(area=camden)
    in_area = set(children_in_area(area=westminster))
    assert lives_here in in_area and served_by_partner in in_area
    assert elsewhere not in in_area


def test_a_child_who_moved_away_stays_visible_only_through_local_involvements():
    westminster, camden = make_area(), make_area()
    moved = make_child(area=westminster, organisation=camden)
    address = moved.addresses.get()
    Address.objects.filter(pk=address.pk).update(moved_out_on=date(2024, 6, 1))
    Address.objects.create(
        child=moved,
        line_1="9 New Road",
        postcode="NW1 2DB",
        local_authority=camden,
        moved_in_on=date(2024, 6, 1),
    )
    assert moved not in set(children_in_area(area=westminster))
    assert moved in set(children_in_area(area=camden))


def test_data_manager_selector_uses_the_users_area():
    area = make_area()
    partner = make_partner(area=area)
    child = make_child(area=area)
    user = make_user(role=Role.DATA_MANAGER, organisation=partner)
    assert list(children_for_data_manager(user=user)) == [child]
    operator = make_user(superuser=True)
    assert not children_for_data_manager(user=operator).exists()


@pytest.mark.django_db(transaction=True)
def test_the_service_catalogue_survives_a_flush():
    from django.core.management import call_command

    call_command("flush", "--no-input")
    assert Service.objects.filter(code="sexual_health", sensitive=True).exists()
    assert Service.objects.count() == 13
