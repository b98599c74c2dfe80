"""Reads about accounts."""

from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Invitation, Organisation, OutboundEmail, Role, SingleSignOn, User

# The table's name comes from the model; the values are parameters.
_FAILURES_SQL = (
    "SELECT COALESCE(SUM(failures_since_start), 0) FROM "  # noqa: S608
    + AccessAttempt._meta.db_table
    + " WHERE username = %s AND attempt_time >= %s"
)


def username_locked_out(*, username: str) -> bool:
    """Whether django-axes currently locks this username (the same count axes keeps)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    # Runs on every signed-in request: plain SQL, as Django takes longer to compile the
    # query than the database takes to run it (there are seldom any rows).
    with connection.cursor() as cursor:
        cursor.execute(_FAILURES_SQL, [username, since])
        failures = cursor.fetchone()[0]
    return failures >= settings.AXES_FAILURE_LIMIT


def area_admins(*, user: User) -> list[User]:
    """The active LA admins of the user's area: whom to ask about their account."""
    admins = users_in_area(admin=user).filter(role=Role.LA_ADMIN, is_active=True)
    return list(admins.exclude(pk=user.pk))


# --- Local authority admins' view of their area's users ------------------------------------


def users_in_area(*, admin: User) -> QuerySet[User]:
    """The users of the admin's local authority and its partner agencies (never operators)."""
    organisation = admin.organisation
    if organisation is None:
        return User.objects.none()
    area_id = organisation.area_id
    return (
        User.objects.filter(is_superuser=False)
        .filter(Q(organisation_id=area_id) | Q(organisation__local_authority_id=area_id))
        .select_related("organisation", "vetting")
        .order_by("last_name", "first_name", "username")
    )


def user_for_admin(*, admin: User, user_id: int) -> User | None:
    """One of the admin's area's users, or None: another area's users are not found."""
    return users_in_area(admin=admin).filter(pk=user_id).first()


def locked_usernames(*, usernames: list[str]) -> set[str]:
    """Which of these usernames django-axes locks now."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return {
        row["username"]
        for row in AccessAttempt.objects.filter(username__in=usernames, attempt_time__gte=since)
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        if row["failures"] >= settings.AXES_FAILURE_LIMIT
    }


def area_organisations(*, admin: User) -> list[Organisation]:
    """The admin's local authority and its partner agencies: where they may add users."""
    organisation = admin.organisation
    if organisation is None:
        return []
    area_id = organisation.area_id
    return list(
        Organisation.objects.filter(Q(pk=area_id) | Q(local_authority_id=area_id)).order_by(
            "local_authority_id", "name"
        )
    )


def invitation_usable(
    *, token: str, purpose: Invitation.Purpose = Invitation.Purpose.INVITATION
) -> Invitation | None:
    """The link, if it can still be used for this purpose (known, unused, unexpired)."""
    from accounts.tokens import token_hash

    return (
        Invitation.objects.select_related("user")
        .filter(
            token_sha256=token_hash(token),
            purpose=purpose,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


# The messages about a user's account that their admins may follow (not the notice alerts,
# which are about what the user is told of others' lookups).
ACCOUNT_EMAILS = (
    OutboundEmail.Kind.INVITATION,
    OutboundEmail.Kind.SECOND_FACTOR_RESET,
    OutboundEmail.Kind.VETTING_DUE,
)


def account_emails(*, user: User, limit: int = 10) -> list[OutboundEmail]:
    """The latest e-mails about the user's account, newest first: whether each has gone."""
    return list(
        OutboundEmail.objects.filter(recipient=user, kind__in=ACCOUNT_EMAILS)
        .defer("personalisation")
        .order_by("-created_at", "-pk")[:limit]
    )


# --- Single sign-on (accounts.single_sign_on) -----------------------------------------------


def single_sign_on_offered() -> bool:
    """Whether any organisation signs in with its own identity provider (the sign-in page then
    offers it). Only with OIDC_ENABLED."""
    return settings.OIDC_ENABLED and SingleSignOn.objects.filter(enabled=True).exists()


def single_sign_on_of(*, organisation_id: int) -> SingleSignOn | None:
    """The organisation's identity provider, if it has one that is enabled."""
    return (
        SingleSignOn.objects.select_related("organisation")
        .filter(organisation_id=organisation_id, enabled=True)
        .first()
    )


def single_sign_on_for_email(*, email: str) -> list[SingleSignOn]:
    """The enabled providers of organisations that allow the address's domain (usually one; a
    domain several organisations share, such as a health service's, gives each of them)."""
    domain = email.strip().lower().rpartition("@")[2]
    enabled = SingleSignOn.objects.select_related("organisation").filter(enabled=True)
    return [provider for provider in enabled if domain in provider.domains]
