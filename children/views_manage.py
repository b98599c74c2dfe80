"""Data managers keep their area's records right; LA admins shield and unshield.

Every form shows "check your answers" before it saves; every save is one service call
(children.services), audited there. A child outside the user's area is "not found",
and the attempt is recorded.
"""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
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
from children import selectors, services
from children.forms_manage import (
    ChildForm,
    CloseInvolvementForm,
    InvolvementForm,
    MoveForm,
    NameForm,
    ShieldingForm,
)
from children.identifiers import is_valid_public_id
from children.models import Child, Involvement, Name, NameKind, Sex

_NOT_POSTED_BACK = {"csrfmiddlewaretoken", "confirm", "edit"}


def _area(request: HttpRequest) -> Organisation:
    area = selectors.area_of(request.user)
    if area is None:
        raise PermissionDenied
    return area


def _child_in_area(request: HttpRequest, public_id: str) -> Child:
    """The child, if the user's area looks after them; else 404 (and the attempt recorded)."""
    if not is_valid_public_id(public_id):
        raise Http404
    child = (
        selectors.children_for_data_manager(user=request.user)
        .filter(public_id=public_id)
        .select_related("shielded_by")
        .first()
    )
    if child is None:
        _record_out_of_area(request, public_id)
        raise Http404
    return child


def _merged(public_id: str) -> str | None:
    from children.duplicates import merged_into

    return merged_into(public_id) if is_valid_public_id(public_id) else None


def _shown_duplicates(
    request: HttpRequest, duplicates: Callable[[dict], list] | None, data: dict
) -> list:
    """The probable duplicates to show before saving: other children's details, so a
    lookup like any other, recorded in the same transaction as the read."""
    if duplicates is None:
        return []
    with transaction.atomic():
        found = duplicates(data)
        if found:
            record(
                request=request,
                action=Action.MANAGE_VIEW,
                children=[match.public_id for match in found],
                detail={"page": "probable_duplicates"},
            )
    return found


def _record_out_of_area(request: HttpRequest, public_id: str) -> None:
    with transaction.atomic():
        record(
            request=request,
            action=Action.ACCESS_DENIED,
            children=[public_id],
            outcome="denied",
            detail={"why": "not_in_area", "page": request.path},
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
    duplicates: Callable[[dict], list] | None = None,
    done: str = "",
) -> HttpResponse:
    """Form, then "check your answers", then save (the confirm button posts everything back,
    which is checked again). `save` returns where to go next."""
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
            try:
                found = _shown_duplicates(request, duplicates, form.cleaned_data)
            except AuditWriteError:
                return render(request, "audit/unavailable.html", status=503)
            return render(
                request,
                "children/manage/check.html",
                {
                    "caption": caption,
                    "rows": rows(form.cleaned_data),
                    "hidden": hidden,
                    "duplicates": found,
                },
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
    child = _child_in_area(request, public_id)
    return _manage_page(request, child)


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
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
def create(request: HttpRequest) -> HttpResponse:
    area = _area(request)
    form = ChildForm(request.POST or None, area=area, initial={"local_authority": area})

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

    def duplicates(data: dict) -> list:
        from children.duplicates import probable_duplicates

        found = probable_duplicates(
            date_of_birth=data["date_of_birth"],
            names=[(data["given_names"], data["family_name"])],
            nhs_number=data["nhs_number"] or None,
        )
        found = found[:10]
        prefetch_related_objects(
            found, Prefetch("names", queryset=Name.objects.filter(kind=NameKind.CURRENT))
        )
        return [_DuplicateLabel(child) for child in found]

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
        duplicates=duplicates,
    )


