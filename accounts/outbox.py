"""The outbox: e-mails written in the transaction of the action that causes them and sent
afterwards, so that sending never loses the action (a failed send is tried again) and an
action rolled back sends nothing.

`email_queue` is called inside a service's transaction. `outbox_send_due` sends what is due:
`manage.py nightly` calls it once, `manage.py send_outbox --follow` every few seconds. A
sender claims messages for a while before sending them (on PostgreSQL skipping rows another
sender holds), so two senders never send one message at once; if a sender dies mid-send, the
claim runs out and the message is tried again, so a message may, rarely, arrive twice.

Each try is kept (EmailAttempt). A failure is tried again after a wait that doubles, from a
minute up to six hours, until OUTBOX_MAX_ATTEMPTS; an address the server or Notify refuses
for good, or a message whose link has expired, is given up at once. Messages go through
Django's e-mail API: SMTP (EMAIL_URL) renders templates/emails/<kind>.txt; GOV.UK Notify
(accounts.notify) sends its own template for the kind, with the same personalisation.
"""

import logging
import smtplib
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Count, Max
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import NOT_SENT, EmailAttempt, OutboundEmail, User
from accounts.notify import NotifyEmail

logger = logging.getLogger(__name__)

EXPIRED = f"{NOT_SENT}the link in it expired first"
Kind = OutboundEmail.Kind
State = OutboundEmail.State

# A sender claims this many messages at a time and holds them for CLAIM (sending one takes
# at most EMAIL_TIMEOUT); after it, another sender may try them.
BATCH = 20
CLAIM = timedelta(minutes=15)
# After this many failed tries in a row, a round stops: the rest wait for the next.
GIVE_UP_BATCH_AFTER = 3
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)


def email_on() -> bool:
    return settings.EMAIL_ENABLED


def service_link(path: str) -> str:
    """An absolute link into the service, for a message (SERVICE_URL + path)."""
    return f"{settings.SERVICE_URL}{path}"


def email_queue(
    *,
    kind: Kind,
    recipient: User | None = None,
    to: str = "",
    personalisation: Mapping[str, object],
    dedupe_key: str | None = None,
    expires_at: datetime | None = None,
) -> bool:
    """Queues a message, inside the caller's transaction. False when e-mail is off, when the
    recipient has no address, or when a message with this dedupe key was queued before."""
    address = to or (recipient.email or recipient.username if recipient is not None else "")
    if not email_on() or not address:
        return False
    if dedupe_key is not None and OutboundEmail.objects.filter(dedupe_key=dedupe_key).exists():
        return False
    OutboundEmail.objects.create(
        kind=kind,
        to=address,
        recipient=recipient,
        personalisation=dict(personalisation),
        dedupe_key=dedupe_key,
        expires_at=expires_at,
    )
    return True


def last_queued(*, kind: Kind, recipient_ids: list[int]) -> dict[int, datetime]:
    """When a message of this kind was last queued for each of these users (those who had
    one)."""
    rows = (
        OutboundEmail.objects.filter(kind=kind, recipient_id__in=recipient_ids)
        .values("recipient_id")
        .annotate(last=Max("created_at"))
    )
    return {row["recipient_id"]: row["last"] for row in rows}


@dataclass(frozen=True)
class OutboxFigures:
    by_state: dict[str, int]
    oldest_waiting_seconds: float
    failed_tries_last_hour: int
    failed_tries_last_day: int


