"""Organisations (local authorities and their partner agencies) and the users who belong to them."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_otp.models import Device

ONS_CODE = RegexValidator(
    r"^E(06|08|09|10)\d{6}$",
    "Enter an ONS code for an English local authority, like E09000033",
)


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    DATA_MANAGER = "data_manager", "Data manager"
    LA_ADMIN = "la_admin", "Local authority admin"
    AUDITOR = "auditor", "Auditor"


class Organisation(models.Model):
    class Kind(models.TextChoices):
        LOCAL_AUTHORITY = "local_authority", "Local authority"
        PARTNER_AGENCY = "partner_agency", "Partner agency"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ons_code = models.CharField(
        "ONS code", max_length=9, unique=True, null=True, blank=True, validators=[ONS_CODE]
    )
    local_authority = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="partner_agencies",
        limit_choices_to={"kind": Kind.LOCAL_AUTHORITY},
        help_text="The local authority area a partner agency works in",
    )
    safeguarding_contact = models.CharField(
        max_length=300,
        blank=True,
        help_text="Who practitioners should contact about a restricted or sensitive record",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="organisation_kind_shape",
                condition=(
                    Q(
                        kind="local_authority",
                        ons_code__isnull=False,
                        local_authority__isnull=True,
                    )
                    | Q(kind="partner_agency", ons_code__isnull=True, local_authority__isnull=False)
                ),
                violation_error_message=(
                    "A local authority has an ONS code; a partner agency belongs to a local "
                    "authority instead"
                ),
            ),
            models.UniqueConstraint(
                fields=["local_authority", "name"],
                name="partner_agency_name_unique_in_area",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_local_authority(self) -> bool:
        return self.kind == self.Kind.LOCAL_AUTHORITY

    @property
    def area_id(self) -> int | None:
        """The id of the local authority whose area this organisation works in."""
        return self.pk if self.is_local_authority else self.local_authority_id

    @property
    def area(self) -> "Organisation | None":
        """The local authority whose area this organisation works in (itself, for one)."""
        return self if self.is_local_authority else self.local_authority


class User(AbstractUser):
    """A person who signs in. The username is their work e-mail address."""

    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    job_title = models.CharField(max_length=150, blank=True)
    # When the user last opened their notices (audit.Notice): newer ones are counted as unread.
    notices_read_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UserManager()

    class Meta:
        constraints = [
            # Everyone but a platform operator (superuser) has a role and an organisation.
            models.CheckConstraint(
                name="user_has_role_and_organisation",
                condition=Q(is_superuser=True) | (Q(organisation__isnull=False) & ~Q(role="")),
                violation_error_message="Choose a role and an organisation",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Vetting(models.Model):
    """What entitles a user to their access, and who recorded it: an enhanced DBS check,
    the service's training and the signed user agreement. Access lapses by itself when the
    check or the training is too old (accounts.vetting)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="vetting")
    dbs_checked_on = models.DateField("DBS check date", null=True, blank=True)
    dbs_certificate = models.CharField(
        "DBS certificate number",
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^\d{12}$", "Enter the 12-digit DBS certificate number")],
    )
    dbs_recorded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    training_completed_on = models.DateField(null=True, blank=True)
    training_recorded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agreement_accepted_on = models.DateField("user agreement accepted", null=True, blank=True)
    agreement_recorded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Vetting of user {self.user_id}"