class _DuplicateLabel:
    def __init__(self, child: Child):
        name = next(iter(child.names.all()), None)  # prefetched: the current name only
        who = f"{name.given_names} {name.family_name}" if name else "Name not recorded"
        self.public_id = child.public_id
        self.label = f"{who}, born {_date(child.date_of_birth)} ({child.public_id})"


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
def involvement_add(request: HttpRequest, public_id: str) -> HttpResponse:
    child = _child_in_area(request, public_id)
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
        return manage_url + "?saved=1"

    return _confirmable(
        request,
        form,
        heading="Add an involvement",
        caption=f"Child {public_id}",
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
def involvement_close(request: HttpRequest, public_id: str, involvement_id: int) -> HttpResponse:
    child = _child_in_area(request, public_id)
    involvement = _open_involvement(child, involvement_id)
    manage_url = reverse("children:manage", args=[public_id])

    def save(data: dict) -> str:
        services.involvement_close(
            involvement=involvement, ended_on=data["ended_on"], request=request
        )
        return manage_url + "?saved=1"

    return _confirmable(
        request,
        CloseInvolvementForm(request.POST or None),
        heading=f"Close the {involvement.service.name.lower()} involvement",
        caption=f"Child {public_id}",
        rows=lambda data: [
            ("Involvement", f"{involvement.service.name}, {involvement.organisation.name}"),
            ("End date", _date(data["ended_on"])),
        ],
        save=save,
        back_url=manage_url,
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
def involvement_lead(request: HttpRequest, public_id: str, involvement_id: int) -> HttpResponse:
    child = _child_in_area(request, public_id)
    involvement = _open_involvement(child, involvement_id)
    manage_url = reverse("children:manage", args=[public_id])

    def save(data: dict) -> str:
        services.involvement_set_lead(involvement=involvement, request=request)
        return manage_url + "?saved=1"

    return _confirmable(
        request,
        Form(request.POST or None),
        heading="Make this the lead professional",
        caption=f"Child {public_id}",
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
def move(request: HttpRequest, public_id: str) -> HttpResponse:
    child = _child_in_area(request, public_id)
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
        still_here = selectors.children_for_data_manager(user=request.user).filter(pk=child.pk)
        return manage_url + "?saved=1" if still_here.exists() else reverse("home")

    return _confirmable(
        request,
        MoveForm(request.POST or None),
        heading="Record a move",
        caption=f"Child {public_id}",
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
def rename(request: HttpRequest, public_id: str) -> HttpResponse:
    child = _child_in_area(request, public_id)
    manage_url = reverse("children:manage", args=[public_id])

    def save(data: dict) -> str:
        services.name_change(
            child=child,
            name=services.PersonName(data["given_names"], data["family_name"]),
            since=data["since"],
            request=request,
        )
        return manage_url + "?saved=1"

    return _confirmable(
        request,
        NameForm(request.POST or None),
        heading="Change the child's name",
        caption=f"Child {public_id}",
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
def shielding(request: HttpRequest) -> HttpResponse:
    area = _area(request)
    form = ShieldingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        child = (
            selectors.children_in_area(area=area)
            .filter(public_id=form.cleaned_data["public_id"])
            .select_related("shielded_by")
            .first()
        )
        action = form.cleaned_data["action"]
        if child is None:
            _record_out_of_area(request, form.cleaned_data["public_id"])
            form.add_error("public_id", f"There is no record with this public ID in {area.name}")
        elif action == "shield" and child.shielded:
            form.add_error("action", "This record is already restricted")
        elif action == "unshield" and not child.shielded:
            form.add_error("action", "This record is not restricted")
        elif action == "unshield" and child.shielded_by_id != area.pk:
            form.add_error(
                "action", f"Only {child.shielded_by.name} can lift the restriction it made"
            )

    def save(data: dict) -> str:
        child = selectors.children_in_area(area=area).get(public_id=data["public_id"])
        if data["action"] == "shield":
            services.child_shield(
                child=child, authority=area, reason=data["reason"], request=request
            )
        else:
            services.child_unshield(child=child, reason=data["reason"], request=request)
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
            ("Child", data["public_id"]),
            ("Change", dict(form.fields["action"].choices)[data["action"]]),
            ("Reason", data["reason"]),
        ],
        save=save,
        back_url=reverse("home"),
        done={
            "shield": "The record is now restricted.",
            "unshield": "The restriction has been lifted.",
        }.get(request.GET.get("done", ""), ""),
    )
