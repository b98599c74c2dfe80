"""The one writer of the audit trail: audit.services.record.

Every event is inserted inside the caller's transaction, so it commits together with what
it records, or not at all. On PostgreSQL it takes no lock: the sealer (audit.sealer) gives
it its place in the hash chain once it has committed. On SQLite, whose write lock already
serialises writers, record() seals it at once, in the same transaction.
"""

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from prometheus_client import Histogram

from audit import chain, hooks
from audit.models import (
    GENESIS_HASH,
    Action,
    AuditEvent,
    AuditEventChild,
    AuditSeal,
    organisation_code,
)
from signposting.client_ip import client_ip

logger = logging.getLogger(__name__)

MAX_TEXT = 2_000
MAX_VALUE = 500


class AuditWriteError(Exception):
    """The audit trail could not be written: whatever it was to record must not happen."""


# How long an append takes (the lookup-time rules are not included): in this process only
# (each instance is scraped on its own; /metrics, signposting.metrics).
APPEND_SECONDS = Histogram(
    "signposting_audit_append_seconds",
    "Time to append one event to the audit trail (sealed after commit on PostgreSQL)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def record(
    *,
    request: HttpRequest | None,
    action: Action,
    children: Iterable[Any] = (),
    criteria: Mapping[str, Any] | None = None,
    reason_code: str = "",
    reason_text: str = "",
    outcome: str = "allowed",
    result_count: int | None = None,
    detail: Mapping[str, Any] | None = None,
    actor: Any = None,
) -> AuditEvent:
    """Appends one event to the audit trail, inside the caller's transaction.

    `children` are Child objects or public ids. `actor` defaults to the
    request's signed-in user; pass it for events about a user who is not (or
    not yet) the request's user, such as a failed sign-in. Values in
    `criteria` and `detail` must be JSON text, numbers, booleans or None.
    Raises AuditWriteError if the event cannot be written; the caller's
    transaction is then unusable and must be abandoned.
    """
    user = actor if actor is not None else getattr(request, "user", None)
    signed_in = bool(user is not None and getattr(user, "is_authenticated", False))
    organisation = getattr(user, "organisation", None) if signed_in else None
    public_ids = sorted({getattr(child, "public_id", child) for child in children})
    fields: dict[str, Any] = {
        "occurred_at": timezone.now(),
        "action": Action(action).value,
        "actor_id": user.pk if signed_in else None,
        "actor_username": user.get_username() if signed_in else "",
        "actor_name": user.get_full_name() if signed_in else "",
        "actor_role": (user.role or ("operator" if user.is_superuser else "")) if signed_in else "",
        "actor_organisation": organisation.name if organisation else "",
        "actor_organisation_code": organisation_code(organisation),
        "children": [_clean(str(public_id), 16) for public_id in public_ids],
        "criteria": _clean(dict(criteria or {}), MAX_VALUE),
        "reason_code": _clean(reason_code, 40),
        "reason_text": _clean(reason_text, MAX_TEXT),
        "outcome": _clean(outcome, 20),
        "result_count": result_count,
        "detail": _clean(dict(detail or {}), MAX_VALUE),
        "client_ip": (client_ip(request) or None) if request is not None else None,
        "request_id": _clean(getattr(request, "request_id", ""), 64),
    }
    try:
        if _one_statement(signed_in=signed_in):
            with APPEND_SECONDS.time():
                event = _append_postgresql(fields)
        else:
            with transaction.atomic(savepoint=False):
                # The lookup-time rules (audit.hooks: oversight registers them): they read
                # before the append and write after it, once the event has its number; what
                # they write commits with the lookup, or neither does.
                pending = (
                    hooks.before_append(event=AuditEvent(**fields), actor=user) if signed_in else []
                )
                with APPEND_SECONDS.time():
                    event = _append(fields)
                hooks.after_append(pending=pending, event=event)
    except Exception as error:
        # Log the failure, never the event's content (it may name a child).
        logger.error("Audit write failed for action %s: %s", fields["action"], type(error).__name__)
        raise AuditWriteError(f"could not write {fields['action']} event") from error
    if request is not None:
        # Lets audit.lookup.audited_lookup check that a lookup view recorded itself.
        request.audit_events_recorded = getattr(request, "audit_events_recorded", 0) + 1
    return event


def _one_statement(*, signed_in: bool) -> bool:
    """Whether the event is best written as one statement on its own, outside any transaction:
    on PostgreSQL, with no transaction open (nothing else to commit with it) and no signed-in
    actor (no lookup-time rules to run with it). audit_append() inserts the event, its child
    links and its queue row in one statement, which PostgreSQL runs as its own transaction:
    one round trip, where BEGIN, the call and COMMIT take three. A lookup's event is always
    written inside the lookup's transaction, so this is for events of sign-in failures,
    commands and batch jobs."""
    return not signed_in and connection.vendor == "postgresql" and not connection.in_atomic_block


def _append(fields: dict[str, Any]) -> AuditEvent:
    if connection.vendor == "postgresql":
        return _append_postgresql(fields)
    return _append_and_seal_sqlite(fields)


def _append_and_seal_sqlite(fields: dict[str, Any]) -> AuditEvent:
    """SQLite took its write lock at BEGIN IMMEDIATE, so writers are serialised already:
    the event is numbered after the last one and sealed at once, in the same transaction
    (a queue and a sealer would add work and no concurrency)."""
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    event = AuditEvent(sequence=(last or 0) + 1, **fields)
    event.save(force_insert=True)
    if fields["children"]:
        AuditEventChild.objects.bulk_create(
            AuditEventChild(event=event, child_public_id=public_id, occurred_at=event.occurred_at)
            for public_id in fields["children"]
        )
    head = AuditSeal.objects.order_by("-position").values_list("position", "hash").first()
    position, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    AuditSeal(
        position=position,
        event=event,
        prev_hash=prev_hash,
        hash=chain.link(
            prev_hash=prev_hash,
            position=position,
            number=event.sequence,
            content=chain.body(fields),
        ),
        sealed_at=timezone.now(),
        occurred_at=event.occurred_at,
    ).save(force_insert=True)
    return event


_JSON = {"children", "criteria", "detail"}
# audit_append() (migration 0013) numbers the event from the sequence audit_event_number and
# inserts it, its child links and its row in the sealer's queue, in one round trip and
# with no lock.
_PG_APPEND = "SELECT * FROM audit_append({})".format(  # noqa: S608 (a constant)
    ", ".join(["%s"] * (1 + len(chain.HASHED_FIELDS)))
)


def _append_postgresql(fields: dict[str, Any]) -> AuditEvent:
    values = [json.dumps(fields[n]) if n in _JSON else fields[n] for n in chain.HASHED_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_PG_APPEND, [*values, fields["children"]])
        event_id, sequence = cursor.fetchone()
    event = AuditEvent(id=event_id, sequence=sequence, **fields)
    event._state.adding = False
    event._state.db = connection.alias
    return event


def _clean(value: Any, limit: int) -> Any:
    """Text safe for both databases (no NUL) and of bounded size, recursively."""
    if isinstance(value, str):
        return value.replace("\x00", "")[:limit]
    if isinstance(value, Mapping):
        return {_clean(str(k), 100): _clean(v, limit) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple):
        return [_clean(v, limit) for v in list(value)[:100]]
    if value is None or isinstance(value, bool | int):
        return value
    return _clean(str(value), limit)
