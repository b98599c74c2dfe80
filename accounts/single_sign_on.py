"""Single sign-on with an organisation's own identity provider (OpenID Connect), optional and
per organisation (accounts.SingleSignOn, set up by platform operators; OIDC_ENABLED turns the
whole of it on). Why it is built so: docs/decisions/0008-single-sign-on.md.

mozilla-django-oidc runs the protocol (accounts.backends, accounts.views_sso): the request
with state, nonce and PKCE, the code's exchange, the ID token's RS256 signature against the
provider's published keys, the nonce. It reads its configuration through get_settings, which
here answers from the provider's discovery document and its row (library_settings), never
from Django's settings. What is ours, here: which provider, the ID token's issuer and
audience (the library leaves them), whom the token names (an existing, active user of that
organisation with a verified address at one of its domains; never a new user), and whether
the provider's multi-factor claim stands for the second factor.
"""

import hashlib
import logging
import os
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import requests
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpRequest

from accounts.models import SingleSignOn, SingleSignOnDevice, User, provider_url_problem
from accounts.selectors import single_sign_on_of
from audit.models import Action
from audit.receivers import SIGN_IN_DETAIL
from audit.services import record

logger = logging.getLogger(__name__)

# Every call to a provider (discovery, token, keys) gives up after this long: a provider that
# hangs must not hold a gunicorn worker.
TIMEOUT_SECONDS = 10
# The discovery document names the endpoints and the keys' address; they change rarely. The
# keys themselves are fetched at each sign-in, so a provider's key rotation needs no wait.
DISCOVERY_CACHE_SECONDS = 3600
SCOPES = "openid email profile"
# A session signed in by single sign-on is then like any other: its user is loaded by the
# backend every password sign-in uses.
SESSION_BACKEND = "accounts.backends.UserWithOrganisationBackend"
# The work e-mail address typed on the single sign-on page, passed to the provider as a
# login_hint (it fills in the provider's own form).
LOGIN_HINT = "signposting_sso_login_hint"
# Beside the library's own entry for a state (nonce, code verifier), whose organisation's
# provider the sign-in was started for.
STATE_ORGANISATION = "signposting_organisation"
MAX_USERNAME = 254


class ProviderUnavailable(Exception):
    """The provider cannot be used now: its discovery document could not be read or is not
    usable, it could not be reached, or its client secret is not set. Says nothing about the
    user (not a failed sign-in)."""


class Refusal(StrEnum):
    # The provider vouched for an address (these count for django-axes against it).
    EMAIL_NOT_VERIFIED = "email_not_verified"
    DOMAIN_NOT_ALLOWED = "domain_not_allowed"
    NO_ACCOUNT = "no_account"
    OTHER_ORGANISATION = "other_organisation"
    SUSPENDED = "suspended"
    LOCKED = "locked"
    # No address to count against (the audit trail has them).
    NO_EMAIL = "no_email"
    STATE = "state"  # a state this browser did not start, or one used already
    TOKEN = "token"  # noqa: S105 (a reason: the code or the ID token refused, e.g. a reused code)
    PROVIDER = "provider"  # the provider answered with an error (cancelled, or refused there)


class Refused(Exception):
    """A single sign-on that does not sign anyone in, and why (shown to the user)."""

    def __init__(self, reason: Refusal, *, username: str = "") -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.username = username[:MAX_USERNAME]


# --- The provider: discovery and the library's settings ----------------------------------------


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization: str
    token: str
    jwks: str
    token_auth_basic: bool


