"""Oversight of a lookup as it is recorded: misuse flags (audit.flags) and notices to the
people responsible for the child (audit.notices). Runs inside audit.services.record, in the
lookup's own transaction: if it cannot be written, the lookup shows nothing."""

from typing import Any

from accounts.models import Organisation
from audit import flags, notices
from audit.models import Action, AuditEvent
from children.selectors import oversight_facts

# The actions a lookup records (audit.lookup): searches, record views and refusals.
OVERSEEN = frozenset({Action.SEARCH, Action.RECORD_VIEW, Action.ACCESS_DENIED})


def after_lookup(*, event: AuditEvent, actor: Any) -> None:
    facts = None
    if event.action == Action.RECORD_VIEW and len(event.children) == 1:
        facts = oversight_facts(public_id=event.children[0], viewer=actor)
    findings = flags.findings_for_lookup(event=event, facts=facts)
    if findings:
        flags.save_flags(
            flags.flags_from(
                findings,
                actor=flags.actor_values(event),
                area_code=area_code(actor.organisation),
                event_sequence=event.sequence,
            )
        )
    if facts is not None:
        told = notices.recipients(facts=facts, viewer=actor)
        notices.save_notices(notices.notices_for_view(event=event, told=told))


def area_code(organisation: Organisation | None) -> str:
    """The ONS code of the local authority an organisation works in."""
    if organisation is None:
        return ""
    if organisation.is_local_authority:
        return organisation.ons_code or ""
    code = (
        Organisation.objects.filter(pk=organisation.local_authority_id)
        .values_list("ons_code", flat=True)
        .first()
    )
    return code or ""
