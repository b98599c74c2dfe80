"""Local authority admins manage their own area's users: the list, vetting, role, suspension
and lockouts. Another area's users are not found. Every change is an audit event (and a
change-history entry), written by accounts.services."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import services
from accounts.capabilities import Capability, grantable_roles, vetting_of
from accounts.decorators import requires
from accounts.forms_users import InviteForm, RoleForm, VettingForm
from accounts.models import Role, User
from accounts.selectors import (
    account_emails,
    area_organisations,
    locked_usernames,
    user_for_admin,
    users_in_area,
)
from signposting.forms import add_errors


@require_safe
@requires(Capability.MANAGE_USERS)
def users(request: HttpRequest) -> HttpResponse:
    """Everyone in the admin's area, with their role, vetting and whether they can sign in."""
    people = list(users_in_area(admin=request.user))
    locked = locked_usernames(usernames=[person.username for person in people])
    rows = [
        {
            "user": person,
            "vetting": vetting_of(person),
            "locked": person.username in locked,
        }
        for person in people
    ]
    return render(
        request,
        "accounts/users.html",
        {"rows": rows, "area": request.user.organisation.area.name, "done": _done(request)},
    )


@require_safe
@requires(Capability.MANAGE_USERS)
def user(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _in_area(request, user_id)
    return render(
        request,
        "accounts/user.html",
        {
            "person": person,
            "vetting": vetting_of(person),
            "record": getattr(person, "vetting", None),
            "locked": person.username in locked_usernames(usernames=[person.username]),
            "is_self": person.pk == request.user.pk,
            "done": _done(request),
            "emails": account_emails(user=person),
            "email_on": settings.EMAIL_ENABLED,
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def user_vetting(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _in_area(request, user_id)
    form = VettingForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.vetting_record(
                user=person,
                by=request.user,
                request=request,
                dbs_checked_on=data["dbs_checked_on"],
                dbs_certificate=data["dbs_certificate"] or None,
                training_completed_on=data["training_completed_on"],
                agreement_accepted_on=data["agreement_accepted_on"],
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            return _back_to(person, "vetting")
    return _form_page(
        request,
        form,
        person=person,
        heading="Record vetting",
        intro=(
            "Enter what has been checked: a new DBS check, completed training or the signed "
            "user agreement. Leave the rest empty to keep what is recorded."
        ),
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _in_area(request, user_id)
    roles = grantable_roles(by=request.user)
    form = RoleForm(
        request.POST if request.method == "POST" else None,
        roles=roles,
        initial={"role": person.role},
    )
    if form.is_valid():
        try:
            services.user_role_change(
                user=person, role=Role(form.cleaned_data["role"]), by=request.user, request=request
            )
        except services.NotAllowed as refused:
            form.add_error("role", str(refused))
        else:
            return _back_to(person, "role")
    return _form_page(
        request,
        form,
        person=person,
        heading="Change role",
        intro="The new role applies from the user's next click.",
    )


STATUS_CHANGES = ("suspend", "reactivate")


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def user_status(request: HttpRequest, user_id: int) -> HttpResponse:
    """Suspend (ending every session at once) or reactivate: check your answers first (GET,
    or a POST not yet confirmed), then the change (a confirmed POST)."""
    person = _in_area(request, user_id)
    action = (request.POST if request.method == "POST" else request.GET).get("action")
    if (
        action not in STATUS_CHANGES
        or (action == "suspend") != person.is_active
        or person.pk == request.user.pk  # never one's own account
    ):
        return redirect("accounts:user", user_id=person.pk)
    if request.method == "GET" or request.POST.get("confirm") != "yes":
        return render(
            request,
            "accounts/user_status_check.html",
            {"person": person, "action": action},
        )
    try:
        if action == "suspend":
            services.user_suspend(user=person, by=request.user, request=request)
        elif action == "reactivate":
            services.user_reactivate(user=person, by=request.user, request=request)
        else:
            return redirect("accounts:user", user_id=person.pk)
    except services.NotAllowed:
        return redirect("accounts:user", user_id=person.pk)
    return _back_to(person, action)


@require_POST
@requires(Capability.MANAGE_USERS)
def user_unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _in_area(request, user_id)
    services.user_unlock(user=person, by=request.user, request=request)
    return _back_to(person, "unlock")


DONE = {
    "vetting": "The vetting has been recorded.",
    "role": "The role has been changed.",
    "suspend": "The account is suspended and all its sessions have ended.",
    "reactivate": "The account is active again.",
    "unlock": "The account is unlocked.",
}


def _done(request: HttpRequest) -> str:
    return DONE.get(request.GET.get("done", ""), "")


def _back_to(person: User, done: str) -> HttpResponse:
    return redirect(reverse("accounts:user", kwargs={"user_id": person.pk}) + f"?done={done}")


def _in_area(request: HttpRequest, user_id: int) -> User:
    person = user_for_admin(admin=request.user, user_id=user_id)
    if person is None:
        # Another authority's user, or nobody: the same answer for both.
        raise Http404
    return person


def _form_page(request: HttpRequest, form, *, person: User, heading: str, intro: str):
    return render(
        request,
        "children/manage/form.html",
        {
            "form": form,
            "heading": heading,
            "caption": person.get_full_name() or person.username,
            "intro": intro,
            "back_url": reverse("accounts:user", kwargs={"user_id": person.pk}),
            "today": timezone.localdate(),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def user_create(request: HttpRequest) -> HttpResponse:
    """A new user of the area, with a single-use link to set their password."""
    form = InviteForm(
        request.POST if request.method == "POST" else None,
        organisations=area_organisations(admin=request.user),
        roles=grantable_roles(by=request.user),
    )
    if form.is_valid():
        try:
            invited = services.user_invite(**form.invitation(), by=request.user, request=request)
        except ValidationError as error:
            add_errors(form, error)
        except services.NotAllowed as refused:
            form.add_error(None, str(refused))
        else:
            return _invited(request, invited)
    return render(
        request,
        "children/manage/form.html",
        {
            "form": form,
            "heading": "Add a user",
            "intro": (
                "They get a link to set their password, which works once within "
                f"{settings.INVITATION_HOURS} hours. Record their vetting before they can use "
                "the service."
            ),
            "back_url": reverse("accounts:users"),
        },
    )


@require_POST
@requires(Capability.MANAGE_USERS)
def user_invitation(request: HttpRequest, user_id: int) -> HttpResponse:
    """A new invitation link for a user who has not set a password yet."""
    person = _in_area(request, user_id)
    try:
        invited = services.invitation_reissue(user=person, by=request.user, request=request)
    except services.NotAllowed:
        return redirect("accounts:user", user_id=person.pk)
    return _invited(request, invited)


def _invited(request: HttpRequest, invited: services.Invited) -> HttpResponse:
    """The link, shown this once (the page is not stored: signed-in pages are no-store), or
    when e-mail is on, only that it is being sent: then nobody but the user sees it."""
    return render(
        request,
        "accounts/invited.html",
        {"invited": invited, "link": _link(request, invited, "invitation")},
    )


def _link(request: HttpRequest, invited: services.Invited, url_name: str) -> str:
    if invited.emailed:
        return ""
    return request.build_absolute_uri(reverse(url_name, kwargs={"token": invited.token}))


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_USERS)
def user_second_factor(request: HttpRequest, user_id: int) -> HttpResponse:
    """Resets a user's lost second factor: check your answers (GET), then confirm (POST),
    which ends their sessions and gives a single-use link to set up a new one."""
    person = _in_area(request, user_id)
    problem = ""
    if request.method == "POST":
        try:
            invited = services.second_factor_reset(user=person, by=request.user, request=request)
        except services.NotAllowed as refused:
            problem = str(refused)
        else:
            return render(
                request,
                "accounts/second_factor_reset_done.html",
                {"invited": invited, "link": _link(request, invited, "second-factor-setup")},
            )
    return render(
        request,
        "accounts/second_factor_reset.html",
        {"person": person, "problem": problem, "hours": settings.INVITATION_HOURS},
    )
