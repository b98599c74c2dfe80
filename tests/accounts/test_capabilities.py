"""Roles grant capabilities through one table; views declare what they need."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.capabilities import ROLE_CAPABILITIES, Capability, capabilities_of
from accounts.decorators import requires
from accounts.models import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_every_role_has_an_entry_in_the_table():
    assert set(ROLE_CAPABILITIES) == set(Role)


@pytest.mark.parametrize(
    ("role", "capability", "granted"),
    [
        (Role.PRACTITIONER, Capability.SEARCH_CHILDREN, True),
        (Role.PRACTITIONER, Capability.MANAGE_USERS, False),
        (Role.PRACTITIONER, Capability.REVIEW_AUDIT, False),
        (Role.DATA_MANAGER, Capability.MANAGE_RECORDS, True),
        (Role.LA_ADMIN, Capability.MANAGE_USERS, True),
        (Role.LA_ADMIN, Capability.SEARCH_CHILDREN, False),
        (Role.AUDITOR, Capability.REVIEW_AUDIT, True),
        (Role.AUDITOR, Capability.SEARCH_CHILDREN, False),
    ],
)
def test_role_grants(role, capability, granted):
    assert (capability in capabilities_of(make_user(role=role))) is granted


def test_platform_operator_holds_no_service_capability():
    assert capabilities_of(make_user(superuser=True)) == frozenset()


def test_inactive_user_holds_nothing():
    assert capabilities_of(make_user(is_active=False)) == frozenset()


def _view(request):
    return HttpResponse("secret")


def test_requires_sends_anonymous_users_to_sign_in():
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    response = requires(Capability.SEARCH_CHILDREN)(_view)(request)
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/somewhere/"


def test_requires_refuses_a_user_without_the_capability():
    request = RequestFactory().get("/somewhere/")
    request.user = make_user(role=Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        requires(Capability.SEARCH_CHILDREN)(_view)(request)


def test_requires_lets_a_user_with_the_capability_through():
    request = RequestFactory().get("/somewhere/")
    request.user = make_user(role=Role.PRACTITIONER)
    view = requires(Capability.SEARCH_CHILDREN)(_view)
    assert view(request).content == b"secret"
    assert view.required_capability == Capability.SEARCH_CHILDREN


def test_the_roles_an_la_admin_may_grant_sit_beside_the_capability_table(settings):
    from accounts.capabilities import grantable_roles

    admin = make_user(role=Role.LA_ADMIN)
    settings.LA_ADMINS_MAY_GRANT_AUDITOR = False
    assert grantable_roles(by=admin) == [Role.PRACTITIONER, Role.DATA_MANAGER, Role.LA_ADMIN]
    settings.LA_ADMINS_MAY_GRANT_AUDITOR = True
    assert Role.AUDITOR in grantable_roles(by=admin)
