"""Test-only URLs that fail on purpose, to check the error pages."""

from django.core.exceptions import PermissionDenied
from django.urls import include, path


def boom(request):
    raise RuntimeError("sentinel-secret: this text must never reach the page")


def forbidden(request):
    raise PermissionDenied("sentinel-detail")


urlpatterns = [
    path("boom/", boom),
    path("forbidden/", forbidden),
    path("", include("signposting.urls")),
]

handler403 = "signposting.views.permission_denied"
handler500 = "signposting.views.server_error"
