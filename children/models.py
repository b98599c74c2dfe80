"""The register: children in services, their names, addresses and involvements.

A child's record exists only because a service is, or recently was, involved
with them: children are created with their first involvement (services.py),
and purged when the retention period after the last involvement ends.
No model's __str__ shows a name: it lands in change history and logs.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Organisation
from children.identifiers import (
    outward_code,
    validate_nhs_number,
    validate_postcode,
    validate_public_id,
)
from children.matching import name_keys


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Not known"


class Service(models.Model):
    """A kind of service that can be involved with a child (the catalogue is a data migration)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    sensitive = models.BooleanField(
        default=False,
        help_text="Shown to others only as 'a sensitive service is involved'",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Child(models.Model):
    public_id = models.CharField(
        max_length=11, unique=True, editable=False, validators=[validate_public_id]
    )
    # NULL, not "", when unknown: the uniqueness constraint ignores NULLs.
    nhs_number = models.CharField(  # noqa: DJ001
        "NHS number", max_length=10, null=True, blank=True, validators=[validate_nhs_number]
    )
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    shielded = models.BooleanField(default=False)
    shielding_reason = models.TextField(blank=True)
    shielded_by = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shielded_children",
        limit_choices_to={"kind": Organisation.Kind.LOCAL_AUTHORITY},
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # The last day the record may be kept: derived from involvements and date of
    # birth by children.retention, stored so that purging is an indexed query.
    retention_ends_on = models.DateField(db_index=True)

    class Meta:
        verbose_name_plural = "children"
        constraints = [
            models.UniqueConstraint(
                fields=["nhs_number"],
                condition=Q(nhs_number__isnull=False),
                name="child_nhs_number_unique",
            ),
            models.CheckConstraint(
                name="child_shielding_has_reason_and_authority",
                condition=Q(shielded=False)
                | (Q(shielded_by__isnull=False) & ~Q(shielding_reason="")),
                violation_error_message=(
                    "A shielded record needs a reason and the shielding authority"
                ),
            ),
        ]
        indexes = [models.Index(fields=["date_of_birth"], name="child_dob")]

    def __str__(self) -> str:
        return self.public_id


class NameKind(models.TextChoices):
    CURRENT = "current", "Current name"
    PREVIOUS = "previous", "Previous name"
    ALIAS = "alias", "Also known as"
    PREFERRED = "preferred", "Preferred name"


class Name(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="names")
    kind = models.CharField(max_length=10, choices=NameKind.choices)
    given_names = models.CharField(max_length=200)
    family_name = models.CharField(max_length=200)
    used_from = models.DateField(null=True, blank=True)
    used_until = models.DateField(null=True, blank=True)
    # Search keys, derived from the name (children.matching.name_keys) and the child's
    # date of birth when the row is written, so that search blocks are index lookups.
    # Every writer sets them; a change of date of birth updates them too.
    family_key = models.CharField(max_length=200, blank=True, editable=False)
    given_key = models.CharField(max_length=200, blank=True, editable=False)
    family_sound = models.CharField(max_length=12, blank=True, editable=False)
    given_sound = models.CharField(max_length=12, blank=True, editable=False)
    date_of_birth = models.DateField(editable=False)  # the child's, copied
    # The child's current postcode and its outward code, copied (children.services.
    # names_follow_address): the outward-code blocks are index lookups, and the score knows
    # the postcode without another query.
    postcode = models.CharField(max_length=8, blank=True, editable=False)
    outward_code = models.CharField(max_length=4, blank=True, editable=False)

    class Meta:
        indexes = [
            # The date-of-birth block (leading column) and its sound-alike slips (both);
            # on PostgreSQL the scored columns ride along for index-only scans.
            models.Index(
                fields=["date_of_birth", "family_sound"],
                include=["child_id", "family_key", "given_key", "given_sound", "postcode"],
                name="name_search_block",
            ),
            # A changed family name with a slipped date: the given name's sound on the dates.
            models.Index(
                fields=["date_of_birth", "given_sound"],
                include=["child_id", "family_key", "given_key", "family_sound", "postcode"],
                name="name_given_sound_block",
            ),
            # The right names with the date of birth wrong: both sounds, any date.
            models.Index(
                fields=["family_sound", "given_sound", "date_of_birth"],
                include=["child_id", "family_key", "given_key", "postcode"],
                name="name_sounds_block",
            ),
            # The date wrong and a name changed too: the outward code and either name's sound.
            models.Index(
                fields=["outward_code", "family_sound"],
                include=[
                    "child_id",
                    "family_key",
                    "given_key",
                    "given_sound",
                    "date_of_birth",
                    "postcode",
                ],
                name="name_outward_family_block",
            ),
            models.Index(
                fields=["outward_code", "given_sound"],
                include=[
                    "child_id",
                    "family_key",
                    "given_key",
                    "family_sound",
                    "date_of_birth",
                    "postcode",
                ],
                name="name_outward_given_block",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["child"], condition=Q(kind="current"), name="name_one_current_per_child"
            ),
            models.UniqueConstraint(
                fields=["child", "kind", "given_names", "family_name"], name="name_not_repeated"
            ),
            models.CheckConstraint(
                name="name_dates_in_order",
                condition=Q(used_until__isnull=True)
                | Q(used_from__isnull=True)
                | Q(used_until__gte=F("used_from")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.child_id}"

    def save(self, *args, **kwargs) -> None:
        # Bulk writers (imports, seed_demo) set the keys themselves: save() is not called.
        self.set_search_keys()
        super().save(*args, **kwargs)

    def set_search_keys(self) -> None:
        for key, value in name_keys(
            given_names=self.given_names, family_name=self.family_name
        ).items():
            setattr(self, key, value)
        self.date_of_birth = self.child.date_of_birth
        current = (
            Address.objects.filter(child_id=self.child_id, moved_out_on__isnull=True)
            .values_list("postcode", "outward_code")
            .first()
        )
        self.postcode, self.outward_code = current or ("", "")


class Address(models.Model):
    """Where a child lived, so in which local authority's area: together, their area history."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="addresses")
    line_1 = models.CharField(max_length=200)
    postcode = models.CharField(max_length=8, validators=[validate_postcode])
    local_authority = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="addresses",
        limit_choices_to={"kind": Organisation.Kind.LOCAL_AUTHORITY},
    )
    moved_in_on = models.DateField()
    moved_out_on = models.DateField(null=True, blank=True)
    # "SW1A" of "SW1A 1AA": the postcode search block (set with the postcode).
    outward_code = models.CharField(max_length=4, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ["-moved_in_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["child"],
                condition=Q(moved_out_on__isnull=True),
                name="address_one_current_per_child",
            ),
            models.CheckConstraint(
                name="address_dates_in_order",
                condition=Q(moved_out_on__isnull=True) | Q(moved_out_on__gte=F("moved_in_on")),
            ),
        ]
        indexes = [
            models.Index(fields=["local_authority", "moved_out_on"], name="address_area"),
            # Past addresses by outward code (the current one is copied onto the names), with
            # what a search reads of them: an index-only scan, no heap page per address.
            models.Index(
                fields=["outward_code"],
                include=["child_id", "postcode"],
                condition=Q(moved_out_on__isnull=False),
                name="address_past_outward_keys",
            ),
        ]

    def __str__(self) -> str:
        return f"Address of {self.child_id} from {self.moved_in_on}"

    def save(self, *args, **kwargs) -> None:
        self.outward_code = outward_code(self.postcode)
        super().save(*args, **kwargs)


class Involvement(models.Model):
    """A service's involvement with a child, and who to contact about it."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="involvements")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="involvements")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="involvements"
    )
    practitioner_name = models.CharField(max_length=200, blank=True)
    practitioner_job_title = models.CharField(max_length=200, blank=True)
    practitioner_phone = models.CharField(max_length=40, blank=True)
    practitioner_email = models.EmailField(blank=True)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    lead_professional = models.BooleanField(default=False)
    source = models.CharField(max_length=100, blank=True)
    source_id = models.CharField(max_length=100, blank=True)
    # When the source system last said this involvement was as recorded.
    confirmed_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-started_on"]
        constraints = [
            models.CheckConstraint(
                name="involvement_ends_after_it_starts",
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                violation_error_message="The end date must be on or after the start date",
            ),
            models.UniqueConstraint(
                fields=["source", "source_id"],
                condition=~Q(source=""),
                name="involvement_source_id_unique",
            ),
            models.UniqueConstraint(
                fields=["child"],
                condition=Q(lead_professional=True, ended_on__isnull=True),
                name="involvement_one_lead_professional",
                violation_error_message="A child has one lead professional at a time",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "ended_on"], name="involvement_org"),
            # Whether an organisation provides a service (a record view asks, for the
            # sensitive services others give the child): one probe, whatever its caseload.
            models.Index(fields=["organisation", "service"], name="involvement_org_service"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} involvement with {self.child_id}"

    @property
    def is_open(self) -> bool:
        return self.ended_on is None


class SourceRecord(models.Model):
    """A source system's id for a child: the upsert key of imports and the feed."""

    source = models.CharField(max_length=100)
    source_ref = models.CharField(max_length=100)
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="source_records")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"], name="source_ref_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_ref}"


