"""A feed token learns nothing about children outside its area: a row whose NHS number is a
record the token's area may not manage (another area's, or shielded by another authority)
is held for the area's data managers, and answered exactly as every held row is."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from children.duplicates import held_row_resolve
from children.feed import feed_token_issue
from children.models import Child, HeldRow, Involvement, SourceRecord
from children.services import child_shield
from tests.children.test_feed_api import assert_matches_spec, post
from tests.children.test_import import CAMDEN, WESTMINSTER, ago, make_row
from tests.factories import make_area, make_child

pytestmark = pytest.mark.django_db

NHS = "9434765919"
BORN = date.fromisoformat(ago(years=6))


@pytest.fixture
def camden():
    return make_area(code=CAMDEN, name="Camden")


@pytest.fixture
def westminster():
    return make_area(code=WESTMINSTER, name="Westminster")


@pytest.fixture
def token(camden):
    _, plain = feed_token_issue(source="camden-lcs", local_authority=camden)
    return plain


def _answer(response) -> dict:
    """What the caller learns, without the file hash (it differs with the body)."""
    assert_matches_spec(response)
    body = response.json()
    body.pop("sha256", None)
    return {"status": response.status_code, **body}


def _row(**values) -> dict:
    # Aoife Byrne, as make_row's C1, under a new child_ref.
    details = {"given_names": "Aoife", "family_name": "Byrne", "date_of_birth": ago(years=6)}
    return make_row(child_ref="NEW-1", involvement_ref="INV-1", **{**details, **values})


def test_an_nhs_number_of_another_area_with_another_birthday_is_held_not_refused(
    client, token, westminster
):
    make_child(area=westminster, nhs_number=NHS, date_of_birth=date(2012, 1, 1))
    response = post(client, [_row(nhs_number=NHS)], token, path="/api/v1/involvements?dry_run=1")
    assert response.status_code == 200
    assert response.json()["held"] == [{"rows": [1], "child_ref": "NEW-1"}]
    assert "NHS" not in response.content.decode()


def test_every_reason_a_row_is_held_gets_the_same_answer(client, token, westminster):
    # Held because another area's record has the NHS number (same birthday: before, this
    # attached the rows to that record, and wrote to another area's child)...
    make_child(area=westminster, nhs_number=NHS, date_of_birth=BORN, given_names="Zofia")
    by_number = _answer(
        post(client, [_row(nhs_number=NHS)], token, path="/api/v1/involvements?dry_run=1")
    )
    # ...or because a child alike in name and birthday is on the register (no NHS number).
    make_child(area=westminster, given_names="Aoife", family_name="Byrne", date_of_birth=BORN)
    by_likeness = _answer(post(client, [_row()], token, path="/api/v1/involvements?dry_run=1"))
    assert by_number == by_likeness
    assert by_number["held"] == [{"rows": [1], "child_ref": "NEW-1"}]


def test_a_held_row_writes_nothing_to_the_other_areas_record(client, token, westminster):
    theirs = make_child(area=westminster, nhs_number=NHS, date_of_birth=BORN)
    involvements = Involvement.objects.filter(child=theirs).count()
    response = post(client, [_row(nhs_number=NHS)], token)
    assert response.status_code == 200
    assert Involvement.objects.filter(child=theirs).count() == involvements
    assert not SourceRecord.objects.filter(child=theirs).exists()
    held = HeldRow.objects.get()
    assert held.local_authority.ons_code == CAMDEN and held.candidates == [theirs.public_id]


def test_a_record_of_the_area_shielded_by_another_authority_is_held_too(
    client, token, camden, westminster
):
    ours = make_child(area=camden, nhs_number=NHS, date_of_birth=BORN)
    child_shield(child=ours, authority=westminster, reason="Risk from a parent")
    response = post(client, [_row(nhs_number=NHS)], token)
    assert response.json()["held"] == [{"rows": [1], "child_ref": "NEW-1"}]
    assert not SourceRecord.objects.filter(child=ours).exists()


def test_a_record_the_area_looks_after_still_matches_by_nhs_number(client, token, camden):
    ours = make_child(area=camden, nhs_number=NHS, date_of_birth=BORN)
    response = post(client, [_row(nhs_number=NHS)], token)
    assert response.status_code == 200 and response.json()["held"] == []
    assert SourceRecord.objects.get(source="camden-lcs", source_ref="NEW-1").child == ours


def test_an_unknown_nhs_number_creates_a_child(client, token):
    response = post(client, [_row(nhs_number=NHS)], token)
    assert response.json()["children"]["created"] == 1 and response.json()["held"] == []


def test_a_row_held_for_its_nhs_number_cannot_be_imported_as_a_different_child(
    client, token, westminster
):
    make_child(area=westminster, nhs_number=NHS, date_of_birth=BORN)
    post(client, [_row(nhs_number=NHS)], token)
    held = HeldRow.objects.get()
    with pytest.raises(ValidationError, match="NHS number"):
        held_row_resolve(held=held, resolution=HeldRow.Resolution.DIFFERENT)
    assert Child.objects.count() == 1 and HeldRow.objects.get().is_pending
