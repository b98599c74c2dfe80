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


APP_ROLE = "signposting_test_app"


def make_app_role(cursor) -> str:
    """Creates the production app role and the owner role, NOLOGIN, with the grants that
    `audit_db_roles` gives them (PostgreSQL; inside the test's transaction, so rolled back
    with it). Returns the app role's name, for `SET ROLE`."""
    from audit.db_roles import grants_sql

    cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN")
    cursor.execute("CREATE ROLE signposting_test_owner NOLOGIN")
    for statement in grants_sql(app_role=APP_ROLE, owner_role="signposting_test_owner"):
        cursor.execute(statement)
    return APP_ROLE
