"""What the service e-mails its users, and when: set-up links (an invitation, a second-factor
reset) and re-vetting reminders. Each call queues a message in the outbox, in the caller's
transaction (accounts.outbox); nothing is queued while e-mail is off.

No message carries child data: the alert of a viewed record (audit.oversight.notices) links
to the notices page and says nothing of the child. Staff names and organisations appear.
"""

import hashlib
from collections import defaultdict
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import OutboundEmail, Role, User
from accounts.outbox import email_on, email_queue, service_link
from accounts.vetting import VettingState, dbs_lapses_on, training_lapses_on, vetting_status

Kind = OutboundEmail.Kind


def when(moment: datetime) -> str:
    """A time as a message gives it: 9 December 2026 at 14:05 (UK time)."""
    local = timezone.localtime(moment)
    return f"{local:%-d %B %Y} at {local:%H:%M}"


def day(value: date) -> str:
    return f"{value:%-d %B %Y}"


def given_name(user: User) -> str:
    return user.first_name or user.get_full_name() or "colleague"


def staff_name(user: User | None) -> str:
    """How a message names the admin who acted: their name and organisation."""
    if user is None:
        return "The service's operators"
    name = user.get_full_name() or user.username
    return f"{name} ({user.organisation})" if user.organisation_id else name


def set_up_link_queue(
    *, user: User, by: User | None, token: str, expires_at: datetime, reset: bool
) -> bool:
    """E-mails a new invitation or second-factor set-up link to the user. Not worth sending
    once the link has expired."""
    if reset:
        kind = Kind.SECOND_FACTOR_RESET
        path = reverse("second-factor-setup", kwargs={"token": token})
        personalisation = {"reset_by": staff_name(by)}
    else:
        kind = Kind.INVITATION
        path = reverse("invitation", kwargs={"token": token})
        personalisation = {
            "invited_by": staff_name(by),
            "organisation": str(user.organisation) if user.organisation_id else "",
        }
    return email_queue(
        kind=kind,
        recipient=user,
        personalisation={
            "given_name": given_name(user),
            "link": service_link(path),
            "expires": when(expires_at),
            **personalisation,
        },
        expires_at=expires_at,
    )


# --- Re-vetting reminders ---------------------------------------------------------------------


def vetting_reminders_queue(*, today: date) -> tuple[int, int]:
    """Reminds each active user whose access lapses within VETTING_DUE_DAYS, once for each
    lapse date, and tells their area's LA admins in one message each listing the users newly
    reminded. Returns (users reminded, admins told). Run by `manage.py nightly`."""
    if not email_on():
        return 0, 0
    newly_due: dict[int, list[str]] = defaultdict(list)  # area id -> lines for its admins
    reminded = 0
    for user in _due_users(today=today):
        status = vetting_status(user.vetting, today=today)
        if status.state != VettingState.DUE:
            continue
        queued = email_queue(
            kind=Kind.VETTING_DUE,
            recipient=user,
            personalisation={
                "given_name": given_name(user),
                "lapses_on": day(status.lapses_on),
                "lapsing": _lapsing(user, lapses_on=status.lapses_on),
                "link": service_link(reverse("home")),
            },
            dedupe_key=f"vetting_due:{user.pk}:{status.lapses_on.isoformat()}",
        )
        if queued:
            reminded += 1
            name = user.get_full_name() or user.username
            newly_due[user.organisation.area_id].append(
                f"{name}, {user.organisation}: access ends on {day(status.lapses_on)}"
            )
    told = sum(
        _tell_admins(area_id=area_id, people=people, today=today)
        for area_id, people in newly_due.items()
    )
    return reminded, told


def _due_users(*, today: date):
    """Active users whose DBS check or training lapses within VETTING_DUE_DAYS and not yet:
    a narrow read of the candidates (a day's margin each way), checked exactly after."""
    horizon = today + timedelta(days=settings.VETTING_DUE_DAYS + 1)
    dbs_from = today - relativedelta(months=settings.VETTING_DBS_MONTHS) - timedelta(days=1)
    dbs_to = horizon - relativedelta(months=settings.VETTING_DBS_MONTHS)
    training_from = (
        today - relativedelta(months=settings.VETTING_TRAINING_MONTHS) - timedelta(days=1)
    )
    training_to = horizon - relativedelta(months=settings.VETTING_TRAINING_MONTHS)
    return (
        User.objects.filter(is_active=True, is_superuser=False, vetting__isnull=False)
        .filter(
            Q(vetting__dbs_checked_on__range=(dbs_from, dbs_to))
            | Q(vetting__training_completed_on__range=(training_from, training_to))
        )
        .select_related("vetting", "organisation", "organisation__local_authority")
        .order_by("pk")
    )


def _lapsing(user: User, *, lapses_on: date) -> str:
    vetting = user.vetting
    parts = []
    if dbs_lapses_on(vetting.dbs_checked_on) == lapses_on:
        parts.append("your DBS check")
    if training_lapses_on(vetting.training_completed_on) == lapses_on:
        parts.append("your training for the service")
    return " and ".join(parts)


def _tell_admins(*, area_id: int, people: list[str], today: date) -> int:
    admins = User.objects.filter(
        Q(organisation_id=area_id) | Q(organisation__local_authority_id=area_id),
        role=Role.LA_ADMIN,
        is_active=True,
    ).select_related("organisation", "organisation__local_authority")
    listed = hashlib.sha256("\n".join(people).encode()).hexdigest()[:16]
    told = 0
    for admin in admins:
        told += email_queue(
            kind=Kind.VETTING_DUE_ADMIN,
            recipient=admin,
            personalisation={
                "given_name": given_name(admin),
                "area": str(admin.organisation.area),
                "people": people,
                "link": service_link(reverse("accounts:users")),
            },
            # The same list is not sent twice, should `nightly` run twice in a day.
            dedupe_key=f"vetting_due_admin:{admin.pk}:{today.isoformat()}:{listed}",
        )
    return told
