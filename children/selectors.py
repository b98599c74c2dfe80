"""Reads of the register."""

from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Organisation, User
from children.models import Address, Child, Involvement


def area_of(user: User) -> Organisation | None:
    """The local authority whose area a user works in (their organisation's)."""
    organisation = user.organisation
    if organisation is None:
        return None
    return organisation if organisation.is_local_authority else organisation.local_authority


def children_in_area(*, area: Organisation) -> QuerySet[Child]:
    """Children a data manager of `area` looks after: a current address in the area, or an
    involvement by an organisation of the area (the authority or one of its partner agencies)."""
    lives_here = Address.objects.filter(
        child=OuterRef("pk"), local_authority=area, moved_out_on__isnull=True
    )
    served_here = Involvement.objects.filter(child=OuterRef("pk")).filter(
        Q(organisation=area) | Q(organisation__local_authority=area)
    )
    return Child.objects.filter(Q(Exists(lives_here)) | Q(Exists(served_here)))


def children_for_data_manager(*, user: User) -> QuerySet[Child]:
    area = area_of(user)
    if area is None:
        return Child.objects.none()
    return children_in_area(area=area)


def children_due_for_purge(*, today: date) -> QuerySet[Child]:
    return Child.objects.filter(retention_ends_on__lt=today)
