"""The manage pages' rules, asked of the services and selectors themselves (issue 16, item 3):
attaching to another area's record never takes the lead over; restricting and lifting go
through one service; the add-a-child check's record opens only from the check's results."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Role
from audit.models import Action
from children import selectors_manage, services
from children.models import Involvement, Service
from tests.audit.helpers import last_event
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db


def _involvement(area, *, lead: bool) -> services.InvolvementDetails:
    return services.InvolvementDetails(
        service=Service.objects.get(code="early_help"),
        organisation=area,
        started_on=date(2025, 1, 6),
        practitioner_name="Sam Worker",
        practitioner_phone="020 7946 0002",
        lead_professional=lead,
    )


def test_attaching_a_lead_to_a_child_with_a_lead_is_refused_and_adds_nothing():
    home, other = make_area(), make_area()
    child = make_child(area=home, lead_professional=True)
    with pytest.raises(ValidationError) as refused:
        services.involvement_attach(child=child, details=_involvement(other, lead=True))
    assert "already has a lead professional" in refused.value.message_dict["lead_professional"][0]
    assert child.involvements.count() == 1


def test_attaching_without_the_lead_adds_the_involvement_and_records_it():
    home, other = make_area(), make_area()
    child = make_child(area=home, lead_professional=True)
    added = services.involvement_attach(child=child, details=_involvement(other, lead=False))
    assert Involvement.objects.filter(pk=added.pk, child=child, lead_professional=False).exists()
    assert last_event().action == Action.RECORD_CHANGE


def test_attaching_a_lead_where_there_is_none_makes_it_the_lead():
    child = make_child(area=make_area(), lead_professional=False)
    added = services.involvement_attach(child=child, details=_involvement(make_area(), lead=True))
    assert added.lead_professional


def test_restriction_set_restricts_and_lifts_by_public_id():
    area = make_area()
    child = make_child(area=area)
    services.child_restriction_set(
        public_id=child.public_id, restrict=True, authority=area, reason="Risk of harm"
    )
    child.refresh_from_db()
    assert child.shielded and child.shielded_by_id == area.pk
    assert last_event().detail["change"] == "shielded"
    services.child_restriction_set(
        public_id=child.public_id, restrict=False, authority=area, reason="Risk passed"
    )
    child.refresh_from_db()
    assert not child.shielded
    assert last_event().detail["change"] == "unshielded"


def test_restriction_set_lifts_only_the_restricting_authority_s():
    area, other = make_area(), make_area()
    child = make_child(area=area)
    services.child_restriction_set(
        public_id=child.public_id, restrict=True, authority=area, reason="Risk of harm"
    )
    with pytest.raises(ValidationError):
        services.child_restriction_set(
            public_id=child.public_id, restrict=False, authority=other, reason="Not theirs"
        )


def test_a_record_not_shown_by_the_check_is_not_attachable():
    manager = make_user(role=Role.DATA_MANAGER, organisation=make_area())
    child = make_child(area=make_area())
    found, decision = selectors_manage.child_to_attach(viewer=manager, public_id=child.public_id)
    assert found is None and not decision
    assert decision.why == selectors_manage.NOT_IN_SEARCH_RESULTS
    nothing, refused = selectors_manage.child_to_attach(viewer=manager, public_id="not-an-id")
    assert nothing is None and refused.why == selectors_manage.NOT_IN_SEARCH_RESULTS


def test_the_check_finds_the_child_by_nhs_number_and_shows_a_restricted_one_as_restricted():
    area = make_area()
    child = make_child(area=area, nhs_number="9434765919")
    services.child_shield(child=child, authority=area, reason="Risk of harm")
    viewer = make_user(role=Role.DATA_MANAGER, organisation=make_area())
    found = selectors_manage.new_child_lookalikes(
        date_of_birth=date(2016, 1, 1),
        given_names="Someone",
        family_name="Else",
        nhs_number="9434765919",
        viewer=viewer,
    )
    assert not found.too_many and found.public_ids == [child.public_id]
    # Shown as a search shows a shielded record: no name, whom to ask.
    assert found.rows[0].given_names == "" and found.rows[0].restricted_contact
