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
from children import access, selectors, services
from children.forms import SearchForm
from children.forms_manage import (
    ChildForm,
    CloseInvolvementForm,
    InvolvementForm,
    MoveForm,
    NameForm,
    ShieldingForm,
)
from children.identifiers import is_valid_public_id
from children.models import Child, Involvement, Sex
from children.ratelimit import lookup_allowed
from children.search import MAX_RESULTS, find_children
from children.views import rate_limited

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
    heading: str,
    caption: str,
    rows: Callable[[dict], list[tuple[str, Any]]],
    save: Callable[[dict], str],
    back_url: str,
    intro: str = "",
    check_page: Callable[..., HttpResponse] | None = None,
    done: str = "",
    find_url: str = "",
) -> HttpResponse:
    """Form, then "check your answers", then save (the confirm button posts everything back,
    which is checked again). `save` returns where to go next. `check_page`, if given, answers
    the "check your answers" step itself (called with the rows and the hidden fields).
    `find_url`, if given, is where to find the child by their details instead."""
    if request.method == "POST" and form.is_valid():
        if "confirm" in request.POST:
            try:
                return redirect(save(form.cleaned_data))
            except ValidationError as error:
                for field, messages in _errors(error).items():
                    form.add_error(field if field in form.fields else None, messages)
        elif "edit" not in request.POST:
            hidden = [
                (name, value)
                for name, values in request.POST.lists()
                if name not in _NOT_POSTED_BACK
                for value in values
            ]
            if check_page is not None:
                return check_page(request, rows=rows(form.cleaned_data), hidden=hidden)
            return render(
                request,
                "children/manage/check.html",
                {"caption": caption, "rows": rows(form.cleaned_data), "hidden": hidden},
            )
    return render(
        request,
        "children/manage/form.html",
        {
            "form": form,
            "heading": heading,
            "caption": caption,
            "back_url": back_url,
            "intro": intro,
            "done": done,
            "find_url": find_url,
        },
    )


def _errors(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            field: [str(m) for e in errors for m in e.messages]
            for field, errors in error.error_dict.items()
        }
    return {"__all__": error.messages}


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _date(value) -> str:
    return f"{value:%-d %B %Y}" if value else ""


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


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
def create(request: HttpRequest) -> HttpResponse:
    area = _area(request)
    form = ChildForm(request.POST or None, area=area, initial={"local_authority": area})
    if request.method == "POST" and "attach" in request.POST and form.is_valid():
        return _attach(request, form, public_id=request.POST["attach"])

    def rows(data: dict) -> list[tuple[str, Any]]:
        return [
            ("Name", f"{data['given_names']} {data['family_name']}"),
            ("Date of birth", _date(data["date_of_birth"])),
            ("Sex", Sex(data["sex"]).label),
            ("NHS number", data["nhs_number"]),
            ("Address", f"{data['line_1']}, {data['postcode']}"),
            ("Local authority", data["local_authority"].name),
            ("Moved in", _date(data["moved_in_on"])),
            *_involvement_rows(data),
        ]

    def save(data: dict) -> str:
        child = services.child_create(
            details=services.ChildDetails(
                date_of_birth=data["date_of_birth"],
                name=services.PersonName(data["given_names"], data["family_name"]),
                address=services.AddressDetails(
                    line_1=data["line_1"],
                    postcode=data["postcode"],
                    local_authority=data["local_authority"],
                    moved_in_on=data["moved_in_on"],
                ),
                sex=Sex(data["sex"]),
                nhs_number=data["nhs_number"] or None,
            ),
            first_involvement=_involvement_details(data),
            request=request,
        )
        return reverse("children:manage", args=[child.public_id]) + "?saved=added"

    return _confirmable(
        request,
        form,
        heading="Add a child",
        caption=area.name,
        intro=(
            "Add a child only when a service is involved with them: the record is kept until "
            "the retention period after the last involvement ends."
        ),
        rows=rows,
        save=save,
        back_url=reverse("home"),
        check_page=functools.partial(_check_new_child, form=form, caption=area.name),
    )


def _new_child_criteria(data: dict) -> dict[str, str]:
    """What the add-a-child check looks for, as a search's criteria in the audit trail."""
    values = {
        "family_name": data["family_name"],
        "given_name": data["given_names"],
        "date_of_birth": data["date_of_birth"].isoformat(),
        "nhs_number": data["nhs_number"],
    }
    return {key: value for key, value in values.items() if value}


