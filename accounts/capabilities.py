"""What each role may do: the one table that maps roles to capabilities."""

from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from accounts.models import Role, User, Vetting
from accounts.vetting import VettingStatus, vetting_status


class Capability(StrEnum):
    SEARCH_CHILDREN = "search_children"
    MANAGE_RECORDS = "manage_records"
    MANAGE_USERS = "manage_users"
    REVIEW_AUDIT = "review_audit"
    SHIELD_RECORDS = "shield_records"
    # Notices of views of the children one is responsible for (audit.Notice).
    READ_NOTICES = "read_notices"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.PRACTITIONER: frozenset({Capability.SEARCH_CHILDREN, Capability.READ_NOTICES}),
    Role.DATA_MANAGER: frozenset(
        {Capability.SEARCH_CHILDREN, Capability.MANAGE_RECORDS, Capability.READ_NOTICES}
    ),
    Role.LA_ADMIN: frozenset(
        {Capability.MANAGE_USERS, Capability.SHIELD_RECORDS, Capability.READ_NOTICES}
    ),
    Role.AUDITOR: frozenset({Capability.REVIEW_AUDIT}),
}


def capabilities_of(user: User) -> frozenset[Capability]:
    """The capabilities a signed-in, active user holds through their role.

    A platform operator (superuser) runs the service through Django's admin
    and holds none of these: operating the service is not a reason to look
    at children's records. A user whose vetting has lapsed holds none either, nor does a
    session that has not given its second factor (when REQUIRE_MFA is on).
    """
    granted = role_capabilities(user)
    if granted and second_factor_needed(user):
        # Signed in with a password only: nothing until the second factor is given.
        return frozenset()
    if granted and not vetting_of(user).allows_access:
        # Vetting lapsed or never complete: the role stands, its capabilities do not.
        return frozenset()
    return granted


def role_capabilities(user: User) -> frozenset[Capability]:
    """What the user's role grants, vetted or not (to tell "lapsed" from "not allowed")."""
    if not (user.is_authenticated and user.is_active) or not user.role:
        return frozenset()
    return ROLE_CAPABILITIES.get(Role(user.role), frozenset())


def vetting_of(user: User) -> VettingStatus:
    """The user's vetting today (the record is loaded with the user: accounts.backends)."""
    try:
        record = user.vetting
    except Vetting.DoesNotExist:
        record = None
    return vetting_status(record, today=timezone.localdate())


def has_capability(user: User, capability: Capability) -> bool:
    return capability in capabilities_of(user)


def second_factor_needed(user) -> bool:
    """Whether a signed-in request's user still has to give their second factor (one that
    counts: only a passkey, with REQUIRE_PASSKEY)."""
    if not settings.REQUIRE_MFA or not user.is_authenticated:
        return False
    from accounts.mfa import session_second_factor_given

    return not session_second_factor_given(user)


def grantable_roles(*, by: User) -> list[Role]:
    """The roles an LA admin may give, beside the table of what each role may do: never
    platform operator; auditor only with LA_ADMINS_MAY_GRANT_AUDITOR."""
    roles = [Role.PRACTITIONER, Role.DATA_MANAGER, Role.LA_ADMIN]
    if settings.LA_ADMINS_MAY_GRANT_AUDITOR:
        roles.append(Role.AUDITOR)
    return roles
