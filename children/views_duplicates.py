"""Data managers' review of probable duplicates: held import rows, the pairs the register-wide
check found (manage.py find_duplicates), and merging two records.

Every page that shows child data runs under audit.lookup.audited_lookup and is
recorded (record_change, outcome "viewed"); decisions are recorded by the
services they call (children.duplicates); a held row or record of another area
is refused and recorded as access_denied. Nothing is written until the data
manager has seen their answers and confirmed them.
"""

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from accounts.models import Organisation
from audit.lookup import audited_lookup
from audit.models import Action
from audit.services import record
from children import access, selectors
from children.duplicates import (
    HeldRowNotImported,
    children_merge,
    held_row_candidates,
    held_row_resolve,
    probable_pair_decide_different,
    probable_pairs_for_area,
)
from children.forms_duplicates import (
    HeldRowDecisionForm,
    MergeForm,
    MergeIdsForm,
    ProbablePairDecisionForm,
)
from children.matching.model import current_model
from children.models import Child, HeldRow, ProbableDuplicate, Service, Sex


def _area(request: HttpRequest) -> Organisation:
    area = access.area_of(request.user)
    if area is None:
        raise PermissionDenied
    return area


@require_safe
@requires(Capability.MANAGE_RECORDS)
@audited_lookup
def held_rows(request: HttpRequest) -> HttpResponse:
    """The area's held rows waiting for a decision, oldest first."""
    area = _area(request)
    pending = list(HeldRow.objects.filter(local_authority=area, resolved_at__isnull=True)[:200])
    summaries = [_held_summary(held) for held in pending]
    pairs = list(
        probable_pairs_for_area(area=area).prefetch_related("child_a__names", "child_b__names")[
            :PAIRS_LISTED
        ]
    )
    model = current_model()
    record(
        request=request,
        action=Action.MANAGE_VIEW,
        children=[
            *(public_id for held in pending for public_id in held.candidates),
            *(child.public_id for pair in pairs for child in (pair.child_a, pair.child_b)),
        ],
        criteria={"area": area.ons_code},
        result_count=len(pending) + len(pairs),
        detail={"page": "held_rows", "held_rows": len(pending), "pairs": len(pairs)},
    )
    return TemplateResponse(
        request,
        "children/duplicates/list.html",
        {
            "area": area,
            "held_rows": summaries,
            "pairs": [_pair_summary(pair, request, model) for pair in pairs],
            "pairs_listed": PAIRS_LISTED,
        },
    )


