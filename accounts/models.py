"""Organisations (local authorities and their partner agencies) and the users who belong to them."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

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
