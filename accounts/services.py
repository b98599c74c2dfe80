"""Writes about organisations and users."""

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Organisation, Role, User, Vetting
from audit.models import Action
from audit.services import record

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


@transaction.atomic
def vetting_record(
    *,
    user: User,
    by: User | None,
    request: HttpRequest | None = None,
    dbs_checked_on: date | None = None,
    dbs_certificate: str | None = None,
    training_completed_on: date | None = None,
    agreement_accepted_on: date | None = None,
) -> Vetting:
    """Records the parts of a user's vetting that are given, each with who recorded it, and
    audits it (a vetting_record event and the change history). Dates may not be in the
    future. Raises ValidationError."""
    today = timezone.localdate()
    errors = {
        name: "The date cannot be in the future"
        for name, value in (
            ("dbs_checked_on", dbs_checked_on),
            ("training_completed_on", training_completed_on),
            ("agreement_accepted_on", agreement_accepted_on),
        )
        if value is not None and value > today
    }
    if errors:
        raise ValidationError(errors)
    vetting, _ = Vetting.objects.select_for_update().get_or_create(user=user)
    recorded = []
    if dbs_checked_on is not None:
        vetting.dbs_checked_on, vetting.dbs_recorded_by = dbs_checked_on, by
        recorded.append("dbs_check")
    if dbs_certificate is not None:
        vetting.dbs_certificate = dbs_certificate
    if training_completed_on is not None:
        vetting.training_completed_on, vetting.training_recorded_by = training_completed_on, by
        recorded.append("training")
    if agreement_accepted_on is not None:
        vetting.agreement_accepted_on, vetting.agreement_recorded_by = agreement_accepted_on, by
        recorded.append("user_agreement")
    vetting.full_clean()
    vetting.save()
    record(
        request=request,
        action=Action.VETTING_RECORD,
        actor=by,
        detail={
            "user": user.pk,
            "username": user.username,
            "recorded": recorded,
            "dbs_checked_on": _iso(vetting.dbs_checked_on),
            "training_completed_on": _iso(vetting.training_completed_on),
            "agreement_accepted_on": _iso(vetting.agreement_accepted_on),
        },
    )
    return vetting


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
