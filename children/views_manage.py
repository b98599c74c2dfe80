"""Data managers keep their area's records right; LA admins shield and unshield.

Every form shows "check your answers" before it saves; every save is one service call
(children.services), audited there. A child outside the user's area is "not found",
and the attempt is recorded.
"""

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from accounts.models import Organisation
from audit.lookup import audited_lookup
from audit.models import Action
from audit.services import AuditWriteError, record
from children import access, selectors, selectors_manage, services
from children.forms import SearchForm
from children.forms_manage import (
    ChildForm,
    CloseInvolvementForm,
    InvolvementForm,
    MoveForm,
    NameForm,
    ShieldingForm,
    written_date,
)
from children.identifiers import is_valid_public_id
from children.models import Child, Involvement
from children.ratelimit import lookup_allowed
from children.search import MAX_RESULTS
from children.views import rate_limited
from signposting.forms import add_errors

_NOT_POSTED_BACK = {"csrfmiddlewaretoken", "confirm", "edit", "attach"}


def _area(request: HttpRequest) -> Organisation:
    area = access.area_of(request.user)
    if area is None:
        raise PermissionDenied
    return area


def managed_child(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolves the URL's public id to a child the user may manage (children.access), and
    calls the view with the child; otherwise records the refusal and answers it."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, public_id: str, *args, **kwargs) -> HttpResponse:
        if not is_valid_public_id(public_id):
            raise Http404
        child = Child.objects.select_related("shielded_by").filter(public_id=public_id).first()
        decision = (
            access.may_manage(viewer=request.user, child=child)
            if child is not None
            else access.Decision(allowed=False, why=access.NOT_IN_AREA)
        )
        if not decision:
            return refused(request, public_id=public_id, decision=decision)
        return view(request, child, *args, **kwargs)

    return wrapped


def refused(request: HttpRequest, *, public_id: str, decision: access.Decision) -> HttpResponse:
    """Records a refused manage request and answers it: a record the user's area does not
    look after is "not found" (nothing says it exists); one shielded by another authority
    names whom to ask, as search results do."""
    try:
        _record_refusal(request, public_id, decision.why)
    except AuditWriteError:
        return render(request, "audit/unavailable.html", status=503)
    if decision.why == access.SHIELDED:
        return render(
            request,
            "children/denied.html",
            {"why": "shielded", "contact": decision.contact},
            status=403,
        )
    raise Http404


def _merged(public_id: str) -> str | None:
    from children.merged import merged_into

    return merged_into(public_id) if is_valid_public_id(public_id) else None


def _record_refusal(request: HttpRequest, public_id: str, why: str) -> None:
    with transaction.atomic():
        record(
            request=request,
            action=Action.ACCESS_DENIED,
            children=[public_id],
            outcome="denied",
            detail={"why": why, "page": request.path},
        )


def _confirmable(
    request: HttpRequest,
    form: Form,
    *,
    rows: Callable[[dict], list[tuple[str, Any]]],
    save: Callable[[dict], str],
    check_page: Callable[..., HttpResponse] | None = None,
    **page: str,
) -> HttpResponse:
    """Form, then "check your answers", then save (the confirm button posts everything back,
    which is checked again). `save` returns where to go next. `check_page`, if given, answers
    the "check your answers" step itself (called with the rows and the hidden fields).
    `page` is what the form page says (FORM_PAGE): `find_url`, if given, is where to find
    the child by their details instead."""
    if request.method == "POST" and form.is_valid():
        if "confirm" in request.POST:
            try:
                return redirect(save(form.cleaned_data))
            except ValidationError as error:
                add_errors(form, error)
        elif "edit" not in request.POST:
            answers, hidden = rows(form.cleaned_data), _posted_back(request)
            if check_page is not None:
                return check_page(request, rows=answers, hidden=hidden)
            context = {"caption": page["caption"], "rows": answers, "hidden": hidden}
            return render(request, "children/manage/check.html", context)
    return render(request, "children/manage/form.html", {"form": form, **FORM_PAGE, **page})


# What the form page says: a heading, a caption and a way back; these only when given.
FORM_PAGE = {"intro": "", "done": "", "find_url": ""}


def _posted_back(request: HttpRequest) -> list[tuple[str, str]]:
    """The form's fields, as hidden fields of "check your answers" to post back."""
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name not in _NOT_POSTED_BACK
        for value in values
    ]


# --- A child's record, to manage ------------------------------------------------------------


@require_safe
@requires(Capability.MANAGE_RECORDS)
def manage(request: HttpRequest, public_id: str) -> HttpResponse:
    if survivor := _merged(public_id):
        return redirect("children:manage", public_id=survivor)
    return _manage_page(request, public_id)


