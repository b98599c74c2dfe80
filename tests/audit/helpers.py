"""Reading the audit trail in tests (through the audit app's own modules, as the app does)."""

from audit.models import AuditEvent, AuditSeal  # noqa: TID251 (tests inspect the trail directly)
from audit.sealer import seal_all


def events():
    return AuditEvent.objects.order_by("sequence")


def last_event() -> AuditEvent:
    return events().last()


def head_sequence() -> int:
    """The highest event number so far (0 for none). Numbers increase but may skip (on
    PostgreSQL a rolled-back event, even another test's, used its number up), so count new
    events with events_after(), never by subtracting numbers."""
    event = last_event()
    return event.sequence if event else 0


def events_after(number: int):
    """The events numbered after `number` (say, a head_sequence() taken earlier)."""
    return events().filter(sequence__gt=number)


def events_about(public_id: str):
    """Events concerning a child, through the indexed link table (as the auditor reports do)."""
    return events().filter(child_links__child_public_id=public_id)


def seal() -> int:
    """Seals whatever waits for the sealer, as `seal_audit --follow` would have done by the
    time anyone verifies (PostgreSQL; on SQLite record() sealed each event already)."""
    return seal_all()


def seals():
    return AuditSeal.objects.order_by("position")


def seal_head_position() -> int:
    seal_ = seals().last()
    return seal_.position if seal_ else 0