class FeedToken(models.Model):
    """A case management system's key to the feed API: one source, one local authority.

    Only a SHA-256 of the token is kept (tokens are 256 random bits, so a fast hash
    is enough); the token itself is shown once, when issued (children.feed).
    """

    source = models.CharField(max_length=100)
    local_authority = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="feed_tokens",
        limit_choices_to={"kind": Organisation.Kind.LOCAL_AUTHORITY},
    )
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text="To tell tokens apart")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["source", "-created_at"]

    def __str__(self) -> str:
        return f"{self.source} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class HeldRow(models.Model):
    """An import's rows for a new child_ref that look like a child already on the register.

    They wait here, unimported, until a data manager decides: a different child
    (imported as a new record) or the same child (attached to it). The rows are
    the import's own text values, so that the decision re-runs the import; they
    are cleared once resolved, when what they said is on the register.
    """

    class Resolution(models.TextChoices):
        PENDING = "", "Waiting for review"
        DIFFERENT = "different", "A different child"
        MERGED = "merged", "The same child"

    source = models.CharField(max_length=100)
    child_ref = models.CharField(max_length=100)
    local_authority = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="held_rows",
        limit_choices_to={"kind": Organisation.Kind.LOCAL_AUTHORITY},
    )
    rows = models.JSONField(default=list)  # the import's columns, as text, one object a row
    # Public ids of the children on the register that this one looks like.
    candidates = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(
        max_length=10, choices=Resolution.choices, blank=True, default=Resolution.PENDING
    )
    # A value, not a foreign key: deleting a user must not touch the decision.
    resolved_by_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "child_ref"],
                condition=Q(resolved_at__isnull=True),
                name="held_row_one_pending_per_ref",
            ),
            models.CheckConstraint(
                name="held_row_resolved_with_a_resolution",
                condition=(Q(resolved_at__isnull=True) & Q(resolution=""))
                | (Q(resolved_at__isnull=False) & Q(resolution__in=["different", "merged"])),
            ),
        ]
        indexes = [models.Index(fields=["local_authority", "resolved_at"], name="held_row_area")]

    def __str__(self) -> str:
        return f"Held rows {self.source}:{self.child_ref}"

    @property
    def is_pending(self) -> bool:
        return self.resolved_at is None


