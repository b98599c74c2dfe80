"""The audit trail: append-only, hash-chained events, and django-auditlog's change history.

Write only through audit.services.record; read through audit.selectors.
Rows never point at users or children through foreign keys: the actor and
the children are stored as values at the time, so deleting a user or purging
a child changes no audit row.
"""

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64
# Tables whose rows database triggers keep from being changed or deleted.
APPEND_ONLY_TABLES = frozenset({"audit_auditevent", "audit_auditeventchild"})


class Action(models.TextChoices):
    # Lookups
    SEARCH = "search", "Search"
    RECORD_VIEW = "record_view", "Record view"
    ACCESS_DENIED = "access_denied", "Access denied"
    RATE_LIMITED = "rate_limited", "Rate limited"
    # Sign-in
    SIGN_IN = "sign_in", "Sign in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign in failed"
    LOCKOUT = "lockout", "Lockout"
    SIGN_OUT = "sign_out", "Sign out"
    # Oversight
    AUDIT_SEARCH = "audit_search", "Audit search"
    AUDIT_EXPORT = "audit_export", "Audit export"
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


class AuditEvent(models.Model):
    """One thing that happened, as it was at the time. Never changed, never deleted."""

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
    # Not indexed: hashes are random, and a btree over them turns every append into
    # random page writes (appends fell from ~300/s to ~100/s at a million events).
    # The chain cannot fork because appends are serialised and `sequence` is unique;
    # verify_audit checks every link.
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-sequence"]
        indexes = [
            models.Index(fields=["actor_id", "occurred_at"], name="audit_actor_time"),
            models.Index(fields=["action", "occurred_at"], name="audit_action_time"),
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
            models.Index(fields=["child_public_id", "occurred_at"], name="audit_child_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "child_public_id"], name="audit_child_once"),
        ]

    def __str__(self) -> str:
        return f"{self.child_public_id} in event {self.event_id}"


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
