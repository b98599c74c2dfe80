"""The provider's ID tokens carry each person's e-mail address, whether it is verified, and
how they authenticated (amr), from people.PEOPLE."""

from oauth2_provider.oauth2_validators import OAuth2Validator

from tests.oidc_provider.people import PEOPLE


class ClaimsValidator(OAuth2Validator):
    # amr comes with the openid scope (django-oauth-toolkit leaves out claims it cannot place).
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "amr": "openid"}

    def get_additional_claims(self, request):
        person = PEOPLE[request.user.username]
        return {"name": request.user.username.title(), **person}