# What each change says once saved (?saved=<code>; anything else says nothing).
SAVED = {
    "added": "The child has been added to the register.",
    "attached": "Your involvement has been added to this record.",
    "involvement_added": "The involvement has been added.",
    "involvement_closed": "The involvement has been closed.",
    "lead_changed": "The lead professional has been changed.",
    "moved": "The move has been recorded. Every involvement stays on the record.",
    "renamed": "The name has been changed. The old name is kept as a previous name.",
}


def _caption(child: Child) -> str:
    """The child's name beside the public id, on every page about the record."""
    name = selectors.current_name(child=child)
    return f"{name}, {child.public_id}" if name else child.public_id


@managed_child
@audited_lookup
def _manage_page(request: HttpRequest, child: Child) -> HttpResponse:
    child_record = selectors.child_record(child=child, viewer=request.user)
    record(request=request, action=Action.MANAGE_VIEW, children=[child])
    return TemplateResponse(
        request,
        "children/manage/child.html",
        {
            "record": child_record,
            "other_names": [name for name in child_record.names if name.kind != "current"],
            "saved": SAVED.get(request.GET.get("saved", ""), ""),
        },
    )


ADD_CHILD_INTRO = (
    "Add a child only when a service is involved with them: the record is kept until "
    "the retention period after the last involvement ends."
)


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
def create(request: HttpRequest) -> HttpResponse:
    area = _area(request)
    form = ChildForm(request.POST or None, area=area, initial={"local_authority": area})
    if request.method == "POST" and "attach" in request.POST and form.is_valid():
        return _attach(request, form, public_id=request.POST["attach"])

    def save(data: dict) -> str:
        child = services.child_create(
            details=form.child_details(),
            first_involvement=form.involvement_details(),
            request=request,
        )
        return reverse("children:manage", args=[child.public_id]) + "?saved=added"

    return _confirmable(
        request,
        form,
        heading="Add a child",
        caption=area.name,
        intro=ADD_CHILD_INTRO,
        rows=form.answers,
        save=save,
        back_url=reverse("home"),
        check_page=functools.partial(_check_new_child, form=form, caption=area.name),
    )


@audited_lookup
def _check_new_child(
    request: HttpRequest, *, form: ChildForm, caption: str, rows: list, hidden: list
) -> HttpResponse:
    """ "Check your answers" for a new child, with the children on the register that may be
    this child: a lookup like a search (children.access, the hourly limit, the misuse rules),
    and shown no more than a search result is (a shielded child as "Restricted record")."""
    criteria = form.criteria()
    if not lookup_allowed(user=request.user):
        return rate_limited(request, criteria=criteria)
    data = form.cleaned_data
    found = selectors_manage.new_child_lookalikes(
        date_of_birth=data["date_of_birth"],
        given_names=data["given_names"],
        family_name=data["family_name"],
        nhs_number=data["nhs_number"],
        viewer=request.user,
    )
    _record_lookup(request, found, criteria=criteria, page="add_child")
    context = {"caption": caption, "rows": rows, "hidden": hidden}
    return TemplateResponse(
        request,
        "children/manage/check.html",
        {**context, "duplicates": found.rows, "too_many": found.too_many},
    )


def _record_lookup(
    request: HttpRequest, found: selectors_manage.Found, *, criteria: dict, page: str
) -> None:
    """A manage page's lookup, recorded as a search (the page it came from in its detail)."""
    record(
        request=request,
        action=Action.SEARCH,
        children=found.public_ids,
        criteria=criteria,
        result_count=len(found.rows),
        outcome="too_many" if found.too_many else "allowed",
        detail={"page": page},
    )


def _attach(request: HttpRequest, form: ChildForm, *, public_id: str) -> HttpResponse:
    """Adds the new child's first involvement to a record the add-a-child check showed the
    user (in any area), instead of creating a second record for the same child."""
    child, decision = selectors_manage.child_to_attach(viewer=request.user, public_id=public_id)
    if not decision:
        return refused(request, public_id=public_id, decision=decision)
    try:
        services.involvement_attach(
            child=child, details=form.involvement_details(), request=request
        )
    except ValidationError as error:
        add_errors(form, error)
        return render(
            request,
            "children/manage/form.html",
            {
                "form": form,
                "heading": "Add a child",
                "caption": access.area_of(request.user).name,
                "back_url": reverse("home"),
            },
        )
    return redirect(reverse("children:manage", args=[child.public_id]) + "?saved=attached")


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
@managed_child
def involvement_add(request: HttpRequest, child: Child) -> HttpResponse:
    public_id = child.public_id
    form = InvolvementForm(request.POST or None, area=_area(request))
    manage_url = reverse("children:manage", args=[public_id])

    def save(data: dict) -> str:
        details = form.involvement_details()
        if details.lead_professional:
            # The new lead takes over: the old one steps down first.
            involvement = services.involvement_add(
                child=child,
                details=replace(details, lead_professional=False),
                request=request,
            )
            services.involvement_set_lead(involvement=involvement, request=request)
        else:
            services.involvement_add(child=child, details=details, request=request)
        return manage_url + "?saved=involvement_added"

    return _confirmable(
        request,
        form,
        heading="Add an involvement",
        caption=_caption(child),
        rows=form.answers,
        save=save,
        back_url=manage_url,
    )


