"""No way around shielding: the record view, the manage pages, the duplicate and merge pages
and the services ask one rule (children.access); only the shielding authority's data managers
manage a shielded record, and every refusal is an access_denied event. (The manage URLs
are in the authorization matrix's shielded rows.)"""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Role
from audit.models import Action
from children import access
from children.models import Child, HeldRow, Involvement, MergedChild
from children.services import InvolvementDetails, child_shield, child_unshield, involvement_add
from tests.audit.helpers import last_event
from tests.children.test_import import CAMDEN, WESTMINSTER, ago, import_csv, make_row
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def camden():
    return make_area(code=CAMDEN, name="Camden")


@pytest.fixture
def westminster():
    return make_area(code=WESTMINSTER, name="Westminster")


def _shielded_in(shielding, *, involved, **kwargs) -> Child:
    """A child of `shielding`'s area, shielded by it, that `involved` also works with."""
    from children.models import Service

    child = make_child(area=shielding, **kwargs)
    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="education"),
            organisation=involved,
            started_on=date(2025, 9, 1),
        ),
    )
    child_shield(child=child, authority=shielding, reason="Risk from a parent")
    return Child.objects.select_related("shielded_by").get(pk=child.pk)


def test_the_rule_tells_who_may_manage_a_shielded_record(camden, westminster):
    child = _shielded_in(westminster, involved=camden)
    theirs = make_user(role=Role.DATA_MANAGER, organisation=westminster)
    ours = make_user(role=Role.DATA_MANAGER, organisation=camden)
    nobody = make_user(role=Role.DATA_MANAGER, organisation=make_area())
    assert access.may_manage(viewer=theirs, child=child)
    assert access.may_manage(viewer=ours, child=child).why == access.SHIELDED
    assert access.may_manage(viewer=nobody, child=child).why == access.NOT_IN_AREA
    assert access.may_read(viewer=ours, child=child).why == access.SHIELDED
    assert access.may_read(viewer=theirs, child=child)
    assert set(access.children_managed_by(area=westminster)) == {child}
    assert not access.children_managed_by(area=camden).exists()


def test_merging_a_record_shielded_by_another_authority_is_refused(client, camden, westminster):
    shielded = _shielded_in(westminster, involved=camden)
    ours = make_child(area=camden)
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=camden))
    response = client.post(
        "/manage/duplicates/merge/", {"first": ours.public_id, "second": shielded.public_id}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "This record is restricted" in html
    assert not MergedChild.objects.exists() and Child.objects.count() == 2
    event = last_event()
    assert event.action == Action.ACCESS_DENIED and event.detail["why"] == "shielded"
    assert event.children == [shielded.public_id]
    # Confirming anyway changes nothing.
    client.post(
        "/manage/duplicates/merge/",
        {
            "first": ours.public_id,
            "second": shielded.public_id,
            "keep": ours.public_id,
            "confirmed": "yes",
        },
    )
    assert not MergedChild.objects.exists() and Child.objects.count() == 2


def test_a_held_row_cannot_be_added_to_a_record_shielded_by_another_authority(
    client, camden, westminster
):
    shielded = _shielded_in(
        westminster,
        involved=camden,
        given_names="Aoife",
        family_name="Byrne",
        date_of_birth=date.fromisoformat(ago(years=6)),
    )
    import_csv([make_row(child_ref="C1", family_name="Byrn")])
    held = HeldRow.objects.get()
    assert held.candidates == [shielded.public_id]
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=camden))
    page = client.get(f"/manage/duplicates/held/{held.pk}/").content.decode()
    assert "This record is restricted" in page
    assert f'value="{shielded.public_id}"' not in page  # not a choice
    before = Involvement.objects.filter(child=shielded).count()
    response = client.post(
        f"/manage/duplicates/held/{held.pk}/",
        {"decision": shielded.public_id, "confirmed": "yes"},
    )
    assert response.status_code == 200 and "govuk-error-summary" in response.content.decode()
    assert HeldRow.objects.get().is_pending
    assert Involvement.objects.filter(child=shielded).count() == before


def test_a_held_rows_candidate_of_another_area_shows_what_a_search_result_shows(
    client, camden, westminster
):
    theirs = make_child(
        area=westminster,
        given_names="Aoife",
        family_name="Byrne",
        date_of_birth=date.fromisoformat(ago(years=6)),
        nhs_number="9434765919",
    )
    import_csv([make_row(child_ref="C1", family_name="Byrn")])
    held = HeldRow.objects.get()
    assert held.candidates == [theirs.public_id]
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=camden))
    page = client.get(f"/manage/duplicates/held/{held.pk}/").content.decode()
    assert "Aoife Byrne" in page and "Westminster" in page
    # Not its NHS number, nor who works with the child in the other area.
    assert "9434765919" not in page and "Pat Practitioner" not in page


def test_only_the_shielding_authority_lifts_a_restriction_even_through_the_service(
    camden, westminster
):
    child = _shielded_in(westminster, involved=camden)
    with pytest.raises(ValidationError):
        child_unshield(child=child, authority=camden, reason="Mistake")
    child.refresh_from_db()
    assert child.shielded and child.shielded_by == westminster
    child_unshield(child=child, authority=westminster, reason="Risk over")
    child.refresh_from_db()
    assert not child.shielded


def test_another_authoritys_admin_is_refused_and_recorded(client, camden, westminster):
    child = _shielded_in(westminster, involved=camden)
    client.force_login(make_user(role=Role.LA_ADMIN, organisation=camden))
    response = client.post(
        "/manage/shielding/",
        {"public_id": child.public_id, "action": "unshield", "reason": "x", "confirm": "1"},
    )
    assert "Only Westminster can lift the restriction" in response.content.decode()
    event = last_event()
    assert event.action == Action.ACCESS_DENIED
    assert event.detail["why"] == access.NOT_SHIELDING_AUTHORITY
    child.refresh_from_db()
    assert child.shielded
