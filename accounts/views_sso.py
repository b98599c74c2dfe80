"""Single sign-on's pages: the work e-mail address (which provider), the start of a provider's
sign-in and its callback (mozilla-django-oidc's views, configured per provider). None of them
answers unless OIDC_ENABLED is on (404). The rules are in accounts.single_sign_on."""

from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import mfa, single_sign_on
from accounts.capabilities import Capability, has_capability
from accounts.forms import SingleSignOnForm
from accounts.models import SingleSignOn
from accounts.selectors import single_sign_on_for_email, single_sign_on_of
from accounts.single_sign_on import ProviderUnavailable, Refusal, Refused
from accounts.views import locked_out

# The refusal page's heading, by reason (its body says what to do).
HEADINGS = {
    Refusal.EMAIL_NOT_VERIFIED: "Your email address is not verified",
    Refusal.DOMAIN_NOT_ALLOWED: "You cannot sign in with this email address",
    Refusal.NO_ACCOUNT: "You do not have an account",
    Refusal.OTHER_ORGANISATION: "Your account belongs to another organisation",
    Refusal.SUSPENDED: "Your account is suspended",
    Refusal.NO_EMAIL: "Your email address was not given",
    Refusal.PROVIDER: "You were not signed in",
}


def _switched_on() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404


@never_cache
@require_http_methods(["GET", "POST"])
def choose(request: HttpRequest) -> HttpResponse:
    """Sign in with your council account: the work e-mail address, whose domain leads to the
    organisation's provider (or asks which organisation, where several share it)."""
    _switched_on()
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    form = SingleSignOnForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        provider = _provider_chosen(form)
        if provider is not None:
            request.session[single_sign_on.LOGIN_HINT] = form.cleaned_data["email"]
            return _continue_to(request, provider=provider, next_url=next_url)
    return render(request, "accounts/sso.html", {"form": form, "next": next_url})


def _provider_chosen(form: SingleSignOnForm) -> SingleSignOn | None:
    """The provider of the address's domain (or the organisation chosen among those sharing
    it); None, with the form's error, when there is none."""
    providers = single_sign_on_for_email(email=form.cleaned_data["email"])
    if not providers:
        form.add_error(
            "email",
            "Your organisation does not sign in to this service with its own account: "
            "sign in with your email address and password",
        )
        return None
    return providers[0] if len(providers) == 1 else form.chosen(providers)


def _continue_to(request: HttpRequest, *, provider: SingleSignOn, next_url: str) -> HttpResponse:
    start = reverse("sso-start", args=[provider.organisation_id])
    # A link on a page of its own, not a redirect: the Content-Security-Policy lets forms
    # lead only to this service (form-action 'self'), redirects included.
    return render(
        request,
        "accounts/sso_continue.html",
        {
            "provider": provider,
            "start": f"{start}?{urlencode({'next': next_url})}" if next_url else start,
        },
    )


# Neither the provider's address with its state nor the callback's answer may be kept by any
# cache.
@method_decorator(never_cache, name="dispatch")
class SingleSignOnStart(OIDCAuthenticationRequestView):
    """Sends the browser to the organisation's provider, with a new state, nonce and PKCE
    challenge kept in the session (the library's), and whose provider it is beside them."""

    def __init__(self, **kwargs) -> None:
        # The library reads its settings here; these are the provider's (dispatch).
        View.__init__(self, **kwargs)
        self.values: dict = {}

    def get_settings(self, attr, *args):
        return single_sign_on.setting(self.values, attr, *args)

    def dispatch(self, request: HttpRequest, organisation_id: int) -> HttpResponse:
        _switched_on()
        self.provider = single_sign_on_of(organisation_id=organisation_id)
        if self.provider is None:
            raise Http404
        try:
            self.values = single_sign_on.library_settings(self.provider)
        except ProviderUnavailable as error:
            return unavailable(request, self.provider, error)
        self.OIDC_OP_AUTH_ENDPOINT = self.values["OIDC_OP_AUTHORIZATION_ENDPOINT"]
        self.OIDC_RP_CLIENT_ID = self.values["OIDC_RP_CLIENT_ID"]
        return super().dispatch(request)

    def get(self, request: HttpRequest) -> HttpResponse:
        response = super().get(request)
        state = parse_qs(urlsplit(response.url).query)["state"][0]
        single_sign_on.remember_organisation(request, state=state, provider=self.provider)
        return response

    def get_extra_params(self, request: HttpRequest) -> dict:
        hint = request.session.pop(single_sign_on.LOGIN_HINT, "")
        return {"login_hint": hint} if hint else {}


