"""Writes about organisations and users."""

import csv
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.models import Organisation, Role, User

LOCAL_AUTHORITIES_CSV = Path(__file__).resolve().parent / "fixtures" / "local_authorities.csv"


@dataclass(frozen=True)
class LoadCounts:
    created: int
    updated: int
    unchanged: int


@transaction.atomic
def local_authorities_load(*, path: Path = LOCAL_AUTHORITIES_CSV) -> LoadCounts:
    """Creates or renames the English local authorities listed in the shipped fixture.

    Keyed by ONS code, so running it again changes nothing.
    """
    created = updated = unchanged = 0
    existing = {
        org.ons_code: org
        for org in Organisation.objects.filter(kind=Organisation.Kind.LOCAL_AUTHORITY)
    }
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code, name = row["ons_code"].strip(), row["name"].strip()
            org = existing.get(code)
            if org is None:
                org = Organisation(kind=Organisation.Kind.LOCAL_AUTHORITY, ons_code=code, name=name)
                org.full_clean()
                org.save()
                created += 1
            elif org.name != name:
                org.name = name
                org.full_clean()
                org.save(update_fields=["name"])
                updated += 1
            else:
                unchanged += 1
    return LoadCounts(created=created, updated=updated, unchanged=unchanged)


@transaction.atomic
def partner_agency_get_or_create(*, name: str, local_authority: Organisation) -> Organisation:
    agency, _ = Organisation.objects.get_or_create(
        kind=Organisation.Kind.PARTNER_AGENCY,
        local_authority=local_authority,
        name=name,
    )
    return agency


@transaction.atomic
def user_create(
    *,
    email: str,
    role: Role,
    organisation: Organisation,
    password: str,
    given_name: str = "",
    family_name: str = "",
    job_title: str = "",
) -> User:
    """Creates an active user whose username is their e-mail address (lower case).

    Raises ValidationError for a bad e-mail address, a taken username or a
    password the validators refuse.
    """
    email = User.objects.normalize_email(email.strip()).lower()
    user = User(
        username=email,
        email=email,
        role=role,
        organisation=organisation,
        first_name=given_name,
        last_name=family_name,
        job_title=job_title,
    )
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user