def outbox_figures(*, now: datetime) -> OutboxFigures:
    """The outbox's figures for the metrics (signposting.metrics)."""
    by_state = dict.fromkeys(State.values, 0)
    for row in OutboundEmail.objects.values("state").annotate(count=Count("pk")):
        by_state[row["state"]] = row["count"]
    oldest = (
        OutboundEmail.objects.filter(state=State.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    failed = EmailAttempt.objects.exclude(outcome=EmailAttempt.Outcome.SENT)
    return OutboxFigures(
        by_state=by_state,
        oldest_waiting_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        failed_tries_last_hour=failed.filter(at__gte=now - timedelta(hours=1)).count(),
        failed_tries_last_day=failed.filter(at__gte=now - timedelta(days=1)).count(),
    )


# --- Sending ----------------------------------------------------------------------------------


@dataclass
class SendCounts:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def tried(self) -> int:
        return self.sent + self.retrying + self.failed

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to be tried again, {self.failed} given up"


def outbox_send_due(*, now: datetime | None = None, limit: int = 200) -> SendCounts:
    """Sends the messages due by `now`, up to `limit`, each once, and records each try. It
    claims BATCH messages at a time, so that a claim never runs out while its sender is busy
    with the messages before; it stops early when the server or Notify seems down."""
    now = now or timezone.now()
    counts = SendCounts()
    counts.failed += _give_up_expired(now=now)
    while counts.tried < limit:
        claim = uuid.uuid4().hex
        emails = _claim_due(now=now, limit=min(BATCH, limit - counts.tried), claim=claim)
        if not emails or not _send_batch(emails, claim=claim, now=now, counts=counts):
            break
    return counts


def _send_batch(
    emails: list[OutboundEmail], *, claim: str, now: datetime, counts: SendCounts
) -> bool:
    """Sends claimed messages; False if it stopped after GIVE_UP_BATCH_AFTER failures in a
    row (the rest are released, untried, for the next round)."""
    failures_in_a_row = 0
    for index, email in enumerate(emails):
        if failures_in_a_row >= GIVE_UP_BATCH_AFTER:
            _release(emails[index:], claim=claim)
            return False
        outcome = _send_one(email, claim=claim, now=now)
        if outcome == EmailAttempt.Outcome.SENT:
            counts.sent += 1
        elif outcome == EmailAttempt.Outcome.RETRY:
            counts.retrying += 1
        else:
            counts.failed += 1
        failures_in_a_row = 0 if outcome == EmailAttempt.Outcome.SENT else failures_in_a_row + 1
    return failures_in_a_row < GIVE_UP_BATCH_AFTER


def outbox_follow(*, stop: threading.Event, poll_seconds: float, limit: int = 200) -> int:
    """Sends due messages until `stop` is set, looking again every `poll_seconds` when
    there was nothing to send (`manage.py send_outbox --follow`). Returns the number sent."""
    sent = 0
    while not stop.is_set():
        if not connection.in_atomic_block:
            close_old_connections()  # a long-lived worker: drop a connection broken or aged
        try:
            counts = outbox_send_due(limit=limit)
        except DatabaseError:
            logger.exception("Outbox round failed; trying again")
            counts = SendCounts()
        sent += counts.sent
        if counts.tried == 0 or counts.retrying:
            stop.wait(poll_seconds)
    return sent


def outbox_prune(*, now: datetime) -> int:
    """Deletes sent and given-up messages (and their tries) older than OUTBOX_KEEP_DAYS."""
    cutoff = now - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    deleted, _ = OutboundEmail.objects.filter(
        state__in=[State.SENT, State.FAILED], created_at__lt=cutoff
    ).delete()
    return deleted


def _release(emails: list[OutboundEmail], *, claim: str) -> None:
    OutboundEmail.objects.filter(pk__in=[email.pk for email in emails], claim=claim).update(
        claim="", claimed_until=None
    )


def retry_wait(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed try a message is tried again."""
    return min(FIRST_WAIT * 2 ** (attempts - 1), LONGEST_WAIT)


@transaction.atomic
def _give_up_expired(*, now: datetime) -> int:
    expired = OutboundEmail.objects.filter(state=State.PENDING, expires_at__lte=now)
    ids = list(expired.values_list("pk", flat=True))
    for pk in ids:
        EmailAttempt.objects.create(
            email_id=pk,
            at=now,
            outcome=EmailAttempt.Outcome.FAILED,
            error=EXPIRED,
        )
    OutboundEmail.objects.filter(pk__in=ids).update(
        state=State.FAILED,
        personalisation={},
        last_error=EXPIRED,
        claim="",
        claimed_until=None,
    )
    return len(ids)


@transaction.atomic
def _claim_due(*, now: datetime, limit: int, claim: str) -> list[OutboundEmail]:
    due = OutboundEmail.objects.filter(state=State.PENDING, send_after__lte=now).exclude(
        claimed_until__gt=now
    )
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    emails = list(due.order_by("send_after", "pk")[:limit])
    OutboundEmail.objects.filter(pk__in=[email.pk for email in emails]).update(
        claim=claim, claimed_until=now + CLAIM
    )
    return emails


def _send_one(email: OutboundEmail, *, claim: str, now: datetime) -> str:
    started = time.monotonic()
    try:
        message = message_for(email)
        message.send()
    except Exception as error:  # every failure is recorded; the kind decides a retry
        reference, problem = "", f"{type(error).__name__}: {error}"[:500]
        permanent = refused_for_good(error)
    else:
        reference, problem, permanent = _reference(message), "", False
    duration_ms = round((time.monotonic() - started) * 1000)
    return _record_try(
        email,
        claim=claim,
        now=now,
        reference=reference,
        problem=problem,
        permanent=permanent,
        duration_ms=duration_ms,
    )


@transaction.atomic
def _record_try(
    email: OutboundEmail,
    *,
    claim: str,
    now: datetime,
    reference: str,
    problem: str,
    permanent: bool,
    duration_ms: int,
) -> str:
    attempts = email.attempts + 1
    if not problem:
        outcome = EmailAttempt.Outcome.SENT
        changes = {"state": State.SENT, "sent_at": timezone.now(), "personalisation": {}}
    elif permanent or attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        outcome = EmailAttempt.Outcome.FAILED
        changes = {"state": State.FAILED, "personalisation": {}}
    else:
        outcome = EmailAttempt.Outcome.RETRY
        changes = {"send_after": now + retry_wait(attempts)}
    updated = OutboundEmail.objects.filter(pk=email.pk, claim=claim).update(
        attempts=attempts,
        provider_reference=reference,
        last_error=problem,
        claim="",
        claimed_until=None,
        **changes,
    )
    if updated:
        EmailAttempt.objects.create(
            email_id=email.pk, outcome=outcome, error=problem, duration_ms=duration_ms
        )
    # The kind and the outbox id only: addresses stay out of the logs.
    logger.log(
        logging.INFO if outcome == EmailAttempt.Outcome.SENT else logging.WARNING,
        "email %s",
        outcome,
        extra={
            "outbox_id": email.pk,
            "email_kind": email.kind,
            "attempt": attempts,
            "email_error": problem.split(":", 1)[0],
            "duration_ms": duration_ms,
        },
    )
    return outcome


def refused_for_good(error: Exception) -> bool:
    """Whether trying again cannot help: the SMTP server refused every recipient with a
    permanent (5xx) answer, or Notify refused the request as bad (400: e.g. no such
    address). Anything else (a server down, busy or refusing for now) is tried again."""
    from notifications_python_client.errors import HTTPError

    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, HTTPError):
        return error.status_code == 400
    return False


# --- Messages ---------------------------------------------------------------------------------


def message_for(email: OutboundEmail) -> EmailMessage:
    """The message of an outbox row, through Django's e-mail API: for Notify its template
    and personalisation, for SMTP the subject and plain-text body rendered from
    templates/emails/."""
    context = dict(email.personalisation)
    subject = " ".join(render_to_string(f"emails/{email.kind}_subject.txt", context).split())
    body = render_to_string(f"emails/{email.kind}.txt", context)
    if settings.GOVUK_NOTIFY_API_KEY:
        return NotifyEmail(
            template_id=settings.GOVUK_NOTIFY_TEMPLATE_IDS[email.kind],
            personalisation=_for_notify(context),
            reference=f"outbox-{email.pk}",
            to=[email.to],
        )
    return EmailMessage(
        subject=subject,
        body=body,
        to=[email.to],
        headers={"Message-ID": make_msgid(domain=DNS_NAME)},
    )


def _for_notify(context: Mapping[str, object]) -> dict[str, object]:
    """Notify takes strings and lists of strings (shown as a bulleted list)."""
    return {
        key: [str(item) for item in value] if isinstance(value, list) else str(value)
        for key, value in context.items()
    }


def _reference(message: EmailMessage) -> str:
    if isinstance(message, NotifyEmail):
        return message.provider_reference
    return str(message.extra_headers.get("Message-ID", ""))
