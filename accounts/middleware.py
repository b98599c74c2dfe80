"""Signed-in sessions end as soon as their account is locked out."""

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.selectors import username_locked_out


class LockedAccountMiddleware:
    """A lockout stops an account at once, including sessions already signed in.

    (Django already treats a deactivated user's session as signed out.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and username_locked_out(username=user.get_username()):
            logout(request)
            return redirect(f"{reverse('login')}?locked=1")
        return self.get_response(request)