# The queue lists the best pairs first, this many at a time.
PAIRS_LISTED = 200


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
@audited_lookup
def probable_pair(request: HttpRequest, pair_id: int) -> HttpResponse:
    """Two records the register-wide check found probably one child: compare them, then
    merge them (the merge pages) or say they are different children (check, confirm)."""
    area = _area(request)
    pair = (
        ProbableDuplicate.objects.filter(pk=pair_id, decided_at__isnull=True)
        .select_related("child_a__shielded_by", "child_b__shielded_by")
        .first()
    )
    if pair is None:
        return _not_found(request)
    children = [pair.child_a, pair.child_b]
    if not access.children_in_area(area=area).filter(pk__in=[c.pk for c in children]).exists():
        return _denied(request, why="pair_of_another_area", detail={"pair": pair.pk})
    restricted = [
        decision
        for child in children
        if not (decision := access.may_read(viewer=request.user, child=child))
    ]
    may_merge = all(access.may_manage(viewer=request.user, child=child) for child in children)
    form = ProbablePairDecisionForm(
        request.POST if request.method == "POST" else None, may_merge=may_merge
    )
    record(
        request=request,
        action=Action.MANAGE_VIEW,
        children=children,
        detail={"page": "probable_pair", "pair": pair.pk},
    )
    first, second = children
    context = {
        "pair": _pair_summary(pair, request, current_model()),
        "children": [
            _candidate(first, request, held_nhs_numbers=_numbers(second)),
            _candidate(second, request, held_nhs_numbers=_numbers(first)),
        ],
        "may_merge": may_merge,
        "restricted": restricted,
        "form": form,
    }
    if request.method == "GET" or not form.is_valid():
        return _page(request, "children/duplicates/pair.html", context)
    if restricted:
        form.add_error(
            "decision",
            f"One of the records is restricted: ask {restricted[0].contact} to decide",
        )
        return _page(request, "children/duplicates/pair.html", context)
    if form.cleaned_data["decision"] == ProbablePairDecisionForm.SAME:
        return redirect(
            f"{reverse('children:merge')}?first={first.public_id}&second={second.public_id}"
        )
    if not form.is_confirmed:
        return _page(request, "children/duplicates/pair_check.html", context)
    try:
        probable_pair_decide_different(pair=pair, request=request)
    except ValidationError as error:
        form.add_error(None, error.messages[0])
        return _page(request, "children/duplicates/pair.html", context)
    messages.success(request, f"{first.public_id} and {second.public_id}: different children.")
    return redirect("children:duplicates")


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
@audited_lookup
def held_row_decide(request: HttpRequest, held_id: int) -> HttpResponse:
    """One held row beside the children it looks like: decide, check, confirm."""
    area = _area(request)
    held = HeldRow.objects.filter(pk=held_id, resolved_at__isnull=True).first()
    if held is None:
        return _not_found(request)
    if held.local_authority_id != area.pk:
        return _denied(request, why="held_row_of_another_area", detail={"held_row": held.pk})
    candidates = held_row_candidates(held)
    numbers = _nhs_numbers(held)
    context = {
        "held": _held_summary(held),
        "candidates": [
            _candidate(child, request, held_nhs_numbers=numbers) for child in candidates
        ],
    }
    # Only a record the data manager may add to can be chosen (children.access): a record
    # shielded by another authority is decided by that authority.
    choosable = [
        child for child in candidates if access.may_attach(viewer=request.user, child=child)
    ]
    form = HeldRowDecisionForm(
        request.POST if request.method == "POST" else None, candidates=choosable
    )
    _viewed(request, held=held, candidates=candidates)
    if request.method == "GET" or not form.is_valid():
        return _page(request, "children/duplicates/decide.html", {**context, "form": form})
    child = form.chosen_child
    if not form.is_confirmed:
        return _page(
            request,
            "children/duplicates/decide_check.html",
            {**context, "form": form, "child": child and _candidate(child, request)},
        )
    resolution = HeldRow.Resolution.DIFFERENT if child is None else HeldRow.Resolution.MERGED
    try:
        held_row_resolve(held=held, resolution=resolution, child=child, request=request)
    except ValidationError as error:
        form.add_error(None, error.messages[0])
        return _page(request, "children/duplicates/decide.html", {**context, "form": form})
    except HeldRowNotImported as refused:
        return _page(
            request,
            "children/duplicates/refused.html",
            {**context, "problems": [str(error) for error in refused.report.errors]},
        )
    messages.success(
        request,
        "Added as a new record."
        if child is None
        else f"The rows were added to the record {child.public_id}.",
    )
    return redirect("children:duplicates")


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
def merge(request: HttpRequest) -> HttpResponse:
    """Two records of the area that are one child: choose which to keep, check, merge."""
    area = _area(request)
    if request.method == "GET":
        # From a probable pair of the queue, the two public ids come filled in.
        initial = {name: request.GET.get(name, "")[:20] for name in ("first", "second")}
        return render(
            request, "children/duplicates/merge_ids.html", {"form": MergeIdsForm(initial=initial)}
        )
    ids = MergeIdsForm(request.POST)
    if not ids.is_valid():
        return render(request, "children/duplicates/merge_ids.html", {"form": ids})
    return _merge_step(request, area=area, ids=ids)


