"""Two-factor sign-in (django-otp): a TOTP device from an authenticator app, and backup codes.

When REQUIRE_MFA is on, a session that has given only its password holds no capability
(accounts.capabilities) and every page that needs one sends it here first. A wrong code
counts as a failed sign-in: django-axes locks the account after the same number of
failures as for passwords, and the audit trail records each one.
"""

import secrets

from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import Action
from audit.services import record

BACKUP_CODES = 10


def enrolled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def enrolment_device(user: User) -> TOTPDevice:
    """The authenticator key being set up: the same one until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def enrolment_finish(*, request: HttpRequest, token: str) -> list[str] | None:
    """Confirms the key with a code from the app, signs the session in with it and returns
    new backup codes (shown once); None for a wrong code (counted as a failed sign-in)."""
    user = request.user
    device = enrolment_device(user)
    if not device.verify_token(token):
        _failed(request, user)
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = backup_codes_issue(user=user)
    second_factor_given(request, device)
    record(request=request, action=Action.USER_CHANGE, detail={"second_factor": "enrolled"})
    return codes


def backup_codes_issue(*, user: User) -> list[str]:
    """Ten new single-use backup codes; any earlier ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes")
    device.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def verify(*, request: HttpRequest, token: str) -> bool:
    """Checks a code from the app, or a backup code (spent once used)."""
    user = request.user
    device = match_token(user, token.replace(" ", ""))
    if device is None:
        _failed(request, user)
        return False
    second_factor_given(request, device)
    record(
        request=request,
        action=Action.SIGN_IN,
        detail={"second_factor": "backup_code" if isinstance(device, StaticDevice) else "totp"},
    )
    return True


def second_factor_given(request: HttpRequest, device) -> None:
    """Marks the session as having given its second factor, under a new session key: the key
    that travelled with the password alone must not open the verified session."""
    otp_login(request, device)
    request.session.cycle_key()


def _failed(request: HttpRequest, user: User) -> None:
    # The same signal as a wrong password: django-axes counts it towards the lockout and the
    # audit trail records a sign_in_failed event (audit.receivers).
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )
