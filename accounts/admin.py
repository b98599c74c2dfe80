"""Django admin for platform operators: organisations, users, single sign-on and the e-mail
outbox."""

import os

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential

from accounts.capabilities import second_factor_needed
from accounts.models import EmailAttempt, Organisation, OutboundEmail, SingleSignOn, User


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "ons_code", "local_authority"]
    list_filter = ["kind"]
    search_fields = ["name", "ons_code"]
    raw_id_fields = ["local_authority"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "get_full_name", "role", "organisation", "is_active"]
    list_filter = ["role", "is_active", "is_superuser"]
    raw_id_fields = ["organisation"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Service role", {"fields": ("role", "organisation", "job_title")}),
    )


class EmailAttemptInline(admin.TabularInline):
    model = EmailAttempt
    fields = ["at", "outcome", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """The outbox, read-only: what was sent to whom, and each try. What a message says (its
    link) is not shown: it is the user's alone."""

    list_display = ["created_at", "kind", "to", "state", "attempts", "sent_at"]
    list_filter = ["state", "kind"]
    search_fields = ["to"]
    exclude = ["personalisation", "claim"]
    inlines = [EmailAttemptInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SingleSignOn)
class SingleSignOnAdmin(admin.ModelAdmin):
    """An organisation's own identity provider (docs/operations/single-sign-on.md)."""

    list_display = [
        "organisation",
        "display_name",
        "issuer",
        "enabled",
        "trust_mfa_claim",
        "client_secret_set",
    ]
    list_filter = ["enabled", "trust_mfa_claim"]
    search_fields = ["organisation__name", "display_name", "issuer"]
    raw_id_fields = ["organisation"]
    readonly_fields = ["client_secret_set", "created_at", "updated_at"]
    # An issuer typed without a scheme is https (Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("organisation", "display_name", "enabled")}),
        (
            "The provider",
            {
                "description": "Register the service with the provider as a web application "
                "whose redirect URI is https://YOUR-HOST/accounts/sso/callback/, with the "
                "scopes openid, email and profile.",
                "fields": (
                    "issuer",
                    "client_id",
                    "client_secret_variable",
                    "client_secret_set",
                ),
            },
        ),
        ("Who may sign in", {"fields": ("allowed_domains", "email_verified_claim")}),
        ("The second factor", {"fields": ("trust_mfa_claim", "mfa_claim", "mfa_values")}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(boolean=True, description="client secret set")
    def client_secret_set(self, provider: SingleSignOn) -> bool:
        # Whether this instance has the variable; never its value.
        return bool(os.environ.get(provider.client_secret_variable))


# django-otp's admin shows a user's TOTP key as a QR code: whoever sees it can make that
# user's codes. Operators do not get it, nor the passkeys' admin: a lost passkey or phone is
# handled by the backup codes or the LA admin's reset (accounts.services.second_factor_reset).
for device_model in (TOTPDevice, StaticDevice, WebAuthnCredential, WebAuthnAttestation):
    if admin.site.is_registered(device_model):
        admin.site.unregister(device_model)


# The operator console shows audit data: like every other page, it needs the second factor
# too (sign in at /accounts/login/, which asks for it, then come back).
_staff_check = admin.site.has_permission


def _staff_with_second_factor(request) -> bool:
    return _staff_check(request) and not second_factor_needed(request.user)


admin.site.has_permission = _staff_with_second_factor
