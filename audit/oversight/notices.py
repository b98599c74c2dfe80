"""Notices to the people responsible for a child that someone outside the child's services
viewed the record: the lead professional and, for a shielded record, the shielding
authority's admins. The notice itself is in the service only (/notices/); when e-mail is on,
an e-mail says that there is a new notice, with a link and nothing of the child, and no
other such e-mail follows until the person has opened their notices."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import OutboundEmail, Role, User
from accounts.outbox import email_on, email_queue, last_queued, service_link
from audit.models import AuditEvent, Notice

LEAD_PROFESSIONAL = "lead_professional"
SHIELDING_AUTHORITY = "shielding_authority"
BECAUSE = {
    LEAD_PROFESSIONAL: "You are the lead professional",
    SHIELDING_AUTHORITY: "Your authority shielded this record",
}
# The same reasons, as the e-mail gives them (after "You are told because").
BECAUSE_IN_EMAIL = {
    LEAD_PROFESSIONAL: "you are the child's lead professional",
    SHIELDING_AUTHORITY: "your authority shielded the child's record",
}


def recipients(*, facts: Any, viewer: User) -> list[tuple[int, str]]:
    """Who is told of this view, and why: (user id, because). Nobody when the viewer's
    organisation is working with the child; never the viewer themself."""
    if facts is None or viewer.organisation_id in facts.involved_organisation_ids:
        return []
    told: dict[int, str] = {}
    if facts.shielded_by_id is not None:
        admins = User.objects.filter(
            organisation_id=facts.shielded_by_id, role=Role.LA_ADMIN, is_active=True
        )
        told |= dict.fromkeys(admins.values_list("pk", flat=True), SHIELDING_AUTHORITY)
    if facts.lead_professional_emails:
        # Usernames are e-mail addresses; the register keeps whatever case the source sent.
        same_address = Q()
        for email in facts.lead_professional_emails:
            same_address |= Q(username__iexact=email)
        leads = User.objects.filter(same_address, is_active=True)
        told |= dict.fromkeys(leads.values_list("pk", flat=True), LEAD_PROFESSIONAL)
    told.pop(viewer.pk, None)
    return sorted(told.items())


def notices_for_view(*, event: AuditEvent, told: list[tuple[int, str]]) -> list[Notice]:
    """Unsaved notices of one record view."""
    return [
        Notice(
            recipient_id=recipient_id,
            child_public_id=event.children[0],
            viewed_at=event.occurred_at,
            event_sequence=event.sequence,
            viewer_name=event.actor_name or event.actor_username,
            viewer_role=event.actor_role,
            viewer_organisation=event.actor_organisation,
            reason_code=event.reason_code,
            because=because,
        )
        for recipient_id, because in told
    ]


def save_notices(notices: list[Notice]) -> None:
    if notices:
        Notice.objects.bulk_create(notices, ignore_conflicts=True)


def alerts_due(*, told: list[tuple[int, str]]) -> list[tuple[User, str]]:
    """Which of the people told of a view are also e-mailed (user, because): those who have
    had no such e-mail since they last opened their notices. None while e-mail is off."""
    if not told or not email_on():
        return []
    because = dict(told)
    alerted = last_queued(kind=OutboundEmail.Kind.RECORD_VIEWED, recipient_ids=list(because))
    people = User.objects.filter(pk__in=list(because), is_active=True).only(
        "pk", "username", "email", "first_name", "last_name", "notices_read_at"
    )
    return [
        (person, because[person.pk])
        for person in people
        if person.pk not in alerted
        or (person.notices_read_at is not None and alerted[person.pk] < person.notices_read_at)
    ]


def alerts_queue(alerts: list[tuple[User, str]]) -> None:
    """Queues the e-mails alerts_due chose, in the lookup's transaction."""
    for person, because in alerts:
        email_queue(
            kind=OutboundEmail.Kind.RECORD_VIEWED,
            recipient=person,
            personalisation={
                "given_name": person.first_name or person.get_full_name() or "colleague",
                "because": BECAUSE_IN_EMAIL[because],
                "link": service_link(reverse("notices")),
            },
        )


# --- Reads --------------------------------------------------------------------------------


def notices_since(*, now: datetime) -> datetime:
    return now - timedelta(days=settings.NOTICE_DAYS)


def notices_for(*, user: User, now: datetime) -> QuerySet[Notice]:
    """The user's notices of the last NOTICE_DAYS, newest first."""
    return Notice.objects.filter(recipient_id=user.pk, viewed_at__gte=notices_since(now=now))


UNREAD_SHOWN_UP_TO = 99


def unread_count(*, user: User) -> int:
    """Notices newer than the user last read them (counted up to 100: the header says 99+)."""
    since = notices_since(now=timezone.now())
    if user.notices_read_at is not None and user.notices_read_at > since:
        since = user.notices_read_at
    return (
        Notice.objects.filter(recipient_id=user.pk, viewed_at__gt=since)
        .values("pk")[: UNREAD_SHOWN_UP_TO + 1]
        .count()
    )


def mark_read(*, user: User, at: datetime) -> None:
    """Notices up to `at` are read. A plain update: not a change worth a history entry."""
    User.objects.filter(pk=user.pk).update(notices_read_at=at)
    user.notices_read_at = at
