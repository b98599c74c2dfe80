"""A new user's invitation link: set a password, once, within INVITATION_HOURS."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms_users import SetPasswordForm
from accounts.selectors import invitation_usable


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    if not invitation_usable(token=token):
        return render(request, "accounts/invitation_invalid.html", status=410)
    form = SetPasswordForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.invitation_accept(
                token=token, password=form.cleaned_data["password"], request=request
            )
        except services.InvitationInvalid:
            return render(request, "accounts/invitation_invalid.html", status=410)
        except ValidationError as error:
            form.add_error("password", error.messages)
        else:
            return redirect(reverse("login") + "?password_set=1")
    return render(request, "accounts/invitation.html", {"form": form})
