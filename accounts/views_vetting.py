"""The page a user sees when their vetting no longer allows what their role does."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.capabilities import vetting_of
from accounts.selectors import area_admins


def vetting_lapsed(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/vetting_lapsed.html",
        {"status": vetting_of(request.user), "admins": area_admins(user=request.user)},
        status=403,
    )