@audited_lookup
def _merge_step(request: HttpRequest, *, area: Organisation, ids: MergeIdsForm) -> HttpResponse:
    public_ids = [ids.cleaned_data["first"], ids.cleaned_data["second"]]
    found = {
        child.public_id: child
        for child in Child.objects.filter(public_id__in=public_ids)
        .select_related("shielded_by")
        .prefetch_related("names")
    }
    refusals = {
        public_id: (
            access.may_manage(viewer=request.user, child=found[public_id])
            if public_id in found
            else access.Decision(allowed=False, why=access.NOT_IN_AREA)
        )
        for public_id in public_ids
    }
    refusals = {public_id: refusal for public_id, refusal in refusals.items() if not refusal}
    if refusals:
        for why in sorted({refusal.why for refusal in refusals.values()}):
            record(
                request=request,
                action=Action.ACCESS_DENIED,
                outcome="denied",
                children=[p for p, refusal in refusals.items() if refusal.why == why],
                detail={"why": why, "page": "merge"},
            )
        for name, public_id in zip(("first", "second"), public_ids, strict=True):
            refusal = refusals.get(public_id)
            if refusal is None:
                continue
            if refusal.why == access.SHIELDED:
                ids.add_error(
                    name,
                    f"This record is restricted: ask {refusal.contact} about merging it",
                )
            else:
                ids.add_error(name, "No record in your area has this public id")
        return TemplateResponse(request, "children/duplicates/merge_ids.html", {"form": ids})
    children = [found[public_id] for public_id in public_ids]
    choosing = "keep" not in request.POST
    form = MergeForm(
        None if choosing else request.POST, children=children, initial=ids.cleaned_data
    )
    record(
        request=request,
        action=Action.MANAGE_VIEW,
        children=children,
        detail={"page": "merge"},
    )
    context = {"children": [_candidate(child, request) for child in children]}
    if choosing or not form.is_valid():
        return TemplateResponse(
            request, "children/duplicates/merge_choose.html", {**context, "form": form}
        )
    survivor, duplicate = form.survivor_and_duplicate()
    if not form.is_confirmed:
        return TemplateResponse(
            request,
            "children/duplicates/merge_check.html",
            {**context, "form": form, "survivor": survivor, "duplicate": duplicate},
        )
    try:
        children_merge(survivor=survivor, duplicate=duplicate, request=request)
    except ValidationError as error:
        form.add_error(None, error.messages[0])
        return TemplateResponse(
            request, "children/duplicates/merge_choose.html", {**context, "form": form}
        )
    messages.success(request, f"Merged into the record {survivor.public_id}.")
    return redirect("children:duplicates")


# --- Helpers -------------------------------------------------------------------------------


def _page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return TemplateResponse(request, template, context)


def _viewed(request: HttpRequest, *, held: HeldRow, candidates: list[Child]) -> None:
    record(
        request=request,
        action=Action.MANAGE_VIEW,
        children=candidates,
        detail={"page": "held_row", "held_row": held.pk},
    )


def _not_found(request: HttpRequest) -> HttpResponse:
    # Nothing is shown, so nothing needs recording; a TemplateResponse keeps the
    # audited_lookup transaction committing normally.
    return TemplateResponse(request, "errors/404.html", status=404)


def _denied(request: HttpRequest, *, why: str, detail: dict) -> HttpResponse:
    record(
        request=request,
        action=Action.ACCESS_DENIED,
        outcome="denied",
        detail={"why": why, **detail},
    )
    # Answered as "not found", as for any record of another area: it does not say it exists.
    return TemplateResponse(request, "errors/404.html", status=404)


def _as_written(value: object) -> str:
    """An import's date (YYYY-MM-DD text) as the service writes dates ("19 April 2015");
    anything else as it came."""
    text = str(value or "").strip()
    try:
        return date_format(date.fromisoformat(text), "j F Y")
    except ValueError:
        return text


