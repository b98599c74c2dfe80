"""Writes about organisations and users."""

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import SESSION_KEY, authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user

from accounts import emails
from accounts.capabilities import grantable_roles
from accounts.models import Invitation, Organisation, Role, User, Vetting
from accounts.tokens import new_token, token_hash
from audit.models import Action
from audit.services import record
from signposting.sessions import SessionStore

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


# --- Local authority admins' changes to their area's users ------------------------------------


class NotAllowed(Exception):
    """An admin asked for a change they may not make; the message says why."""


@transaction.atomic
def user_role_change(*, user: User, role: Role, by: User, request: HttpRequest | None) -> User:
    """Gives the user another role, from the next request on."""
    if user.pk == by.pk:
        raise NotAllowed("You cannot change your own role: ask another admin")
    if role not in grantable_roles(by=by):
        raise NotAllowed(f"You cannot give the role {role.label}")
    if user.role == Role.AUDITOR and Role.AUDITOR not in grantable_roles(by=by):
        raise NotAllowed("Only a platform operator can change an auditor's role")
    previous = user.role
    user.role = role
    user.full_clean()
    user.save(update_fields=["role"])
    record(
        request=request,
        action=Action.USER_CHANGE,
        actor=by,
        detail={"user": user.pk, "username": user.username, "role": role, "was": previous},
    )
    return user


@transaction.atomic
def user_suspend(*, user: User, by: User, request: HttpRequest | None) -> int:
    """Suspends the account and ends every session it has, at once. Returns how many ended."""
    if user.pk == by.pk:
        raise NotAllowed("You cannot suspend your own account")
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = sessions_end(user=user)
    record(
        request=request,
        action=Action.USER_SUSPEND,
        actor=by,
        detail={"user": user.pk, "username": user.username, "sessions_ended": ended},
    )
    return ended


@transaction.atomic
def user_reactivate(*, user: User, by: User, request: HttpRequest | None) -> User:
    user.is_active = True
    user.save(update_fields=["is_active"])
    record(
        request=request,
        action=Action.USER_REACTIVATE,
        actor=by,
        detail={"user": user.pk, "username": user.username},
    )
    return user


@transaction.atomic
def user_unlock(*, user: User, by: User, request: HttpRequest | None) -> int:
    """Lifts a django-axes lockout of the username. Returns the failed attempts cleared."""
    cleared = axes_reset(username=user.username)
    record(
        request=request,
        action=Action.USER_UNLOCK,
        actor=by,
        detail={"user": user.pk, "username": user.username, "attempts_cleared": cleared},
    )
    return cleared


def sessions_end(*, user: User) -> int:
    """Deletes every live session signed in as the user. Sessions are not indexed by user,
    so this decodes the live ones: an admin's rare action, not a request's."""
    store = SessionStore()
    ended = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(store.decode(session.session_data).get(SESSION_KEY)) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


# --- Invitations: new users set their own password through a single-use link -----------------


@dataclass(frozen=True)
class Invited:
    user: User
    token: str  # shown once, in the link or the e-mail; only its hash is kept
    expires_at: datetime
    emailed: bool = False  # the link was queued to the user by e-mail (accounts.outbox)


