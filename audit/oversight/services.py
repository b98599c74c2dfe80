"""The auditor's one change: an outcome on a flag, appended with its audit event."""

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from audit.models import Action, Flag, FlagOutcome, Outcome
from audit.services import record


class OutcomeAlreadyRecorded(Exception):
    """The flag has an outcome already: outcomes are appended once, never replaced."""

    def __init__(self, existing: FlagOutcome) -> None:
        super().__init__(f"flag {existing.flag_id} already has an outcome")
        self.existing = existing


@transaction.atomic
def flag_outcome_record(
    *, request: HttpRequest, flag: Flag, outcome: Outcome, note: str
) -> FlagOutcome:
    """Closes a flag with an auditor's outcome: a FlagOutcome row and a flag_outcome audit
    event, together or not at all. A second outcome for the same flag is refused."""
    existing = FlagOutcome.objects.filter(flag=flag).first()
    if existing is not None:
        raise OutcomeAlreadyRecorded(existing)
    auditor = request.user
    event = record(
        request=request,
        action=Action.FLAG_OUTCOME,
        children=[flag.child_public_id] if flag.child_public_id else [],
        outcome=Outcome(outcome).value,
        reason_text=note,
        detail={"flag": flag.pk, "rule": flag.rule, "about_user": flag.actor_id},
    )
    try:
        with transaction.atomic():
            return FlagOutcome.objects.create(
                flag=flag,
                outcome=outcome,
                note=note,
                auditor_id=auditor.pk,
                auditor_username=auditor.get_username(),
                auditor_name=auditor.get_full_name(),
                event_sequence=event.sequence,
            )
    except IntegrityError:
        # Another auditor's outcome landed first (the flag is unique in the table).
        existing = FlagOutcome.objects.get(flag=flag)
        raise OutcomeAlreadyRecorded(existing) from None
