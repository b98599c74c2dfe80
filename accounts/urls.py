from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from accounts import passkeys, views, views_invitation, views_mfa, views_sso

# django-otp-webauthn's browser scripts find these by their names in its namespace; the
# views are ours (accounts.passkeys), which decide who may register and use a passkey.
passkey_urls = [
    path(
        "registration/begin/",
        passkeys.RegistrationBegin.as_view(),
        name="credential-registration-begin",
    ),
    path(
        "registration/complete/",
        passkeys.RegistrationComplete.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        passkeys.AuthenticationBegin.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        passkeys.AuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="js-i18n-catalog",
    ),
]

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("two-factor/", views_mfa.two_factor, name="two-factor"),
    path("passkeys/", include((passkey_urls, "otp_webauthn"))),
    # Single sign-on with an organisation's own identity provider (404 unless OIDC_ENABLED).
    path("sso/", views_sso.choose, name="sso"),
    path(
        "sso/<int:organisation_id>/start/", views_sso.SingleSignOnStart.as_view(), name="sso-start"
    ),
    path("sso/callback/", views_sso.SingleSignOnCallback.as_view(), name="sso-callback"),
    path("invitation/<str:token>/", views_invitation.invitation, name="invitation"),
    path(
        "second-factor/<str:token>/",
        views_invitation.second_factor_setup,
        name="second-factor-setup",
    ),
]