@transaction.atomic
def user_invite(
    *,
    email: str,
    given_name: str,
    family_name: str,
    job_title: str,
    organisation: Organisation,
    role: Role,
    by: User,
    request: HttpRequest | None,
) -> Invited:
    """Creates a user in the admin's area with no password yet, and their invitation link.
    Raises ValidationError (a taken address) or NotAllowed (a role or organisation the admin
    may not give)."""
    if role not in grantable_roles(by=by):
        raise NotAllowed(f"You cannot give the role {role.label}")
    if by.organisation is None or organisation.area_id != by.organisation.area_id:
        raise NotAllowed("You can only add users to your own area's organisations")
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(username__iexact=email).exists():
        raise ValidationError({"email": "An account with this email address already exists"})
    user = User(
        username=email,
        email=email,
        first_name=given_name,
        last_name=family_name,
        job_title=job_title,
        role=role,
        organisation=organisation,
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    invited = _invitation_issue(user=user, by=by)
    record(
        request=request,
        action=Action.USER_CREATE,
        actor=by,
        detail={
            "user": user.pk,
            "username": user.username,
            "role": role,
            "organisation": organisation.name,
            "invitation_expires_at": invited.expires_at.isoformat(),
            "link_emailed": invited.emailed,
        },
    )
    return invited


@transaction.atomic
def invitation_reissue(*, user: User, by: User, request: HttpRequest | None) -> Invited:
    """A new link for a user who has not set a password yet; earlier links stop working."""
    if user.has_usable_password():
        raise NotAllowed("This user has set a password already")
    invited = _invitation_issue(user=user, by=by)
    record(
        request=request,
        action=Action.USER_CHANGE,
        actor=by,
        detail={
            "user": user.pk,
            "username": user.username,
            "invitation": "reissued",
            "invitation_expires_at": invited.expires_at.isoformat(),
            "link_emailed": invited.emailed,
        },
    )
    return invited


class InvitationInvalid(Exception):
    """The link is unknown, used, replaced or expired."""


@transaction.atomic
def invitation_accept(*, token: str, password: str, request: HttpRequest | None) -> User:
    """Sets the invited user's password and spends the link. Raises InvitationInvalid, or
    ValidationError for a password the validators refuse (the link stays usable)."""
    invitation = _usable_link(token=token, purpose=Invitation.Purpose.INVITATION)
    user = invitation.user
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    _spend(invitation, request=request, detail={"invitation": "accepted"})
    return user


class WrongPassword(Exception):
    """The password given with a set-up link is not the account's (counted as a failure)."""


def setup_link_accept(*, token: str, password: str, request: HttpRequest) -> User:
    """Checks the user's password against a second-factor set-up link (an LA admin's reset)
    and spends the link. Raises InvitationInvalid, or WrongPassword: django-axes counts the
    failure and the audit trail records it, as for any wrong password (so the password is
    checked outside the transaction that spends the link)."""
    from accounts.selectors import invitation_usable

    found = invitation_usable(token=token, purpose=Invitation.Purpose.SECOND_FACTOR)
    if found is None or not found.user.is_active:
        raise InvitationInvalid
    user = authenticate(request, username=found.user.username, password=password)
    if user is None:
        raise WrongPassword
    with transaction.atomic():
        invitation = _usable_link(token=token, purpose=Invitation.Purpose.SECOND_FACTOR)
        _spend(invitation, request=request, detail={"second_factor": "link_used"})
    return user


def _spend(invitation: Invitation, *, request: HttpRequest | None, detail: dict) -> None:
    """Marks a link used (it works once), recorded as the user's own change."""
    user = invitation.user
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    record(
        request=request,
        action=Action.USER_CHANGE,
        actor=user,
        detail={"user": user.pk, "username": user.username, **detail},
    )


def _usable_link(*, token: str, purpose: Invitation.Purpose) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("user")
        .filter(token_sha256=token_hash(token), purpose=purpose)
        .first()
    )
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.expires_at <= timezone.now()
        or not invitation.user.is_active
    ):
        raise InvitationInvalid
    return invitation


@transaction.atomic
def second_factor_reset(
    *, user: User, by: User | None, request: HttpRequest | None, email_link: bool = True
) -> Invited:
    """For a user who lost their passkey or phone: every second factor they had (passkeys,
    authenticator app, backup codes) stops working, every session of theirs ends, and a
    single-use link, like an invitation, lets them confirm their password and set up a new
    one. `by` is the LA admin (None for an operator at the command line). The link is
    e-mailed to the user when e-mail is on, unless not `email_link` (a new account's first
    set-up, which the operator passes on). Raises NotAllowed."""
    if by is not None and user.pk == by.pk:
        raise NotAllowed("You cannot reset your own second factor: ask another admin")
    if not user.has_usable_password():
        raise NotAllowed("This user has not set a password yet: make a new invitation link")
    removed = 0
    for device in devices_for_user(user, confirmed=None):
        device.delete()
        removed += 1
    ended = sessions_end(user=user)
    invited = _invitation_issue(
        user=user, by=by, purpose=Invitation.Purpose.SECOND_FACTOR, email_link=email_link
    )
    record(
        request=request,
        action=Action.USER_CHANGE,
        actor=by,
        detail={
            "user": user.pk,
            "username": user.username,
            "second_factor": "reset",
            "devices_removed": removed,
            "sessions_ended": ended,
            "link_expires_at": invited.expires_at.isoformat(),
            "link_emailed": invited.emailed,
        },
    )
    return invited


def _invitation_issue(
    *,
    user: User,
    by: User | None,
    purpose: Invitation.Purpose = Invitation.Purpose.INVITATION,
    email_link: bool = True,
) -> Invited:
    """A new link for the user (earlier ones stop working), e-mailed to them when e-mail
    is on: in this transaction, so the link is sent if and only if it was made."""
    now = timezone.now()
    Invitation.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    token = new_token()
    expires_at = now + timedelta(hours=settings.INVITATION_HOURS)
    Invitation.objects.create(
        user=user,
        purpose=purpose,
        token_sha256=token_hash(token),
        created_at=now,
        expires_at=expires_at,
        created_by=by,
    )
    emailed = email_link and emails.set_up_link_queue(
        user=user,
        by=by,
        token=token,
        expires_at=expires_at,
        reset=purpose != Invitation.Purpose.INVITATION,
    )
    return Invited(user=user, token=token, expires_at=expires_at, emailed=emailed)