@method_decorator(never_cache, name="dispatch")
class SingleSignOnCallback(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back. The library checks the state against the
    session and drops it (a state works once), exchanges the code with the PKCE verifier and
    checks the ID token (accounts.backends.SingleSignOnBackend); then the user is signed in
    here, or told why not (a 4xx page; a failed sign-in in the audit trail, and for
    django-axes when the provider named an address)."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        _switched_on()
        self.provider: SingleSignOn | None = None
        return super().dispatch(request, *args, **kwargs)

    def get_settings(self, attr, *args):
        return single_sign_on.setting({}, attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state", "")
        self.provider = single_sign_on.provider_for_state(request, state)
        if self.provider is None:
            # Not a sign-in this browser started, or one it finished already.
            return self._refused(Refused(Refusal.STATE))
        if request.GET.get("error") or not request.GET.get("code"):
            # The provider's own answer (the user cancelled, or it refused them there): the
            # state is dropped, as the library does, so that it cannot be used again.
            request.session["oidc_states"].pop(state, None)
            request.session.modified = True
            return self._refused(Refused(Refusal.PROVIDER))
        request.single_sign_on = self.provider
        try:
            return super().get(request)
        except Refused as refusal:
            return self._refused(refusal)
        except SuspiciousOperation:
            # The ID token's signature, nonce, issuer or audience (accounts.backends).
            return self._refused(Refused(Refusal.TOKEN))
        except requests.HTTPError as error:
            if error.response is not None and 400 <= error.response.status_code < 500:
                # The code refused at the token endpoint: used already, expired, or not this
                # browser's (the PKCE verifier does not match).
                return self._refused(Refused(Refusal.TOKEN))
            return unavailable(request, self.provider, error)
        except (requests.RequestException, ProviderUnavailable) as error:
            return unavailable(request, self.provider, error)

    def login_success(self) -> HttpResponse:
        request, user = self.request, self.user
        stands_in = single_sign_on.sign_in(
            request=request,
            user=user,
            provider=self.provider,
            mfa_claimed=user.single_sign_on_mfa_claimed,
        )
        next_url = request.session.pop("oidc_login_next", None)
        if next_url:
            next_url = mfa.safe_next(request, next_url)
        elif has_capability(user, Capability.SEARCH_CHILDREN):
            # As after a password: users who search land on the search page.
            next_url = reverse("children:search")
        else:
            next_url = reverse(settings.LOGIN_REDIRECT_URL)
        if settings.REQUIRE_MFA and not stands_in:
            # This service's own second factor, as after a password.
            return HttpResponseRedirect(f"{reverse('two-factor')}?{urlencode({'next': next_url})}")
        return HttpResponseRedirect(next_url)

    def login_failure(self) -> HttpResponse:
        # The backend names a user or raises (Refused and the rest, above): not reached but
        # by a session the library cannot read its states from.
        return self._refused(Refused(Refusal.STATE))

    def _refused(self, refusal: Refused) -> HttpResponse:
        request = self.request
        single_sign_on.refuse(request=request, provider=self.provider, refusal=refusal)
        if refusal.reason == Refusal.LOCKED:
            return locked_out(request)
        status = 400 if refusal.reason in (Refusal.STATE, Refusal.TOKEN) else 403
        return render(
            request,
            "accounts/sso_refused.html",
            {
                "heading": HEADINGS.get(refusal.reason, "Signing in did not finish"),
                "reason": refusal.reason.value,
                "provider": self.provider,
                "domain": refusal.username.rpartition("@")[2],
            },
            status=status,
        )


def unavailable(request: HttpRequest, provider: SingleSignOn, error: Exception) -> HttpResponse:
    """The provider cannot be used just now (not the user's doing): say so, and offer the
    password. Logged for the operators, without the secret or the user."""
    single_sign_on.logger.error(
        "Single sign-on of organisation %s unavailable: %s", provider.organisation_id, error
    )
    return render(request, "accounts/sso_unavailable.html", {"provider": provider}, status=503)