class ProbableDuplicate(models.Model):
    """Two records on the register that are probably one child, found by `manage.py
    find_duplicates` (the match model over the whole register). They wait in the duplicates
    queue of every area that looks after either child until a data manager merges them (the
    merged-away record goes, and this with it) or says they are different children (kept,
    so that later runs do not ask again)."""

    class Decision(models.TextChoices):
        PENDING = "", "Waiting for review"
        DIFFERENT = "different", "Different children"

    # The lower id first: one row a pair.
    child_a = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="+")
    child_b = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    model_version = models.CharField(max_length=40)
    found_at = models.DateTimeField(default=timezone.now, editable=False)
    last_found_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(
        max_length=10, choices=Decision.choices, blank=True, default=Decision.PENDING
    )
    # A value, not a foreign key: deleting a user must not touch the decision.
    decided_by_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-probability", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["child_a", "child_b"], name="probable_duplicate_once"),
            models.CheckConstraint(
                name="probable_duplicate_lower_id_first", condition=Q(child_a__lt=F("child_b"))
            ),
            models.CheckConstraint(
                name="probable_duplicate_decided_with_a_decision",
                condition=(Q(decided_at__isnull=True) & Q(decision=""))
                | (Q(decided_at__isnull=False) & Q(decision="different")),
            ),
        ]
        indexes = [
            models.Index(fields=["child_b"], name="probable_duplicate_b"),
            models.Index(fields=["decided_at", "-probability"], name="probable_duplicate_open"),
        ]

    def __str__(self) -> str:
        return f"Probable duplicate {self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.decided_at is None


class MergedChild(models.Model):
    """A public id merged away into another record, so that it still leads somewhere."""

    old_public_id = models.CharField(max_length=11, unique=True)
    survivor = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="merged_from")
    merged_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.old_public_id} merged into {self.survivor_id}"
