"""The set-up links: a new user's invitation (set a password, then a second factor, in one
go) and the link an LA admin's reset gives (the password again, then a new second factor).
Each works once, within INVITATION_HOURS; they are the only ways to enrol a second factor."""

from django.conf import settings
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import mfa, services
from accounts.forms_users import PasswordAgainForm, SetPasswordForm
from accounts.models import Invitation
from accounts.selectors import invitation_usable

BACKEND = "accounts.backends.UserWithOrganisationBackend"


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    if invitation_usable(token=token) is None:
        return render(request, "accounts/invitation_invalid.html", status=410)
    form = SetPasswordForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            user = services.invitation_accept(
                token=token, password=form.cleaned_data["password"], request=request
            )
        except services.InvitationInvalid:
            return render(request, "accounts/invitation_invalid.html", status=410)
        except ValidationError as error:
            form.add_error("password", error.messages)
        else:
            return _signed_in_to_set_up(request, user)
    return render(request, "accounts/invitation.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_setup(request: HttpRequest, token: str) -> HttpResponse:
    found = invitation_usable(token=token, purpose=Invitation.Purpose.SECOND_FACTOR)
    if found is None or not found.user.is_active:
        return render(request, "accounts/invitation_invalid.html", status=410)
    form = PasswordAgainForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            user = services.setup_link_accept(
                token=token, password=form.cleaned_data["password"], request=request
            )
        except services.InvitationInvalid:
            return render(request, "accounts/invitation_invalid.html", status=410)
        except services.WrongPassword:
            form.add_error("password", "Enter the password you sign in with")
        else:
            return _signed_in_to_set_up(request, user)
    return render(
        request, "accounts/second_factor_setup.html", {"form": form, "person": found.user}
    )


def _signed_in_to_set_up(request: HttpRequest, user) -> HttpResponse:
    """Signs the user in with the password just given, and (with two-factor sign-in on)
    lets this session, and only it, set up the second factor now."""
    login(request, user, backend=BACKEND)
    if not settings.REQUIRE_MFA:
        return redirect("home")
    mfa.setup_grant(request)
    return redirect("two-factor")