class Invitation(models.Model):
    """A single-use link, valid for INVITATION_HOURS: for a new user to set their password and
    then their second factor, or (after an LA admin's reset) for a user to confirm their
    password and set up a new second factor. The only ways to enrol a second factor.

    Only a SHA-256 of the token is kept (256 random bits: a fast hash is enough); the link
    itself is shown once, to the admin who made it.
    """

    class Purpose(models.TextChoices):
        INVITATION = "invitation", "Set a password, then a second factor"
        SECOND_FACTOR = "second_factor", "Set up a new second factor"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.INVITATION)
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(editable=False)
    expires_at = models.DateTimeField(editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when the link is used, or when a newer link for the same user replaces it.
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation {self.pk} for user {self.user_id}"


# How last_error starts when a message was given up without a try that failed.
NOT_SENT = "Not sent: "


class OutboundEmail(models.Model):
    """An e-mail to a user of the service, written in the transaction of the action that
    causes it and sent afterwards, with retries (accounts.outbox). Its personalisation (a
    set-up link, names) is emptied once it is sent or given up, so a link's token is kept
    here only until the message has gone. No message carries child data."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        SECOND_FACTOR_RESET = "second_factor_reset", "Second factor reset link"
        VETTING_DUE = "vetting_due", "Re-vetting due"
        VETTING_DUE_ADMIN = "vetting_due_admin", "Re-vetting due in the area"
        RECORD_VIEWED = "record_viewed", "New notice of a record viewed"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Not sent"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    to = models.EmailField()
    recipient = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    personalisation = models.JSONField(default=dict, blank=True)
    # One message for one occasion (a reminder of one lapse date): a second is not queued.
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    send_after = models.DateTimeField(default=timezone.now)
    # Not worth sending after this (the link in it has expired).
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # A sender's claim, so that two senders never send one message at once; a claim that
    # runs out (its sender died) lets another sender try again.
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The SMTP Message-ID or GOV.UK Notify's notification id.
    provider_reference = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "send_after"], name="outbound_email_due"),
            models.Index(
                fields=["recipient", "kind", "created_at"], name="outbound_email_recipient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} e-mail {self.pk}"

    @property
    def why_not_sent(self) -> str:
        """Why a message was given up, in words for an admin (last_error is the operator's)."""
        if self.last_error.startswith(NOT_SENT):
            return self.last_error.removeprefix(NOT_SENT).capitalize()
        if self.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            return f"Every one of {self.attempts} tries failed"
        return "The address was refused"


class EmailAttempt(models.Model):
    """One try at sending an OutboundEmail, and what came of it."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        RETRY = "retry", "Failed, to be tried again"
        FAILED = "failed", "Failed, given up"

    email = models.ForeignKey(OutboundEmail, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(default=timezone.now, editable=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"Try of e-mail {self.email_id} at {self.at:%Y-%m-%d %H:%M}: {self.outcome}"


# The client secret of a provider lives in the environment, never in the database: the row
# names the variable. Only this prefix, so that no one with the operator console can have
# the service send another of its secrets (SECRET_KEY, DATABASE_URL) to a provider.
CLIENT_SECRET_VARIABLE = RegexValidator(
    r"^OIDC_CLIENT_SECRET_[A-Z0-9_]{1,60}$",
    "Name an environment variable that starts OIDC_CLIENT_SECRET_, in capitals, like "
    "OIDC_CLIENT_SECRET_WESTMINSTER",
)
EMAIL_DOMAIN = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "Enter e-mail domains one a line, like westminster.gov.uk",
)
CLAIM_NAME = RegexValidator(r"^[A-Za-z0-9_.:-]{1,50}$", "Enter a claim's name, like amr")
# Loopback addresses may use plain http (a provider on the same host, as in the tests);
# anything else must be https.
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def provider_url_problem(url: str) -> str | None:
    """Why an issuer or endpoint URL of an identity provider is not acceptable, or None."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return None
    return "The address must start https:// (plain http only on this host, for testing)"


class SingleSignOn(models.Model):
    """An organisation's own identity provider (OpenID Connect, e.g. Microsoft Entra ID), set
    up by a platform operator: the organisation's users may sign in with their work account
    instead of a password (accounts.single_sign_on, docs/operations/single-sign-on.md). Their
    role, vetting and capabilities here still decide what they may do; no user is ever created
    from a sign-in."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="single_sign_on"
    )
    display_name = models.CharField(
        max_length=100,
        help_text='What users see, after "Sign in with your", e.g. "Westminster City Council '
        'account"',
    )
    issuer = models.URLField(
        max_length=300,
        help_text="The provider's issuer; its discovery document is this address followed by "
        "/.well-known/openid-configuration. Microsoft Entra ID: "
        "https://login.microsoftonline.com/TENANT-ID/v2.0",
    )
    client_id = models.CharField("client id", max_length=200)
    client_secret_variable = models.CharField(
        max_length=80,
        validators=[CLIENT_SECRET_VARIABLE],
        help_text="The environment variable that holds the client secret, e.g. "
        "OIDC_CLIENT_SECRET_WESTMINSTER (the secret itself is never stored here)",
    )
    allowed_domains = models.TextField(
        help_text="The e-mail domains of this organisation's staff, one a line, e.g. "
        "westminster.gov.uk. A user signs in only with a verified address at one of these."
    )
    email_verified_claim = models.CharField(
        max_length=50,
        default="email_verified",
        validators=[CLAIM_NAME],
        help_text="The ID token claim that says the e-mail address is verified (true). "
        "Microsoft Entra ID sends none by default: add the optional claim xms_edov and "
        "name it here.",
    )
    trust_mfa_claim = models.BooleanField(
        "trust the provider's multi-factor claim",
        default=False,
        help_text="When two-factor sign-in is on, a sign-in whose ID token carries the claim "
        "below counts as the second factor. Off: users give this service's own second "
        "factor after the provider's sign-in.",
    )
    mfa_claim = models.CharField(
        "multi-factor claim",
        max_length=50,
        default="amr",
        validators=[CLAIM_NAME],
        help_text="The ID token claim that says how the user authenticated (amr or acr)",
    )
    mfa_values = models.CharField(
        "multi-factor values",
        max_length=300,
        default="mfa",
        help_text="Comma-separated: the claim holds one of these when the user gave more "
        "than one factor, e.g. mfa",
    )
    enabled = models.BooleanField(
        default=False,
        help_text="Offered on the sign-in page (with OIDC_ENABLED on for the service)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "single sign-on"
        verbose_name_plural = "single sign-on"
        ordering = ["organisation__name"]

    def __str__(self) -> str:
        return f"Single sign-on of {self.organisation}"

    def clean(self) -> None:
        errors = {}
        problem = provider_url_problem(self.issuer or "")
        if problem:
            errors["issuer"] = problem
        domains = [line.strip().lower() for line in self.allowed_domains.splitlines()]
        domains = [domain.removeprefix("@") for domain in domains if domain]
        if not domains:
            errors["allowed_domains"] = "Enter at least one e-mail domain"
        for domain in domains:
            try:
                EMAIL_DOMAIN(domain)
            except ValidationError as error:
                errors["allowed_domains"] = error.messages[0]
        self.allowed_domains = "\n".join(dict.fromkeys(domains))
        if not self.mfa_value_list:
            errors["mfa_values"] = "Enter at least one value, like mfa"
        if errors:
            raise ValidationError(errors)

    @property
    def domains(self) -> list[str]:
        return [line.strip().lower() for line in self.allowed_domains.splitlines() if line.strip()]

    @property
    def mfa_value_list(self) -> list[str]:
        return [value.strip() for value in self.mfa_values.split(",") if value.strip()]


class SingleSignOnDevice(Device):
    """The organisation's identity provider, as a django-otp device: a session signed in
    through it, with the provider's multi-factor claim where the organisation trusts that
    claim, is verified with this device (django_otp.login), as a session that gave a code is
    with the app's. It never verifies a typed token."""

    class Meta:
        verbose_name = "identity provider's multi-factor sign-in"
        constraints = [
            models.UniqueConstraint(fields=["user"], name="single_sign_on_device_one_per_user")
        ]

    def verify_token(self, token) -> bool:
        return False
