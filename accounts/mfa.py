"""Two-factor sign-in (django-otp): passkeys first (accounts.passkeys), an authenticator app
(TOTP) and backup codes as the fallback, unless REQUIRE_PASSKEY.

When REQUIRE_MFA is on, a session that has given only its password holds no capability
(accounts.capabilities) and every page that needs one sends it here first. A wrong code or
a passkey that does not verify counts as a failed sign-in: django-axes locks the account
after the same number of failures as for passwords, and the audit trail records each one.

A second factor is enrolled only inside a set-up journey: the invitation link (password,
then the second factor, in one go) or the link an LA admin's reset gives (the password
again, then a new second factor). The link puts a grant in the session, for
SECOND_FACTOR_SETUP_MINUTES; without it, whoever knows a password sees no key and can
register nothing. (A session that has given its second factor may add a passkey.)
"""

import secrets
import time

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import User
from audit.models import Action
from audit.services import record

BACKUP_CODES = 10
# Session keys: the set-up grant, and "show the new backup codes once" after enrolment.
SETUP_GRANT = "signposting_second_factor_setup"
BACKUP_CODES_DUE = "signposting_backup_codes_due"


# --- What the user has ------------------------------------------------------------------------


def has_passkey(user: User) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def has_app(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def has_backup_codes(user: User) -> bool:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).exists()


def enrolled(user: User) -> bool:
    return has_passkey(user) or has_app(user)


def may_use_codes(user: User) -> bool:
    """Codes (the app's, or backup codes) sign in, except where only a passkey counts; even
    then a user who has no passkey yet gives one once, to set up their passkey."""
    return not settings.REQUIRE_PASSKEY or not has_passkey(user)


# --- The set-up grant -----------------------------------------------------------------------


def setup_grant(request: HttpRequest) -> None:
    """Lets this session enrol a second factor for its user, for a while. Given only by the
    invitation and reset links (accounts.views_invitation), after the password. An old
    authenticator key shown before is dropped: the one set up now is new."""
    user = request.user
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    request.session[SETUP_GRANT] = {
        "user": user.pk,
        "until": time.time() + 60 * settings.SECOND_FACTOR_SETUP_MINUTES,
    }


def may_enrol(request: HttpRequest) -> bool:
    grant = request.session.get(SETUP_GRANT)
    return (
        request.user.is_authenticated
        and isinstance(grant, dict)
        and grant.get("user") == request.user.pk
        and time.time() < grant.get("until", 0)
    )


def may_register_passkey(request: HttpRequest) -> bool:
    """Inside the set-up journey, or in a session that gave its second factor already."""
    user = request.user
    if not user.is_authenticated:
        return False
    return may_enrol(request) or user.is_verified()


def enrolment_finished(*, request: HttpRequest, method: str, device=None) -> None:
    """After a second factor was set up: the grant ends, the session key changes, the backup
    codes are due once (unless only passkeys count), and it is recorded."""
    request.session.pop(SETUP_GRANT, None)
    if device is not None and not _counts(getattr(request.user, "otp_device", None)):
        # Only a passkey counts, and the session had given a code: now it has a passkey.
        otp_login(request, device)
    if not settings.REQUIRE_PASSKEY and not has_backup_codes(request.user):
        request.session[BACKUP_CODES_DUE] = True
    request.session.cycle_key()
    record(
        request=request,
        action=Action.USER_CHANGE,
        detail={"second_factor": "enrolled", "method": method},
    )


def _counts(device) -> bool:
    if device is None:
        return False
    return not settings.REQUIRE_PASSKEY or isinstance(device, WebAuthnCredential)


def session_second_factor_given(user) -> bool:
    """Whether the request's session has given a second factor that counts."""
    is_verified = getattr(user, "is_verified", None)
    if is_verified is None:
        return True  # not a request's user (no OTPMiddleware): nothing to ask
    return is_verified() and _counts(getattr(user, "otp_device", None))


# --- The authenticator app ----------------------------------------------------------------------


def enrolment_device(user: User) -> TOTPDevice:
    """The authenticator key being set up: the same one until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def enrolment_finish(*, request: HttpRequest, token: str) -> bool:
    """Confirms the app's key with a code from it and signs the session in with it; False for
    a wrong code (counted as a failed sign-in). Only inside the set-up journey."""
    user = request.user
    if not may_enrol(request) or settings.REQUIRE_PASSKEY:
        return False
    device = enrolment_device(user)
    if not device.verify_token(token):
        failed(request, user)
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    enrolment_finished(request=request, method="authenticator_app")
    return True


def backup_codes_issue(*, user: User) -> list[str]:
    """Ten new single-use backup codes; any earlier ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes")
    device.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def backup_codes_due(request: HttpRequest) -> list[str] | None:
    """The new backup codes, made and shown once after enrolment; None if none are due."""
    if not request.session.pop(BACKUP_CODES_DUE, False):
        return None
    return backup_codes_issue(user=request.user)


def verify(*, request: HttpRequest, token: str) -> bool:
    """Checks a code from the app, or a backup code (spent once used)."""
    user = request.user
    if not may_use_codes(user):
        failed(request, user)
        return False
    device = match_token(user, token.replace(" ", ""))
    if device is None:
        failed(request, user)
        return False
    second_factor_given(request, device)
    record(
        request=request,
        action=Action.SIGN_IN,
        detail={"second_factor": "backup_code" if isinstance(device, StaticDevice) else "totp"},
    )
    return True


# --- Shared ----------------------------------------------------------------------------------


def second_factor_given(request: HttpRequest, device) -> None:
    """Marks the session as having given its second factor, under a new session key: the key
    that travelled with the password alone must not open the verified session."""
    otp_login(request, device)
    request.session.cycle_key()


def failed(request: HttpRequest, user: User) -> None:
    # The same signal as a wrong password: django-axes counts it towards the lockout and the
    # audit trail records a sign_in_failed event (audit.receivers).
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """Where to go after the second step: a path of this service, else the start page."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"