@audited_lookup
def _check_new_child(
    request: HttpRequest, *, form: ChildForm, caption: str, rows: list, hidden: list
) -> HttpResponse:
    """ "Check your answers" for a new child, with the children on the register that may be
    this child: a lookup like a search (children.access, the hourly limit, the misuse rules),
    and shown no more than a search result is (a shielded child as "Restricted record")."""
    from children.duplicates import probable_duplicates

    data = form.cleaned_data
    criteria = _new_child_criteria(data)
    if not lookup_allowed(user=request.user):
        return rate_limited(request, criteria=criteria)
    found = probable_duplicates(
        date_of_birth=data["date_of_birth"],
        names=[(data["given_names"], data["family_name"])],
        nhs_number=data["nhs_number"] or None,
    )
    too_many = len(found) > MAX_RESULTS
    results = (
        []
        if too_many
        else selectors.search_results(child_ids=[c.pk for c in found], viewer=request.user)
    )
    record(
        request=request,
        action=Action.SEARCH,
        children=[result.public_id for result in results],
        criteria=criteria,
        result_count=len(results),
        outcome="too_many" if too_many else "allowed",
        detail={"page": "add_child"},
    )
    return TemplateResponse(
        request,
        "children/manage/check.html",
        {
            "caption": caption,
            "rows": rows,
            "hidden": hidden,
            "duplicates": results,
            "too_many": too_many,
        },
    )


def _attach(request: HttpRequest, form: ChildForm, *, public_id: str) -> HttpResponse:
    """Adds the new child's first involvement to a record the add-a-child check showed the
    user (in any area), instead of creating a second record for the same child."""
    child = None
    if is_valid_public_id(public_id) and access.in_latest_results(
        viewer=request.user, public_id=public_id
    ):
        child = Child.objects.select_related("shielded_by").filter(public_id=public_id).first()
    decision = (
        access.may_attach(viewer=request.user, child=child)
        if child is not None
        else access.Decision(allowed=False, why="not_in_search_results")
    )
    if not decision:
        return refused(request, public_id=public_id, decision=decision)
    details = _involvement_details(form.cleaned_data)
    if (
        details.lead_professional
        and child.involvements.filter(lead_professional=True, ended_on__isnull=True).exists()
    ):
        # Another service leads: taking the lead over is agreed with them, not done here.
        form.add_error(
            "lead_professional",
            "This child already has a lead professional: choose No, and agree any change of "
            "lead with them",
        )
    else:
        try:
            services.involvement_add(child=child, details=details, request=request)
        except ValidationError as error:
            for field, messages in _errors(error).items():
                form.add_error(field if field in form.fields else None, messages)
    if form.errors:
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


def _involvement_rows(data: dict) -> list[tuple[str, Any]]:
    return [
        ("Service", data["service"].name),
        ("Organisation", data["organisation"].name),
        ("Practitioner", data["practitioner_name"]),
        ("Job title", data["practitioner_job_title"]),
        ("Phone", data["practitioner_phone"]),
        ("Email", data["practitioner_email"]),
        ("Start date", _date(data["started_on"])),
        ("Lead professional", _yes_no(data["lead_professional"])),
    ]


