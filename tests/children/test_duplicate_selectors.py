"""The duplicate pages' reads and rules, asked directly (issue 16, item 3): who may merge
which records (children.access through children.selectors_duplicates), whom a restricted
pair is decided by, and what a record of another area shows beside a held row."""

from datetime import date

import pytest

from accounts.models import Role
from children import access
from children.forms_duplicates import DIFFERENT, MergeIdsForm, ProbablePairDecisionForm
from children.identifiers import new_public_id
from children.models import ProbableDuplicate
from children.selectors_duplicates import (
    candidate,
    children_to_merge,
    duplicates_queue,
    pair_to_review,
)
from children.services import child_shield
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db


def _pair(first, second) -> ProbableDuplicate:
    return ProbableDuplicate.objects.create(
        child_a=first, child_b=second, probability=0.99, model_version="test"
    )


def test_two_records_of_the_area_may_be_merged_in_the_order_asked():
    area = make_area()
    manager = make_user(role=Role.DATA_MANAGER, organisation=area)
    first, second = make_child(area=area), make_child(area=area, family_name="Okafur")
    asked = children_to_merge(viewer=manager, public_ids=[second.public_id, first.public_id])
    assert asked.refusals == {} and asked.children == [second, first]


def test_a_record_of_another_area_or_none_is_refused_as_not_found():
    area = make_area()
    manager = make_user(role=Role.DATA_MANAGER, organisation=area)
    ours, theirs = make_child(area=area), make_child(area=make_area())
    asked = children_to_merge(viewer=manager, public_ids=[ours.public_id, theirs.public_id])
    assert asked.children == []
    assert {p: r.why for p, r in asked.refusals.items()} == {theirs.public_id: access.NOT_IN_AREA}
    nobody = children_to_merge(viewer=manager, public_ids=[ours.public_id, "7KQ-4M2-PX9"])
    assert nobody.refusals["7KQ-4M2-PX9"].why == access.NOT_IN_AREA


def test_the_merge_form_says_why_each_record_is_refused():
    area, other = make_area(), make_area()
    manager = make_user(role=Role.DATA_MANAGER, organisation=area)
    restricted = make_child(area=area)
    child_shield(child=restricted, authority=other, reason="Risk of harm")
    nobody = new_public_id()
    ids = MergeIdsForm({"first": restricted.public_id, "second": nobody})
    assert ids.is_valid()
    asked = children_to_merge(viewer=manager, public_ids=ids.public_ids())
    ids.add_refusals(asked.refusals)
    assert "This record is restricted: ask" in ids.errors["first"][0]
    assert ids.errors["second"] == ["No record in your area has this public id"]


def test_a_pair_with_a_restricted_record_is_decided_by_its_shielding_authority():
    area, other = make_area(), make_area()
    manager = make_user(role=Role.DATA_MANAGER, organisation=area)
    first, second = make_child(area=area), make_child(area=area, family_name="Okafur")
    child_shield(child=second, authority=other, reason="Risk of harm")
    review = pair_to_review(pair_id=_pair(first, second).pk, area=area, viewer=manager)
    assert review.in_area and not review.may_merge
    assert [refusal.why for refusal in review.restricted] == [access.SHIELDED]
    contact = review.restricted[0].contact
    form = ProbablePairDecisionForm(
        {"decision": DIFFERENT}, may_merge=False, restricted_contact=contact
    )
    assert not form.is_valid()
    assert form.errors["decision"] == [f"One of the records is restricted: ask {contact} to decide"]
    assert ProbablePairDecisionForm({"decision": DIFFERENT}, may_merge=False).is_valid()


def test_a_pair_of_another_area_is_not_in_area_and_a_decided_pair_is_none():
    area = make_area()
    manager = make_user(role=Role.DATA_MANAGER, organisation=area)
    elsewhere = make_area()
    pair = _pair(make_child(area=elsewhere), make_child(area=elsewhere, family_name="Okafur"))
    assert not pair_to_review(pair_id=pair.pk, area=area, viewer=manager).in_area
    pair.decision, pair.decided_at = ProbableDuplicate.Decision.DIFFERENT, pair.found_at
    pair.save()
    assert pair_to_review(pair_id=pair.pk, area=area, viewer=manager) is None


def test_the_queue_names_the_pairs_children():
    area = make_area()
    first, second = make_child(area=area), make_child(area=area, family_name="Okafur")
    _pair(first, second)
    queue = duplicates_queue(area=area)
    assert queue.held == [] and queue.public_ids == [first.public_id, second.public_id]


def test_a_record_of_another_area_shows_what_a_search_shows_and_whether_numbers_agree():
    manager = make_user(role=Role.DATA_MANAGER, organisation=make_area())
    theirs = make_child(area=make_area(), nhs_number="9434765919", date_of_birth=date(2016, 1, 1))
    shown = candidate(child=theirs, viewer=manager, held_nhs_numbers=frozenset({"9434765919"}))
    assert shown["other_area"] and shown["nhs_number_agrees"] == "The same as in the rows"
    assert "nhs_number" not in shown and "involvements" not in shown
    other = candidate(child=theirs, viewer=manager, held_nhs_numbers=frozenset({"9434765870"}))
    assert other["nhs_number_agrees"] == "Different from the rows"
