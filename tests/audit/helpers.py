"""Reading the audit trail in tests (through the audit app's own modules, as the app does)."""

from audit.models import AuditEvent  # noqa: TID251 (tests inspect the trail directly)


def events():
    return AuditEvent.objects.order_by("sequence")


def last_event() -> AuditEvent:
    return events().last()


def head_sequence() -> int:
    event = last_event()
    return event.sequence if event else 0


def events_about(public_id: str):
    """Events concerning a child, through the indexed link table (as the auditor reports do)."""
    return events().filter(child_links__child_public_id=public_id)
