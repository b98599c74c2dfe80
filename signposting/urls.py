"""Top-level URLs. Every pattern must also be in tests/security/test_authorization_matrix.py."""

from django.contrib import admin
from django.urls import include, path

from audit.oversight import views_notices
from signposting import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("privacy/", views.privacy, name="privacy"),
    path("cookies/", views.cookies, name="cookies"),
    path("help/", views.help_page, name="help"),
    path("accounts/", include("accounts.urls")),
    path("manage/users/", include("accounts.urls_users")),
    path("audit/", include("audit.oversight.urls")),
    path("notices/", views_notices.notices, name="notices"),
    path("", include("children.urls")),
    path("django-admin/", admin.site.urls),
]

handler400 = "signposting.views.bad_request"
handler403 = "signposting.views.permission_denied"
handler404 = "signposting.views.page_not_found"
handler500 = "signposting.views.server_error"
