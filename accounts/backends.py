"""Authentication backends: Django's model backend, loading the signed-in user with their
organisation and vetting in one query (nearly every page needs them: the header, capabilities
scoped by area and allowed by vetting, the audit actor); and single sign-on's."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts import single_sign_on
from accounts.models import User


class UserWithOrganisationBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related(
                "organisation", "organisation__local_authority", "vetting"
            ).get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class SingleSignOnBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, for the one organisation's provider the callback names
    (request.single_sign_on, set by accounts.views_sso.SingleSignOnCallback, the only caller
    whose credentials, the code's nonce and verifier, fit this backend).

    The library exchanges the code, checks the ID token's RS256 signature against the
    provider's published keys and its nonce; here the token's issuer and audience are checked
    too, and its claims (not the userinfo endpoint's unsigned answer) name the user, through
    accounts.single_sign_on.user_for_claims, which refuses (Refused) rather than create one.
    """

    def __init__(self, *args, **kwargs) -> None:
        # The library reads its settings here; these are the provider's, known only once the
        # callback names it (authenticate).
        self.UserModel = User
        self.values: dict = {}
        self.provider = None

    def get_settings(self, attr, *args):
        return single_sign_on.setting(self.values, attr, *args)

    def authenticate(self, request, nonce=None, code_verifier=None):
        provider = getattr(request, "single_sign_on", None)
        if provider is None:
            return None
        self.provider = provider
        self.values = single_sign_on.library_settings(provider)
        # What the library's __init__ would have read.
        self.OIDC_OP_TOKEN_ENDPOINT = self.values["OIDC_OP_TOKEN_ENDPOINT"]
        self.OIDC_OP_USER_ENDPOINT = self.values["OIDC_OP_USER_ENDPOINT"]
        self.OIDC_OP_JWKS_ENDPOINT = self.values["OIDC_OP_JWKS_ENDPOINT"]
        self.OIDC_RP_CLIENT_ID = self.values["OIDC_RP_CLIENT_ID"]
        self.OIDC_RP_CLIENT_SECRET = self.values["OIDC_RP_CLIENT_SECRET"]
        self.OIDC_RP_SIGN_ALGO = self.values["OIDC_RP_SIGN_ALGO"]
        self.OIDC_RP_IDP_SIGN_KEY = self.values["OIDC_RP_IDP_SIGN_KEY"]
        return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        problem = single_sign_on.id_token_problem(
            payload, issuer=self.values["_issuer"], client_id=self.OIDC_RP_CLIENT_ID
        )
        if problem:
            raise SuspiciousOperation(f"ID token refused: {problem}")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        # The signed, checked ID token decides who this is.
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        user = single_sign_on.user_for_claims(
            request=self.request, provider=self.provider, claims=payload
        )
        user.single_sign_on_mfa_claimed = single_sign_on.mfa_claimed(
            provider=self.provider, claims=payload
        )
        return user

    def get_user(self, user_id):
        # Sessions are signed in with UserWithOrganisationBackend (single_sign_on.sign_in);
        # should one name this backend, it loads the user the same way.
        return UserWithOrganisationBackend().get_user(user_id)