def _involvement_details(data: dict) -> services.InvolvementDetails:
    return services.InvolvementDetails(
        service=data["service"],
        organisation=data["organisation"],
        started_on=data["started_on"],
        practitioner_name=data["practitioner_name"],
        practitioner_job_title=data["practitioner_job_title"],
        practitioner_phone=data["practitioner_phone"],
        practitioner_email=data["practitioner_email"],
        lead_professional=data["lead_professional"],
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
@managed_child
def involvement_add(request: HttpRequest, child: Child) -> HttpResponse:
    public_id = child.public_id
    form = InvolvementForm(request.POST or None, area=_area(request))
    manage_url = reverse("children:manage", args=[public_id])

    def save(data: dict) -> str:
        details = _involvement_details(data)
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
        rows=_involvement_rows,
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
            ("End date", _date(data["ended_on"])),
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
    public_id = child.public_id
    manage_url = reverse("children:manage", args=[public_id])

    def save(data: dict) -> str:
        services.child_move(
            child=child,
            address=services.AddressDetails(
                line_1=data["line_1"],
                postcode=data["postcode"],
                local_authority=data["local_authority"],
                moved_in_on=data["moved_in_on"],
            ),
            request=request,
        )
        # After a move out of the area, this area may no longer look after the child.
        child.refresh_from_db(fields=["shielded", "shielded_by"])
        still_here = access.may_manage(viewer=request.user, child=child)
        return manage_url + "?saved=moved" if still_here else reverse("home")

    return _confirmable(
        request,
        MoveForm(request.POST or None),
        heading="Record a move",
        caption=_caption(child),
        intro=(
            "The current address ends on the day of the move. Every involvement stays on the "
            "record, so the new area sees what went on before."
        ),
        rows=lambda data: [
            ("New address", f"{data['line_1']}, {data['postcode']}"),
            ("Local authority", data["local_authority"].name),
            ("Date of the move", _date(data["moved_in_on"])),
        ],
        save=save,
        back_url=manage_url,
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
            ("Since", _date(data["since"])),
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
    page = {"area": area, "find_url": reverse("children:shielding-find")}
    if request.method == "GET":
        return render(
            request, "children/manage/shielding_find.html", {"form": SearchForm(), **page}
        )
    form = SearchForm(request.POST)
    if not form.is_valid():
        return render(request, "children/manage/shielding_find.html", {"form": form, **page})
    return _find_to_restrict(request, form, area=area)


@audited_lookup
def _find_to_restrict(
    request: HttpRequest, form: SearchForm, *, area: Organisation
) -> HttpResponse:
    """A lookup like a search: the hourly limit, the misuse rules and a search event (the
    page it came from in its detail), showing only the children the area looks after."""
    if not lookup_allowed(user=request.user):
        return rate_limited(request, criteria=form.criteria())
    outcome = find_children(**form.terms())
    found = (
        []
        if outcome.too_many
        else selectors.restriction_candidates(child_ids=outcome.child_ids, area=area)
    )
    record(
        request=request,
        action=Action.SEARCH,
        children=[candidate.public_id for candidate in found],
        criteria=form.criteria(),
        result_count=len(found),
        outcome="too_many" if outcome.too_many else "allowed",
        detail={"page": "restrict"},
    )
    return TemplateResponse(
        request,
        "children/manage/shielding_find.html",
        {
            "form": form,
            "area": area,
            "find_url": reverse("children:shielding-find"),
            "searched": True,
            "found": found,
            "too_many": outcome.too_many,
            "max_results": MAX_RESULTS,
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.SHIELD_RECORDS)
def shielding(request: HttpRequest) -> HttpResponse:
    area = _area(request)
    form = ShieldingForm(request.POST or None, initial=_shielding_initial(request.GET))
    child = None
    if request.method == "POST" and form.is_valid():
        child = _check_shielding(request, form, area=area)

    def save(data: dict) -> str:
        child = Child.objects.select_related("shielded_by").get(public_id=data["public_id"])
        if data["action"] == "shield":
            services.child_shield(
                child=child, authority=area, reason=data["reason"], request=request
            )
        else:
            services.child_unshield(
                child=child, authority=area, reason=data["reason"], request=request
            )
        return reverse("children:shielding") + "?done=" + data["action"]

    return _confirmable(
        request,
        form,
        heading="Restrict a child's record",
        caption=area.name,
        intro=(
            "A restricted (shielded) record shows in searches only as restricted, with your "
            "safeguarding contact, and opens only for your area's data managers, without the "
            "address. Use it when knowing where the child is could put them at risk."
        ),
        rows=lambda data: [
            ("Public ID", data["public_id"]),
            ("Change", dict(form.fields["action"].choices)[data["action"]]),
            ("Reason", data["reason"]),
        ],
        save=save,
        back_url=reverse("children:shielding-find"),
        check_page=functools.partial(_check_shielding_answers, child=child, caption=area.name),
        find_url=reverse("children:shielding-find"),
        done={
            "shield": "The record is now restricted.",
            "unshield": "The restriction has been lifted.",
        }.get(request.GET.get("done", ""), ""),
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
        ("Date of birth", _date(child.date_of_birth)),
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
