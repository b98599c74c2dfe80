"""Passkeys (WebAuthn, FIDO2) as the second factor, through django-otp-webauthn.

A passkey is bound to the service's host name (the relying party) and a browser only uses it
on that origin, so a look-alike site cannot relay it: the phishing-resistant factor.
The library does the cryptography and the browser side; this module decides who may take
part (accounts.mfa) and what is recorded:

- registering a passkey needs a session that has already given its second factor (adding
  another passkey) or one that holds a set-up grant (the invitation or reset journey);
  a password alone never enrols one;
- using one is a second factor after the password (no passwordless sign-in: the setting
  OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN is off); the session key is cycled when it is
  accepted; a failure counts towards the django-axes lockout as a wrong code does;
- each is an audit event.
"""

import json
import logging

from django.conf import settings
from django.http import HttpRequest
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from accounts import mfa
from audit.models import Action
from audit.services import record

logger = logging.getLogger(__name__)


def relying_party_id(request: HttpRequest) -> str:
    """WEBAUTHN_RP_ID, or the request's host name (already checked against ALLOWED_HOSTS)."""
    return settings.WEBAUTHN_RP_ID or request.get_host().rsplit(":", 1)[0].strip("[]")


class PasskeyHelper(WebAuthnHelper):
    def get_allowed_origins(self) -> list[str]:
        """The configured origins, and this request's own when it is the relying party's."""
        origins = list(super().get_allowed_origins())
        host = self.request.get_host()
        name = host.rsplit(":", 1)[0].strip("[]")
        rp_id = relying_party_id(self.request)
        if name == rp_id or name.endswith("." + rp_id):
            origins.append(f"{self.request.scheme}://{host}")
        return origins

    def get_credential_display_name(self, user) -> str:
        return user.get_username()


class _Refused(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_detail = "Set up a passkey from the link your local authority admin sent you."
    default_code = "enrolment_not_allowed"


class RegistrationBegin(BeginCredentialRegistrationView):
    def check_can_register(self) -> None:
        if not mfa.may_register_passkey(self.request):
            raise _Refused()


class RegistrationComplete(CompleteCredentialRegistrationView):
    def check_can_register(self) -> None:
        if not mfa.may_register_passkey(self.request):
            raise _Refused()

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        if response.status_code == 200:
            device = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"])
            mfa.enrolment_finished(request=self.request, method="passkey", device=device)
        return response


class AuthenticationBegin(BeginCredentialAuthenticationView):
    pass


class AuthenticationComplete(CompleteCredentialAuthenticationView):
    def get_success_url(self) -> str:
        return mfa.safe_next(self.request, self.request.GET.get("next"))

    def complete_auth(self, device) -> None:
        # Only as a second factor: the password came first (passwordless is off).
        mfa.second_factor_given(self.request, device)
        record(request=self.request, action=Action.SIGN_IN, detail={"second_factor": "passkey"})

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        if response.status_code >= 400 and self.request.user.is_authenticated:
            # A passkey that did not verify counts as a wrong code.
            mfa.failed(self.request, self.request.user)
        return response
