"""Sign-in, sign-out and the lockout page."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.capabilities import Capability, has_capability
from accounts.forms import SignInForm
from accounts.selectors import single_sign_on_offered


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        """Where a sign-in leads without a ?next=: users who search land on the search page
        (what they came for), everyone else on Home."""
        if has_capability(self.request.user, Capability.SEARCH_CHILDREN):
            return reverse("children:search")
        return super().get_default_redirect_url()

    def get_success_url(self) -> str:
        url = super().get_success_url()
        # Just signed in with the password (the user has no verification yet), or already
        # signed in without the second factor: the second step before anything else.
        is_verified = getattr(self.request.user, "is_verified", None)
        if settings.REQUIRE_MFA and not (is_verified and is_verified()):
            return f"{reverse('two-factor')}?{urlencode({'next': url})}"
        return url

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["expired"] = "expired" in self.request.GET
        context["locked"] = "locked" in self.request.GET
        context["single_sign_on"] = single_sign_on_offered()
        return context


class SignOutView(auth_views.LogoutView):
    """Sign-out is a POST (CSRF-protected); the session is deleted on the server."""

    template_name = "accounts/signed_out.html"
    next_page = None


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked username or IP: the same page whoever was tried."""
    return render(request, "accounts/locked_out.html", status=429)
