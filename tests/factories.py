"""Factory functions for tests: build exactly the organisations and users a test needs."""

import itertools
from datetime import date

from django.utils import timezone

from accounts.models import Organisation, Role, User, Vetting

PASSWORD = "a-long-test-password-42"
_counter = itertools.count(1)


def make_area(*, code: str | None = None, name: str | None = None) -> Organisation:
    """A local authority (by ONS code) created on demand."""
    n = next(_counter)
    code = code or f"E06{900000 + n:06d}"
    area, _ = Organisation.objects.get_or_create(
        ons_code=code,
        defaults={"name": name or f"Test Area {n}", "kind": Organisation.Kind.LOCAL_AUTHORITY},
    )
    return area


def make_partner(*, area: Organisation, name: str | None = None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.PARTNER_AGENCY,
        local_authority=area,
        name=name or f"Partner {next(_counter)}",
    )


def make_user(
    *,
    role: Role | None = Role.PRACTITIONER,
    organisation: Organisation | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    is_active: bool = True,
    superuser: bool = False,
    vetted_on: date | None = None,
    vetted: bool = True,
) -> User:
    """A user of the role, vetted today (or on `vetted_on`) unless `vetted=False`."""
    n = next(_counter)
    email = email or f"user{n}@example.org"
    if superuser:
        user = User.objects.create_superuser(username=email, email=email, password=password)
    else:
        user = User.objects.create_user(
            username=email,
            email=email,
            password=password,
            role=role,
            organisation=organisation or make_area(),
            first_name="Test",
            last_name=f"User{n}",
        )
    if not is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    if vetted and not superuser:
        day = vetted_on or timezone.localdate()
        Vetting.objects.create(
            user=user,
            dbs_checked_on=day,
            dbs_certificate="001234567890",
            training_completed_on=day,
            agreement_accepted_on=day,
        )
    return user


def make_child(
    *,
    area=None,
    date_of_birth=None,
    given_names: str = "Amelia",
    family_name: str = "Okafor",
    started_on=None,
    ended_on=None,
    service_code: str = "social_care",
    organisation=None,
    lead_professional: bool = False,
    nhs_number: str | None = None,
    practitioner_email: str = "",
):
    """A child created as the register creates them: with a first involvement."""
    from datetime import date

    from children.models import Service
    from children.services import (
        AddressDetails,
        ChildDetails,
        InvolvementDetails,
        PersonName,
        child_create,
    )

    area = area or make_area()
    return child_create(
        details=ChildDetails(
            date_of_birth=date_of_birth or date(2015, 3, 2),
            name=PersonName(given_names=given_names, family_name=family_name),
            address=AddressDetails(
                line_1="1 Test Street",
                postcode="SW1A 1AA",
                local_authority=area,
                moved_in_on=date(2020, 1, 1),
            ),
            nhs_number=nhs_number,
        ),
        first_involvement=InvolvementDetails(
            service=Service.objects.get(code=service_code),
            organisation=organisation or area,
            started_on=started_on or date(2024, 1, 1),
            ended_on=ended_on,
            practitioner_name="Pat Practitioner",
            practitioner_phone="020 7946 0001",
            practitioner_email=practitioner_email,
            lead_professional=lead_professional,
        ),
    )
