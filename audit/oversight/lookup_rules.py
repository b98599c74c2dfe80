"""Oversight of a lookup as it is recorded: misuse flags (audit.oversight.flags) and notices
to the people responsible for the child (audit.oversight.notices). Registered as a hook of
the trail (audit.hooks, from AuditConfig.ready), it runs inside audit.services.record, in
the lookup's own transaction: if it cannot be written, the lookup shows nothing.

In two halves: what the rules and the notices need is read before the event is appended
(`before_append`), and only the inserts follow it (`after_append`), which need the event's
number. (The append took the chain lock until commit when the halves were drawn; it takes
none since the chain is sealed after commit, docs/decisions/0010, and the halves stay.)
"""

from dataclasses import dataclass
from typing import Any

from accounts.models import Organisation
from audit.hooks import AppendHook
from audit.models import Action, AuditEvent
from audit.oversight import flags, notices
from children.selectors import oversight_facts

# The actions a lookup records (audit.lookup): searches, record views and refusals.
OVERSEEN = frozenset({Action.SEARCH, Action.RECORD_VIEW, Action.ACCESS_DENIED})


@dataclass(frozen=True)
class Pending:
    """What a lookup's oversight will write once its event has its number (`sequence`)."""

    findings: list[flags.Finding]
    area_code: str
    told: list[tuple[int, str]]  # (user id, because) of the notices
    alerts: list  # (user, because) of the notices also e-mailed


def before_append(*, event: AuditEvent, actor: Any) -> Pending | None:
    """Runs the lookup rules and finds whom to tell, for an event not yet appended."""
    if event.action not in OVERSEEN:
        return None
    facts = None
    if event.action == Action.RECORD_VIEW and len(event.children) == 1:
        facts = oversight_facts(public_id=event.children[0], viewer=actor)
    findings = flags.findings_for_lookup(event=event, facts=facts)
    told = notices.recipients(facts=facts, viewer=actor) if facts is not None else []
    if not findings and not told:
        return None
    return Pending(
        findings=findings,
        area_code=area_code(actor.organisation) if findings else "",
        told=told,
        alerts=notices.alerts_due(told=told),
    )


def after_append(*, pending: Pending, event: AuditEvent) -> None:
    """Writes the flags and notices of an appended event."""
    if pending.findings:
        flags.save_flags(
            flags.flags_from(
                pending.findings,
                actor=flags.actor_values(event),
                area_code=pending.area_code,
                event_sequence=event.sequence,
            )
        )
    if pending.told:
        notices.save_notices(notices.notices_for_view(event=event, told=pending.told))
    if pending.alerts:
        notices.alerts_queue(pending.alerts)


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


LOOKUP_RULES = AppendHook(name="lookup_rules", before=before_append, after=after_append)
