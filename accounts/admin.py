"""Django admin for platform operators: organisations, users and the e-mail outbox."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential

from accounts.capabilities import second_factor_needed
from accounts.models import EmailAttempt, Organisation, OutboundEmail, User


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
