"""The audit trail: append-only events, the seals that chain them, and django-auditlog's
change history.

Write only through audit.services.record (events) and audit.sealer (seals); read through
audit.selectors. Rows never point at users or children through foreign keys: the actor and
the children are stored as values at the time, so deleting a user or purging a child
changes no audit row.
"""

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone

GENESIS_HASH = "0" * 64
# Tables whose rows database triggers keep from being changed or deleted.
APPEND_ONLY_TABLES = frozenset(
    {
        "audit_auditevent",
        "audit_auditeventchild",
        "audit_auditseal",
        "audit_auditarchive",
        "audit_flag",
        "audit_flagoutcome",
        "audit_notice",
    }
)
# The sealer's work queue (UnsealedEvent): not append-only, but it belongs to the trail, so
# whatever empties other tables (flush) leaves it with the events it lists.
SEAL_QUEUE_TABLE = "audit_unsealedevent"


def organisation_code(organisation) -> str:
    """How an event names the actor's organisation: its ONS code, or "partner:<id>" for a
    partner agency (which has none)."""
    if organisation is None:
        return ""
    if organisation.ons_code:
        return organisation.ons_code
    return f"partner:{organisation.pk}"


class Action(models.TextChoices):
    # Lookups
    SEARCH = "search", "Search"
    RECORD_VIEW = "record_view", "Record view"
    ACCESS_DENIED = "access_denied", "Access denied"
    RATE_LIMITED = "rate_limited", "Rate limited"
    # The user's latest results shown again ("Back to results"): a view of what the search
    # showed, not a new lookup (not counted in LOOKUPS_PER_HOUR).
    RESULTS_VIEW = "results_view", "Search results viewed again"
    # The reason question answered without a reason: asked again, nothing refused or shown.
    REASON_MISSING = "reason_missing", "Asked for a reason again"
    # A record opened for printing ("Print this record"): the paper copy is a disclosure of
    # its own, recorded with the reason before the print version is shown.
    RECORD_PRINT = "record_print", "Record printed"
    # Sign-in
    SIGN_IN = "sign_in", "Sign in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign in failed"
    LOCKOUT = "lockout", "Lockout"
    SIGN_OUT = "sign_out", "Sign out"
    # Oversight
    AUDIT_SEARCH = "audit_search", "Audit search"
    AUDIT_EXPORT = "audit_export", "Audit export"
    ACCESS_REPORT = "access_report", "Child access report"
    ACTIVITY_REPORT = "activity_report", "User activity report"
    FLAG_REVIEW = "flag_review", "Flags reviewed"
    FLAG_OUTCOME = "flag_outcome", "Flag outcome recorded"
    NOTICE_REVIEW = "notice_review", "Notices of views read"
    # User management
    USER_CREATE = "user_create", "User created"
    USER_CHANGE = "user_change", "User changed"
    USER_SUSPEND = "user_suspend", "User suspended"
    USER_REACTIVATE = "user_reactivate", "User reactivated"
    USER_UNLOCK = "user_unlock", "User unlocked"
    VETTING_RECORD = "vetting_record", "Vetting recorded"
    # Record management
    RECORD_CREATE = "record_create", "Record created"
    RECORD_CHANGE = "record_change", "Record changed"
    RECORD_MERGE = "record_merge", "Records merged"
    RECORD_PURGE = "record_purge", "Record purged"
    RECORD_IMPORT = "record_import", "Records imported"
    STALE_REVIEW = "stale_review", "Unconfirmed involvements listed"
    MANAGE_VIEW = "manage_view", "Record opened to manage"
    # The match model (children/matching)
    MATCH_MODEL_TRAINED = "match_model_trained", "Match model trained"
    DUPLICATES_FOUND = "duplicates_found", "Register searched for probable duplicates"
    # The trail itself (audit.archive)
    AUDIT_ARCHIVE = "audit_archive", "Month of the audit trail archived"