def _open_involvement(child: Child, involvement_id: int) -> Involvement:
    involvement = (
        child.involvements.filter(pk=involvement_id, ended_on__isnull=True)
        .select_related("service", "organisation", "child")
        .first()
    )
    if involvement is None:
        raise Http404
    return involvement


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
@managed_child
def involvement_close(request: HttpRequest, child: Child, involvement_id: int) -> HttpResponse:
    public_id = child.public_id
    involvement = _open_involvement(child, involvement_id)
    manage_url = reverse("children:manage", args=[public_id])

    def save(data: dict) -> str:
        services.involvement_close(
            involvement=involvement, ended_on=data["ended_on"], request=request
        )
        return manage_url + "?saved=involvement_closed"

    return _confirmable(
        request,
        CloseInvolvementForm(request.POST or None),
        heading=f"Close the {involvement.service.name.lower()} involvement",
        caption=_caption(child),
        rows=lambda data: [
            ("Involvement", f"{involvement.service.name}, {involvement.organisation.name}"),
            ("End date", written_date(data["ended_on"])),
        ],
        save=save,
        back_url=manage_url,
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
@managed_child
def involvement_lead(request: HttpRequest, child: Child, involvement_id: int) -> HttpResponse:
    public_id = child.public_id
    involvement = _open_involvement(child, involvement_id)
    manage_url = reverse("children:manage", args=[public_id])

    def save(data: dict) -> str:
        services.involvement_set_lead(involvement=involvement, request=request)
        return manage_url + "?saved=lead_changed"

    return _confirmable(
        request,
        Form(request.POST or None),
        heading="Make this the lead professional",
        caption=_caption(child),
        intro="Any other lead professional for the child steps down.",
        rows=lambda data: [
            ("Involvement", f"{involvement.service.name}, {involvement.organisation.name}"),
            ("Practitioner", involvement.practitioner_name),
        ],
        save=save,
        back_url=manage_url,
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
@managed_child
def move(request: HttpRequest, child: Child) -> HttpResponse:
    manage_url = reverse("children:manage", args=[child.public_id])
    form = MoveForm(request.POST or None)

    def save(data: dict) -> str:
        services.child_move(child=child, address=form.address(), request=request)
        # After a move out of the area, this area may no longer look after the child.
        child.refresh_from_db(fields=["shielded", "shielded_by"])
        still_here = access.may_manage(viewer=request.user, child=child)
        return manage_url + "?saved=moved" if still_here else reverse("home")

    return _confirmable(
        request,
        form,
        heading="Record a move",
        caption=_caption(child),
        intro=MOVE_INTRO,
        rows=form.answers,
        save=save,
        back_url=manage_url,
    )


MOVE_INTRO = (
    "The current address ends on the day of the move. Every involvement stays on the "
    "record, so the new area sees what went on before."
)


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
@managed_child
def rename(request: HttpRequest, child: Child) -> HttpResponse:
    public_id = child.public_id
    manage_url = reverse("children:manage", args=[public_id])

    def save(data: dict) -> str:
        services.name_change(
            child=child,
            name=services.PersonName(data["given_names"], data["family_name"]),
            since=data["since"],
            request=request,
        )
        return manage_url + "?saved=renamed"

    return _confirmable(
        request,
        NameForm(request.POST or None),
        heading="Change the child's name",
        caption=_caption(child),
        intro=(
            "The current name is kept as a previous name, so searches by it still find the child."
        ),
        rows=lambda data: [
            ("New name", f"{data['given_names']} {data['family_name']}"),
            ("Since", written_date(data["since"])),
        ],
        save=save,
        back_url=manage_url,
    )


# --- Shielding: local authority admins -----------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Capability.SHIELD_RECORDS)
def shielding_find(request: HttpRequest) -> HttpResponse:
    """An LA admin finds the child of their area whose record to restrict (or whose
    restriction to lift) by the details they know, instead of typing a public id: the
    search's form and minimum criteria (POST: names never travel in the URL)."""
    area = _area(request)
    if request.method == "GET":
        return render(
            request, "children/manage/shielding_find.html", _find_page(SearchForm(), area)
        )
    form = SearchForm(request.POST)
    if not form.is_valid():
        return render(request, "children/manage/shielding_find.html", _find_page(form, area))
    return _find_to_restrict(request, form, area=area)


def _find_page(form: SearchForm, area: Organisation) -> dict[str, Any]:
    return {"form": form, "area": area, "find_url": reverse("children:shielding-find")}


@audited_lookup
def _find_to_restrict(
    request: HttpRequest, form: SearchForm, *, area: Organisation
) -> HttpResponse:
    """A lookup like a search: the hourly limit, the misuse rules and a search event (the
    page it came from in its detail), showing only the children the area looks after."""
    if not lookup_allowed(user=request.user):
        return rate_limited(request, criteria=form.criteria())
    found = selectors_manage.children_to_restrict(terms=form.terms(), area=area)
    _record_lookup(request, found, criteria=form.criteria(), page="restrict")
    return TemplateResponse(
        request,
        "children/manage/shielding_find.html",
        {
            **_find_page(form, area),
            "searched": True,
            "found": found.rows,
            "too_many": found.too_many,
            "max_results": MAX_RESULTS,
        },
    )


SHIELDING_INTRO = (
    "A restricted (shielded) record shows in searches only as restricted, with your "
    "safeguarding contact, and opens only for your area's data managers, without the "
    "address. Use it when knowing where the child is could put them at risk."
)
SHIELDING_DONE = {
    "shield": "The record is now restricted.",
    "unshield": "The restriction has been lifted.",
}


@require_http_methods(["GET", "POST"])
@requires(Capability.SHIELD_RECORDS)
def shielding(request: HttpRequest) -> HttpResponse:
    area = _area(request)
    form = ShieldingForm(request.POST or None, initial=_shielding_initial(request.GET))
    child = None
    if request.method == "POST" and form.is_valid():
        child = _check_shielding(request, form, area=area)

    def save(data: dict) -> str:
        services.child_restriction_set(
            public_id=data["public_id"],
            restrict=data["action"] == "shield",
            authority=area,
            reason=data["reason"],
            request=request,
        )
        return reverse("children:shielding") + "?done=" + data["action"]

    return _confirmable(
        request,
        form,
        heading="Restrict a child's record",
        caption=area.name,
        intro=SHIELDING_INTRO,
        rows=form.answers,
        save=save,
        back_url=reverse("children:shielding-find"),
        check_page=functools.partial(_check_shielding_answers, child=child, caption=area.name),
        find_url=reverse("children:shielding-find"),
        done=SHIELDING_DONE.get(request.GET.get("done", ""), ""),
    )


def _shielding_initial(query) -> dict[str, str]:
    """The form filled in from a found child's link ("Restrict this record")."""
    initial = {}
    if is_valid_public_id(query.get("child", "")):
        initial["public_id"] = query["child"]
    if query.get("action") in ("shield", "unshield"):
        initial["action"] = query["action"]
    return initial


@audited_lookup
def _check_shielding_answers(
    request: HttpRequest, *, child: Child, caption: str, rows: list, hidden: list
) -> HttpResponse:
    """ "Check your answers" names the child (name and date of birth), so that a mistyped
    public id is seen before it restricts the wrong child: a read of the record, recorded
    (the form's checks, _check_shielding, found it and found it one the admin may change)."""
    record(
        request=request,
        action=Action.MANAGE_VIEW,
        children=[child],
        detail={"page": "restrict"},
    )
    named = [
        ("Child", selectors.current_name(child=child) or "Name not recorded"),
        ("Date of birth", written_date(child.date_of_birth)),
    ]
    return TemplateResponse(
        request,
        "children/manage/check.html",
        {"caption": caption, "rows": named + rows, "hidden": hidden},
    )


def _check_shielding(
    request: HttpRequest, form: ShieldingForm, *, area: Organisation
) -> Child | None:
    """Adds the form errors that the rule (children.access) and the record's state give, and
    returns the child the form names (None if there is none)."""
    public_id = form.cleaned_data["public_id"]
    action = form.cleaned_data["action"]
    child = Child.objects.select_related("shielded_by").filter(public_id=public_id).first()
    if child is None:
        decision = access.Decision(allowed=False, why=access.NOT_IN_AREA)
    elif action == "shield":
        decision = access.may_shield(viewer=request.user, child=child)
    else:
        decision = access.may_unshield(viewer=request.user, child=child)
    if decision.why == access.NOT_IN_AREA:
        _record_refusal(request, public_id, decision.why)
        form.add_error("public_id", f"There is no record with this public ID in {area.name}")
    elif action == "shield" and child.shielded:
        form.add_error("action", "This record is already restricted")
    elif action == "unshield" and not child.shielded:
        form.add_error("action", "This record is not restricted")
    elif not decision:
        _record_refusal(request, public_id, decision.why)
        form.add_error("action", f"Only {child.shielded_by.name} can lift the restriction it made")
    return child