def endpoints(provider: SingleSignOn) -> Endpoints:
    """The provider's endpoints, from its discovery document (cached; read again after
    DISCOVERY_CACHE_SECONDS, or after an operator changes the issuer). Raises
    ProviderUnavailable."""
    key = "signposting:sso:discovery:" + hashlib.sha256(provider.issuer.encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = _discover(provider.issuer)
        cache.set(key, found, DISCOVERY_CACHE_SECONDS)
    return Endpoints(**found)


def _discover(issuer: str) -> dict[str, Any]:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(f"discovery: {type(error).__name__}") from error
    if not isinstance(document, dict):
        raise ProviderUnavailable("discovery: not a JSON object")
    # OpenID Connect Discovery 1.0, 4.3: the document is the issuer's own. (A multi-tenant
    # address such as Entra ID's /common/ fails here: a council's tenant is named.)
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise ProviderUnavailable("discovery: the document names another issuer")
    urls = {
        "authorization": document.get("authorization_endpoint"),
        "token": document.get("token_endpoint"),
        "jwks": document.get("jwks_uri"),
    }
    for name, value in urls.items():
        if not isinstance(value, str) or provider_url_problem(value):
            raise ProviderUnavailable(f"discovery: no usable {name} endpoint")
    if "RS256" not in (document.get("id_token_signing_alg_values_supported") or []):
        raise ProviderUnavailable("discovery: ID tokens are not signed with RS256")
    # client_secret_post where offered (no encoding questions about the secret), else basic,
    # the default when the document names none.
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return asdict(
        Endpoints(
            issuer=document["issuer"], **urls, token_auth_basic="client_secret_post" not in methods
        )
    )


def client_secret(provider: SingleSignOn) -> str:
    """The provider's client secret, from the environment variable its row names."""
    secret = os.environ.get(provider.client_secret_variable, "")
    if not secret:
        raise ProviderUnavailable(f"{provider.client_secret_variable} is not set")
    return secret


def library_settings(provider: SingleSignOn) -> dict[str, Any]:
    """mozilla-django-oidc's settings for this provider: its views' and backend's get_settings
    answer from these. Raises ProviderUnavailable."""
    found = endpoints(provider)
    return {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": found.authorization,
        "OIDC_OP_TOKEN_ENDPOINT": found.token,
        # The signed ID token's claims decide (accounts.backends); no userinfo call.
        "OIDC_OP_USER_ENDPOINT": None,
        "OIDC_OP_JWKS_ENDPOINT": found.jwks,
        "OIDC_RP_CLIENT_ID": provider.client_id,
        "OIDC_RP_CLIENT_SECRET": client_secret(provider),
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_IDP_SIGN_KEY": None,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_RP_SCOPES": SCOPES,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_PKCE_CODE_VERIFIER_SIZE": 64,
        "OIDC_STATE_SIZE": 32,
        "OIDC_NONCE_SIZE": 32,
        "OIDC_TOKEN_USE_BASIC_AUTH": found.token_auth_basic,
        "OIDC_VERIFY_SSL": True,
        "OIDC_TIMEOUT": TIMEOUT_SECONDS,
        "OIDC_PROXY": None,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "sso-callback",
        "OIDC_REDIRECT_FIELD_NAME": "next",
        "OIDC_CREATE_USER": False,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "_issuer": found.issuer,
    }


def setting(values: dict[str, Any], attr: str, *default: Any) -> Any:
    """get_settings for the library's classes: the provider's values, else the library's own
    default; never Django's settings."""
    if attr in values:
        return values[attr]
    if default:
        return default[0]
    raise ImproperlyConfigured(f"Single sign-on has no setting {attr}")


def remember_organisation(request: HttpRequest, *, state: str, provider: SingleSignOn) -> None:
    """Notes, with the library's entry for the state, whose provider it was started for."""
    entry = request.session.get("oidc_states", {}).get(state)
    if isinstance(entry, dict):
        entry[STATE_ORGANISATION] = provider.organisation_id
        request.session.modified = True


def provider_for_state(request: HttpRequest, state: str) -> SingleSignOn | None:
    """The provider this browser started the sign-in with `state` for; None for a state it
    did not start (forged), one used already (the library drops it), or a provider turned
    off since."""
    states = request.session.get("oidc_states")
    entry = states.get(state) if isinstance(states, dict) and state else None
    if not isinstance(entry, dict) or not isinstance(entry.get(STATE_ORGANISATION), int):
        return None
    return single_sign_on_of(organisation_id=entry[STATE_ORGANISATION])


# --- The ID token and whom it names ---------------------------------------------------------


def id_token_problem(claims: dict[str, Any], *, issuer: str, client_id: str) -> str | None:
    """What is wrong with a signed ID token's claims for this client (OpenID Connect Core 1.0,
    3.1.3.7), or None. Its signature, expiry and nonce are checked by the library; the issuer
    and the audience are not (it turns PyJWT's audience check off)."""
    if claims.get("iss") != issuer:
        return "the token's issuer is not the provider's"
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        return "the token is not for this service"
    if len(audiences) > 1 and claims.get("azp") != client_id:
        return "the token was given to another party"
    if not isinstance(claims.get("exp"), int | float) or not claims.get("sub"):
        return "the token has no expiry or no subject"
    return None


def user_for_claims(*, request: HttpRequest, provider: SingleSignOn, claims: dict) -> User:
    """The user a verified ID token names: the provider says the address is verified, its
    domain is one of the organisation's, and an active user of that organisation has it as
    their username (case aside). No user is ever created. Raises Refused."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise Refused(Refusal.NO_EMAIL)
    username = email.strip().lower()
    # As for a password: a locked username (or client address) is refused whatever else.
    if AxesProxyHandler.is_locked(request, credentials={"username": username}):
        raise Refused(Refusal.LOCKED, username=username)
    if not _true(claims.get(provider.email_verified_claim)):
        raise Refused(Refusal.EMAIL_NOT_VERIFIED, username=username)
    if username.rpartition("@")[2] not in provider.domains:
        raise Refused(Refusal.DOMAIN_NOT_ALLOWED, username=username)
    # Platform operators sign in with their password and second factor, never by a council's
    # provider (whose multi-factor claim could otherwise stand for theirs).
    found = list(User.objects.filter(username__iexact=username, is_superuser=False)[:2])
    if len(found) != 1:
        raise Refused(Refusal.NO_ACCOUNT, username=username)
    user = found[0]
    if user.organisation_id != provider.organisation_id:
        raise Refused(Refusal.OTHER_ORGANISATION, username=username)
    if not user.is_active:
        raise Refused(Refusal.SUSPENDED, username=username)
    return user


def _true(value: Any) -> bool:
    # JSON true; some providers send the text "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


def mfa_claimed(*, provider: SingleSignOn, claims: dict) -> bool:
    """Whether the ID token says the user gave more than one factor at the provider: its
    multi-factor claim (amr, a list, or acr, a text) holds one of the organisation's values."""
    value = claims.get(provider.mfa_claim)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return any(isinstance(item, str) and item in provider.mfa_value_list for item in values)


def stands_for_second_factor(*, provider: SingleSignOn, mfa_claimed: bool) -> bool:
    """Whether the provider's multi-factor sign-in is this service's second factor: only where
    two-factor sign-in is on, the organisation trusts the claim and this token carries it, and
    not where only a passkey counts (REQUIRE_PASSKEY: a provider's factor may be a text
    message)."""
    return (
        settings.REQUIRE_MFA
        and not settings.REQUIRE_PASSKEY
        and provider.trust_mfa_claim
        and mfa_claimed
    )


# --- Writes: signing in, and refusing --------------------------------------------------------


@transaction.atomic
def sign_in(*, request: HttpRequest, user: User, provider: SingleSignOn, mfa_claimed: bool) -> bool:
    """Signs the user in as a password sign-in does (a new session key; the same session rules
    afterwards) and records it as single sign-on, with whether the provider said it used more
    than one factor. Returns whether that stood for the second factor: if not, and two-factor
    sign-in is on, the session holds no capability until the user gives this service's own."""
    stands_in = stands_for_second_factor(provider=provider, mfa_claimed=mfa_claimed)
    detail: dict[str, Any] = {
        "method": "single_sign_on",
        "provider": provider.display_name,
        "provider_mfa_claimed": mfa_claimed,
        "provider_mfa_trusted": provider.trust_mfa_claim,
    }
    if stands_in:
        device, _ = SingleSignOnDevice.objects.update_or_create(
            user=user, defaults={"name": provider.display_name[:64], "confirmed": True}
        )
        # django-otp keeps it in the session as auth.login signals the sign-in
        # (django_otp._handle_auth_login), as its own forms do with a verified device.
        user.otp_device = device
        detail["second_factor"] = "identity_provider"
    setattr(request, SIGN_IN_DETAIL, detail)
    auth.login(request, user, backend=SESSION_BACKEND)
    return stands_in


def refuse(*, request: HttpRequest, provider: SingleSignOn | None, refusal: Refused) -> None:
    """Records a refused single sign-on. One that names an account is a failed sign-in like a
    wrong password: django-axes counts it against the address and the client's IP, and the
    audit trail records it (audit.receivers). One before any address is known (a forged or
    used state, a refused code or token, the provider's own error) is in the audit trail only:
    there is no account to count it against, and axes would count it against "no username"."""
    detail = {
        "method": "single_sign_on",
        "provider": provider.display_name if provider else "",
        "reason": refusal.reason.value,
    }
    if refusal.username:
        user_login_failed.send(
            sender=__name__,
            credentials={"username": refusal.username},
            request=request,
            audit_detail=detail,
        )
    else:
        record(request=request, action=Action.SIGN_IN_FAILED, outcome="denied", detail=detail)
