"""Database rules for organisations and users."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Organisation, User
from tests.factories import make_area

pytestmark = pytest.mark.django_db


def test_a_partner_agency_must_belong_to_a_local_authority():
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(name="Orphan agency", kind="partner_agency")


def test_a_local_authority_needs_an_ons_code():
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(name="Nowhere", kind="local_authority")


def test_ons_codes_are_unique():
    make_area(code="E06000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(name="Twin", kind="local_authority", ons_code="E06000001")


def test_a_user_without_role_or_organisation_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="x@example.org", password="p" * 20)


def test_partner_agency_area_is_its_local_authority():
    area = make_area()
    agency = Organisation.objects.create(name="Agency", kind="partner_agency", local_authority=area)
    assert agency.area_id == area.pk
    assert area.area_id == area.pk
