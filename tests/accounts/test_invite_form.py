"""What the add-a-user form hands the service (issue 16, item 3), and a service's errors
back on the form (signposting.forms.add_errors), as the LA admin's page shows them."""

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.capabilities import grantable_roles
from accounts.forms_users import InviteForm
from accounts.models import Role
from accounts.selectors import area_organisations
from signposting.forms import add_errors
from tests.factories import make_area, make_user

pytestmark = pytest.mark.django_db


def _form(admin, **data) -> InviteForm:
    area = admin.organisation
    fields = {
        "email": "Sam.Worker@Example.org",
        "given_name": "Sam",
        "family_name": "Worker",
        "job_title": "Social worker",
        "organisation": str(area.pk),
        "role": Role.PRACTITIONER.value,
        **data,
    }
    return InviteForm(
        fields, organisations=area_organisations(admin=admin), roles=grantable_roles(by=admin)
    )


def test_the_form_gives_the_service_the_new_user_s_details():
    admin = make_user(role=Role.LA_ADMIN, organisation=make_area())
    form = _form(admin)
    assert form.is_valid()
    invitation = form.invitation()
    assert invitation["organisation"] == admin.organisation
    assert invitation["role"] is Role.PRACTITIONER
    invited = services.user_invite(**invitation, by=admin, request=None)
    assert invited.user.username == "sam.worker@example.org"


def test_a_taken_address_comes_back_on_the_email_field():
    admin = make_user(role=Role.LA_ADMIN, organisation=make_area())
    first = _form(admin)
    assert first.is_valid()
    services.user_invite(**first.invitation(), by=admin, request=None)
    form = _form(admin)
    assert form.is_valid()
    with pytest.raises(ValidationError) as taken:
        services.user_invite(**form.invitation(), by=admin, request=None)
    add_errors(form, taken.value)
    assert form.errors["email"] == ["An account with this email address already exists"]


def test_an_error_for_no_field_of_the_form_goes_on_the_form_as_a_whole():
    admin = make_user(role=Role.LA_ADMIN, organisation=make_area())
    form = _form(admin)
    assert form.is_valid()
    add_errors(form, ValidationError({"username": "Taken", "email": "Bad"}))
    assert form.non_field_errors() == ["Taken"] and form.errors["email"] == ["Bad"]
    plain = _form(admin)
    assert plain.is_valid()
    add_errors(plain, ValidationError("Something is wrong"))
    assert plain.non_field_errors() == ["Something is wrong"]
