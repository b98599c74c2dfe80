"""Oversight's writes: the day rules' flags, and the auditor's one change, an outcome on a
flag appended with its audit event."""

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts.models import User
from audit.models import Action, AuditEvent, Flag, FlagOutcome, Outcome
from audit.oversight import flags
from audit.oversight.lookup_rules import area_code
from audit.selectors import start_of
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


@transaction.atomic
def flags_raise_for_day(*, day: date) -> int:
    """Raises the day rules' flags (audit.oversight.flags.findings_for_day) for one whole
    day; returns how many are new. Safe to run again: a flag whose key was raised before is
    not raised twice."""
    found = flags.findings_for_day(day=day)
    raised = set(
        Flag.objects.filter(key__in=[finding.key for _, finding in found]).values_list(
            "key", flat=True
        )
    )
    new = []
    for user_day, finding in found:
        if finding.key in raised:
            continue
        # The user as the trail last saw them that day (they may be gone since).
        latest = (
            AuditEvent.objects.filter(
                actor_id=user_day.actor_id, occurred_at__lt=start_of(day + timedelta(days=1))
            )
            .order_by("-sequence")
            .first()
        )
        user = User.objects.select_related("organisation").filter(pk=user_day.actor_id).first()
        new += flags.flags_from(
            [finding],
            actor=flags.actor_values(latest),
            area_code=area_code(user.organisation) if user else "",
            event_sequence=None,
        )
    flags.save_flags(new)
    return len(new)
