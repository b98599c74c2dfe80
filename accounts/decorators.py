"""The one way a view declares what it needs: @requires(Capability.X)."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts.capabilities import (
    Capability,
    has_capability,
    role_capabilities,
    second_factor_needed,
)
from accounts.views_vetting import vetting_lapsed

View = Callable[..., HttpResponse]


def requires(capability: Capability) -> Callable[[View], View]:
    """Anonymous users are sent to sign in; signed-in users without the capability get 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if second_factor_needed(request.user):
                # A password alone reaches nothing: first the code from the app.
                return redirect_to_login(request.get_full_path(), login_url=reverse("two-factor"))
            if not has_capability(request.user, capability):
                if capability in role_capabilities(request.user):
                    # Their role allows it, their vetting does not (any more): say so.
                    return vetting_lapsed(request)
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_capability = capability
        return wrapped

    return decorator