def _held_summary(held: HeldRow) -> dict:
    """What the held rows say, for the pages (the rows are the import's text columns), with
    dates and services written as the rest of the service writes them."""
    rows = [row for row in held.rows if isinstance(row, dict)]
    services = dict(Service.objects.values_list("code", "name"))
    first = rows[0] if rows else {}
    other_names = sorted(
        {name.strip() for row in rows for name in str(row.get("other_names", "")).split(";")} - {""}
    )
    sexes = dict(Sex.choices)
    return {
        "pk": held.pk,
        "source": held.source,
        "child_ref": held.child_ref,
        "created_at": held.created_at,
        "updated_at": held.updated_at,
        "area": held.local_authority.name,
        "given_names": first.get("given_names", ""),
        "family_name": first.get("family_name", ""),
        "other_names": other_names,
        "date_of_birth": _as_written(first.get("date_of_birth", "")),
        "sex": sexes.get(str(first.get("sex", "")).lower(), first.get("sex", "")),
        "nhs_number": first.get("nhs_number", ""),
        "involvements": [
            {
                "service": services.get(
                    str(row.get("service", "")).strip().lower(), row.get("service", "")
                ),
                "organisation": row.get("organisation", ""),
                "practitioner_name": row.get("practitioner_name", ""),
                "started_on": _as_written(row.get("started_on", "")),
                "ended_on": _as_written(row.get("ended_on", "")),
            }
            for row in rows
        ],
        "candidates": len(held.candidates),
    }


def _numbers(child: Child) -> frozenset[str]:
    return frozenset({child.nhs_number}) if child.nhs_number else frozenset()


def _pair_summary(pair: ProbableDuplicate, request: HttpRequest, model) -> dict:
    """A pair as the queue lists it: each record's public id, and its name unless the record
    is restricted for the data manager."""

    def shown(child: Child) -> dict:
        if not access.may_read(viewer=request.user, child=child):
            return {"public_id": child.public_id, "restricted": True}
        name = next((n for n in child.names.all() if n.kind == "current"), None)
        return {
            "public_id": child.public_id,
            "restricted": False,
            "name": f"{name.given_names} {name.family_name}" if name else "Name not recorded",
            "date_of_birth": child.date_of_birth,
        }

    grade = model.grade(pair.probability) or "possible"
    return {
        "pk": pair.pk,
        "records": [shown(pair.child_a), shown(pair.child_b)],
        "grade": grade,
        "found_at": pair.found_at,
        "last_found_at": pair.last_found_at,
    }


def _nhs_numbers(held: HeldRow) -> frozenset[str]:
    return frozenset(
        str(row.get("nhs_number") or "").replace(" ", "")
        for row in held.rows
        if isinstance(row, dict)
    ) - {""}


def _candidate(
    child: Child, request: HttpRequest, *, held_nhs_numbers: frozenset[str] | None = None
) -> dict:
    """A child on the register as the decision pages show it (children.access): a record
    shielded from the data manager shows nothing but whom to ask; one of another area shows
    what a search result shows, and whether its NHS number agrees with the held rows'."""
    read = access.may_read(viewer=request.user, child=child)
    if not read:
        return {"public_id": child.public_id, "restricted": True, "contact": read.contact}
    child_record = selectors.child_record(child=child, viewer=request.user)
    current = child_record.current_address
    shown = {
        "public_id": child.public_id,
        "restricted": False,
        "current_name": child_record.current_name,
        "date_of_birth": child.date_of_birth,
        "sex": child.get_sex_display(),
        "area": current.local_authority.name if current else "Not known",
    }
    if not access.may_manage(viewer=request.user, child=child):
        return {
            **shown,
            "other_area": True,
            "nhs_number_agrees": _agrees(child.nhs_number, held_nhs_numbers),
        }
    return {
        **shown,
        "other_names": [name for name in child_record.names if name.kind != "current"],
        "nhs_number": child.nhs_number or "",
        "involvements": [
            *child_record.current_involvements,
            *child_record.past_involvements,
        ],
    }


def _agrees(nhs_number: str | None, held: frozenset[str] | None) -> str:
    if not nhs_number or not held:
        return "Not recorded on both"
    return "The same as in the rows" if held == {nhs_number} else "Different from the rows"


urlpatterns_duplicates = [
    path("manage/duplicates/", held_rows, name="duplicates"),
    path("manage/duplicates/held/<int:held_id>/", held_row_decide, name="held-row"),
    path("manage/duplicates/merge/", merge, name="merge"),
    path("manage/duplicates/pairs/<int:pair_id>/", probable_pair, name="probable-pair"),
]
