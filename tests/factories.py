"""Factory functions for tests: build exactly the organisations and users a test needs."""

import itertools

from accounts.models import Organisation, Role, User

PASSWORD = "a-long-test-password-42"
_counter = itertools.count(1)


def make_area(*, code: str | None = None, name: str | None = None) -> Organisation:
    """A local authority (by ONS code) created on demand."""
    n = next(_counter)
    code = code or f"E06{900000 + n:06d}"
    area, _ = Organisation.objects.get_or_create(
        ons_code=code,
        defaults={"name": name or f"Test Area {n}", "kind": Organisation.Kind.LOCAL_AUTHORITY},
    )
    return area


def make_partner(*, area: Organisation, name: str | None = None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.PARTNER_AGENCY,
        local_authority=area,
        name=name or f"Partner {next(_counter)}",
    )


def make_user(
    *,
    role: Role | None = Role.PRACTITIONER,
    organisation: Organisation | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    is_active: bool = True,
    superuser: bool = False,
) -> User:
    n = next(_counter)
    email = email or f"user{n}@example.org"
    if superuser:
        user = User.objects.create_superuser(username=email, email=email, password=password)
    else:
        user = User.objects.create_user(
            username=email,
            email=email,
            password=password,
            role=role,
            organisation=organisation or make_area(),
            first_name="Test",
            last_name=f"User{n}",
        )
    if not is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return user
