"""What an involvement must hold: the one place that says it, asked by the manage pages,
the services, imports and the feed API (which checks rows as imports do).

A lead professional is the person other practitioners call first, so a lead professional
needs a name and a way to be reached: a phone number or an email address.
"""

LEAD_NEEDS_NAME = "A lead professional needs a name: enter the practitioner's name"
LEAD_NEEDS_CONTACT = (
    "A lead professional needs a way to be reached: enter a phone number or an email address"
)


def lead_professional_gaps(*, name: str, phone: str, email: str) -> dict[str, str]:
    """What a lead professional's involvement lacks, by field ({} when nothing): the name
    under practitioner_name, the phone or email under practitioner_phone."""
    gaps = {}
    if not (name or "").strip():
        gaps["practitioner_name"] = LEAD_NEEDS_NAME
    if not ((phone or "").strip() or (email or "").strip()):
        gaps["practitioner_phone"] = LEAD_NEEDS_CONTACT
    return gaps