class AuditEvent(models.Model):
    """One thing that happened, as it was at the time. Never changed, never deleted.

    Its place in the hash chain is its AuditSeal, given after it commits (audit.sealer).

    On PostgreSQL the events, their child links and their seals are partitioned by month of
    `occurred_at` (audit.partitions, migration 0015): there the primary key is (id,
    occurred_at), the unique number is unique with occurred_at, and the links, the seals
    and the sealer's queue have no foreign key to the events (a check against partitions
    doubles an append's cost; verify_audit checks what it would: migration 0015). Django
    knows the single-column keys, which stay unique: join to an event on its occurred_at
    too, so that PostgreSQL looks in one month's partition only.
    """

    # The event's number: unique and increasing in the order events were inserted, given at
    # insert without a lock (on PostgreSQL from the database sequence audit_event_number).
    # It may skip numbers (a lookup that rolled back) and events may commit out of number
    # order; the gap-free order is the chain's (AuditSeal.position). Flags, notices and the
    # auditors' pages cite events by it.
    sequence = models.BigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    # The actor, as values at the time (no foreign key).
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=254, blank=True)
    actor_name = models.CharField(max_length=300, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    actor_organisation = models.CharField(max_length=200, blank=True)
    actor_organisation_code = models.CharField(max_length=32, blank=True, db_index=True)
    # Children concerned, by public id; also in AuditEventChild for indexed lookup.
    children = models.JSONField(default=list, blank=True)
    criteria = models.JSONField(default=dict, blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    reason_text = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, default="allowed")
    result_count = models.IntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-sequence"]
        indexes = [
            # A user's events by time; `action` rides along so that a user's activity per
            # day is counted from the index alone (audit.oversight.reports.user_activity).
            models.Index(
                fields=["actor_id", "occurred_at"], include=["action"], name="audit_actor_time"
            ),
            models.Index(fields=["action", "occurred_at"], name="audit_action_time"),
            # The auditors' event list filtered by user (actor_username__iexact, newest
            # first by time then number): without it the list walks the whole trail
            # backwards for the user's few events (154 ms at 2 M events, bench/scale.py).
            # Time first, the partition key: PostgreSQL reads the months newest first and
            # stops at a full page, where an index by number alone read every month's.
            models.Index(
                Upper("actor_username"),
                F("occurred_at").desc(),
                F("sequence").desc(),
                name="audit_username_time",
            ),
            # A user's recent lookups: the rate limit (children.ratelimit) and the results
            # gate (audit.selectors.latest_search_results) read this on every lookup.
            models.Index(
                fields=["actor_id", "occurred_at"],
                condition=models.Q(action__in=["search", "record_view"]),
                name="audit_lookups_by_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} by {self.actor_username or 'anonymous'}"


class AuditEventChild(models.Model):
    """Which children an event concerned: makes "every event touching child Y" an indexed query."""

    event = models.ForeignKey(
        AuditEvent, on_delete=models.DO_NOTHING, related_name="child_links", db_constraint=True
    )
    child_public_id = models.CharField(max_length=16)
    occurred_at = models.DateTimeField(editable=False)

    class Meta:
        indexes = [
            # Every event touching a child, newest first, from the index alone: the access
            # report reads the links without visiting the link table (PostgreSQL).
            models.Index(
                fields=["child_public_id", "occurred_at"],
                include=["event"],
                name="audit_child_time",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "child_public_id"], name="audit_child_once"),
        ]

    def __str__(self) -> str:
        return f"{self.child_public_id} in event {self.event_id}"


class AuditSeal(models.Model):
    """An event's place in the hash chain, given by the sealer after the event committed
    (audit.sealer; on SQLite by record() as it appends). Positions run 1, 2, 3... with no
    gap, and each seal's hash covers the seal before it, its position, the event's number
    and the event's content (audit.chain). Never changed, never deleted."""

    position = models.BigIntegerField(primary_key=True, editable=False)
    # One seal per event (the unique index), and nothing happens to it if the event goes:
    # the event cannot go (append-only), and verify_audit would miss it if it did.
    event = models.OneToOneField(
        AuditEvent, on_delete=models.DO_NOTHING, related_name="seal", editable=False
    )
    # Not indexed: hashes are random, and a btree over them turns every seal into random
    # page writes. The chain cannot fork: sealing is serialised and `position` unique;
    # verify_audit checks every link.
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)
    # When the sealer sealed it: how far sealing lags (not covered by the hash).
    sealed_at = models.DateTimeField(default=timezone.now, editable=False)
    # The event's occurred_at, copied (not covered by the hash: the event's is): a seal lives
    # in its event's month, on PostgreSQL in its partition (audit.partitions), so that a
    # month of the trail is archived whole.
    occurred_at = models.DateTimeField(editable=False)

    class Meta:
        ordering = ["-position"]

    def __str__(self) -> str:
        return f"seal {self.position} of event {self.event_id}"


class AuditArchive(models.Model):
    """A month of the trail written to an archive and removed from the database
    (`manage.py audit_archive`, audit.archive): what the archive holds, and where the chain
    stands after it. Appended once per month archived, never changed (triggers).

    verify_audit starts from the newest one's head: every position up to `head_position`
    is archived, and `beyond_head` gives the position and hash of each archived seal above
    it (an event of an archived month sealed after an event of a later month: sealing
    follows event numbers and commits, not months), so that the walk can step over them.
    """

    month = models.CharField(max_length=7, unique=True, editable=False)  # "YYYY-MM"
    archived_at = models.DateTimeField(default=timezone.now, editable=False)
    # Where it was written (as the operator gave it), and the manifest's SHA-256.
    location = models.CharField(max_length=1000, editable=False)
    manifest_sha256 = models.CharField(max_length=64, editable=False)
    events = models.BigIntegerField(editable=False)
    links = models.BigIntegerField(editable=False)
    seals = models.BigIntegerField(editable=False)
    # The chain after this month left the database.
    head_position = models.BigIntegerField(editable=False)
    head_hash = models.CharField(max_length=64, editable=False)
    beyond_head = models.JSONField(default=list, editable=False)  # [[position, hash], ...]
    # The audit_archive event recorded with it.
    event_sequence = models.BigIntegerField(editable=False)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"audit trail of {self.month}, archived"


class UnsealedEvent(models.Model):
    """The sealer's work queue on PostgreSQL: one row per committed event not yet sealed,
    inserted with the event in its transaction (so the sealer sees it only once the event
    has committed) and deleted in the transaction that seals it. Not append-only: the app
    role may delete from it. A row deleted by anyone else leaves its event unsealed, which
    verify_audit reports once the event is older than AUDIT_SEAL_DELAY_SECONDS."""

    event = models.OneToOneField(
        AuditEvent, on_delete=models.DO_NOTHING, primary_key=True, related_name="unsealed"
    )
    # The event's occurred_at: finds the event in its month's partition (PostgreSQL).
    occurred_at = models.DateTimeField(editable=False)

    def __str__(self) -> str:
        return f"event {self.event_id} waiting for its seal"


class ChangeRecord(AbstractLogEntry):
    """django-auditlog's change history, with the actor kept as a plain id.

    `actor` has no database constraint and nothing happens to history rows
    when a user is deleted: the history keeps the id and e-mail address of
    whoever made each change.
    """

    actor = models.ForeignKey(
        to=settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        blank=True,
        null=True,
        related_name="+",
        verbose_name="actor",
    )

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "change record"
        verbose_name_plural = "change history"


class Rule(models.TextChoices):
    """The misuse rules of audit.oversight.flags, each a small function there."""

    VOLUME = "volume", "Unusual number of lookups"
    OUT_OF_AREA = "out_of_area", "Out of area"
    RESTRICTED = "restricted", "Attempt on a shielded record"
    PERSONAL_LINK = "personal_link", "Possible personal link"
    OUT_OF_HOURS = "out_of_hours", "Out of hours"
    FISHING = "fishing", "Searches without views"


class Flag(models.Model):
    """A lookup, or a user's day of lookups, that a misuse rule picked out for an auditor.

    Raised by audit.oversight.flags (as the lookup is recorded, or by `manage.py flag_events`),
    never changed: an auditor's outcome is a FlagOutcome and an audit event of its own.
    Like audit events, it keeps the actor as values at the time.
    """

    rule = models.CharField(max_length=20, choices=Rule.choices)
    raised_at = models.DateTimeField(default=timezone.now, editable=False)
    # One flag per thing flagged, however often the rule runs ("out_of_area:event:812",
    # "volume:user:45:2026-11-24").
    key = models.CharField(max_length=100, unique=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=254, blank=True)
    actor_name = models.CharField(max_length=300, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    actor_organisation = models.CharField(max_length=200, blank=True)
    # The ONS code of the local authority the actor works in: the queue's area filter.
    area_code = models.CharField(max_length=9, blank=True)
    child_public_id = models.CharField(max_length=16, blank=True)
    # The event that raised it (a lookup), or none for a rule over a day.
    event_sequence = models.BigIntegerField(null=True, blank=True)
    day = models.DateField(null=True, blank=True)
    # Why, in figures (counts, medians, the hour): never a name.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]
        indexes = [
            models.Index(fields=["raised_at"], name="flag_time"),
            models.Index(fields=["rule", "raised_at"], name="flag_rule_time"),
            models.Index(fields=["area_code", "raised_at"], name="flag_area_time"),
            models.Index(fields=["actor_id", "raised_at"], name="flag_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} flag {self.pk}"


class Outcome(models.TextChoices):
    NO_CONCERN = "no_concern", "No concern"
    ADVICE_GIVEN = "advice_given", "Advice given"
    REFERRED = "referred", "Referred for investigation"


class FlagOutcome(models.Model):
    """An auditor's decision on a flag: appended once, never edited. A flag with one is closed."""

    flag = models.OneToOneField(Flag, on_delete=models.DO_NOTHING, related_name="outcome")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    note = models.TextField()
    decided_at = models.DateTimeField(default=timezone.now, editable=False)
    auditor_id = models.BigIntegerField()
    auditor_username = models.CharField(max_length=254)
    auditor_name = models.CharField(max_length=300, blank=True)
    # The flag_outcome audit event written in the same transaction.
    event_sequence = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.outcome} on flag {self.flag_id}"


class Notice(models.Model):
    """Tells someone responsible for a child that a person outside the child's services
    viewed the record: the lead professional, and the shielding authority's admins.

    Read in the service only: with e-mail on, the recipient is e-mailed that there is a new
    notice, with a link and nothing of the child (audit.oversight.notices). Never changed;
    what a user has read is their `notices_read_at`.
    """

    recipient_id = models.BigIntegerField()
    child_public_id = models.CharField(max_length=16)
    viewed_at = models.DateTimeField()
    event_sequence = models.BigIntegerField()
    viewer_name = models.CharField(max_length=300, blank=True)
    viewer_role = models.CharField(max_length=32, blank=True)
    viewer_organisation = models.CharField(max_length=200, blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    # Why this recipient: "lead_professional" or "shielding_authority".
    because = models.CharField(max_length=20)

    class Meta:
        ordering = ["-viewed_at", "-pk"]
        indexes = [models.Index(fields=["recipient_id", "viewed_at"], name="notice_recipient")]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_id", "event_sequence"], name="notice_once_per_view"
            ),
        ]

    def __str__(self) -> str:
        return f"notice {self.pk} of event {self.event_sequence}"
