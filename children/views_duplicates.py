"""Data managers' review of probable duplicates: held import rows, the pairs the register-wide
check found (manage.py find_duplicates), and merging two records.

Every page that shows child data runs under audit.lookup.audited_lookup and is
recorded (record_change, outcome "viewed"); decisions are recorded by the
services they call (children.duplicates); a held row or record of another area
is refused and recorded as access_denied. Nothing is written until the data
manager has seen their answers and confirmed them.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from accounts.models import Organisation
from audit.lookup import audited_lookup
from audit.models import Action
from audit.services import record
from children import access
from children.duplicates import (
    HeldRowNotImported,
    children_merge,
    held_row_resolve,
    probable_pair_decide_different,
)
from children.forms_duplicates import (
    HeldRowDecisionForm,
    MergeForm,
    MergeIdsForm,
    ProbablePairDecisionForm,
)
from children.models import Child, HeldRow
from children.selectors_duplicates import (
    PairReview,
    candidate,
    children_to_merge,
    duplicates_queue,
    held_row_page,
    held_row_to_decide,
    pair_page,
    pair_to_review,
    pending_held_row,
    queue_page,
)


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
    queue = duplicates_queue(area=area)
    record(
        request=request,
        action=Action.MANAGE_VIEW,
        children=queue.public_ids,
        criteria={"area": area.ons_code},
        result_count=len(queue.held) + len(queue.pairs),
        detail={"page": "held_rows", "held_rows": len(queue.held), "pairs": len(queue.pairs)},
    )
    context = queue_page(queue=queue, area=area, viewer=request.user)
    return TemplateResponse(request, "children/duplicates/list.html", context)


@require_http_methods(["GET", "POST"])
@requires(Capability.MANAGE_RECORDS)
@audited_lookup
def probable_pair(request: HttpRequest, pair_id: int) -> HttpResponse:
    """Two records the register-wide check found probably one child: compare them, then
    merge them (the merge pages) or say they are different children (check, confirm)."""
    review = pair_to_review(pair_id=pair_id, area=_area(request), viewer=request.user)
    if review is None:
        return _not_found(request)
    if not review.in_area:
        return _denied(request, why="pair_of_another_area", detail={"pair": review.pair.pk})
    form = ProbablePairDecisionForm(
        request.POST if request.method == "POST" else None,
        may_merge=review.may_merge,
        restricted_contact=review.restricted[0].contact if review.restricted else "",
    )
    record(
        request=request,
        action=Action.MANAGE_VIEW,
        children=review.children,
        detail={"page": "probable_pair", "pair": review.pair.pk},
    )
    context = {**pair_page(review=review, viewer=request.user), "form": form}
    if request.method == "GET" or not form.is_valid():
        return _page(request, "children/duplicates/pair.html", context)
    return _pair_decided(request, review=review, form=form, context=context)


def _pair_decided(
    request: HttpRequest, *, review: PairReview, form: ProbablePairDecisionForm, context: dict
) -> HttpResponse:
    """The same child: on to the merge pages. Different children: check, then confirm."""
    first, second = review.children
    if form.cleaned_data["decision"] == ProbablePairDecisionForm.SAME:
        return redirect(
            f"{reverse('children:merge')}?first={first.public_id}&second={second.public_id}"
        )
    if not form.is_confirmed:
        return _page(request, "children/duplicates/pair_check.html", context)
    try:
        probable_pair_decide_different(pair=review.pair, request=request)
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
    held = pending_held_row(held_id=held_id)
    if held is None:
        return _not_found(request)
    if held.local_authority_id != area.pk:
        return _denied(request, why="held_row_of_another_area", detail={"held_row": held.pk})
    review = held_row_to_decide(held=held, viewer=request.user)
    context = held_row_page(review=review, viewer=request.user)
    form = HeldRowDecisionForm(
        request.POST if request.method == "POST" else None, candidates=review.choosable
    )
    _viewed(request, held=held, candidates=review.candidates)
    if request.method == "GET" or not form.is_valid():
        return _page(request, "children/duplicates/decide.html", {**context, "form": form})
    return _held_row_decided(request, held=held, form=form, context=context)


def _held_row_decided(
    request: HttpRequest, *, held: HeldRow, form: HeldRowDecisionForm, context: dict
) -> HttpResponse:
    """A decision on a held row: check it, then resolve the row (children.duplicates)."""
    child = form.chosen_child
    if not form.is_confirmed:
        shown = child and candidate(child=child, viewer=request.user)
        check = {**context, "form": form, "child": shown}
        return _page(request, "children/duplicates/decide_check.html", check)
    resolution = HeldRow.Resolution.DIFFERENT if child is None else HeldRow.Resolution.MERGED
    try:
        held_row_resolve(held=held, resolution=resolution, child=child, request=request)
    except ValidationError as error:
        form.add_error(None, error.messages[0])
        return _page(request, "children/duplicates/decide.html", {**context, "form": form})
    except HeldRowNotImported as refused:
        problems = [str(error) for error in refused.report.errors]
        return _page(request, "children/duplicates/refused.html", {**context, "problems": problems})
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
    _area(request)
    if request.method == "GET":
        # From a probable pair of the queue, the two public ids come filled in.
        initial = {name: request.GET.get(name, "")[:20] for name in ("first", "second")}
        return render(
            request, "children/duplicates/merge_ids.html", {"form": MergeIdsForm(initial=initial)}
        )
    ids = MergeIdsForm(request.POST)
    if not ids.is_valid():
        return render(request, "children/duplicates/merge_ids.html", {"form": ids})
    return _merge_step(request, ids=ids)


@audited_lookup
def _merge_step(request: HttpRequest, *, ids: MergeIdsForm) -> HttpResponse:
    asked = children_to_merge(viewer=request.user, public_ids=ids.public_ids())
    if asked.refusals:
        _record_refusals(request, asked.refusals)
        ids.add_refusals(asked.refusals)
        return TemplateResponse(request, "children/duplicates/merge_ids.html", {"form": ids})
    choosing = "keep" not in request.POST
    form = MergeForm(
        None if choosing else request.POST, children=asked.children, initial=ids.cleaned_data
    )
    record(
        request=request,
        action=Action.MANAGE_VIEW,
        children=asked.children,
        detail={"page": "merge"},
    )
    context = {"children": [candidate(child=c, viewer=request.user) for c in asked.children]}
    if choosing or not form.is_valid():
        return TemplateResponse(
            request, "children/duplicates/merge_choose.html", {**context, "form": form}
        )
    return _merge_confirmed(request, form=form, context=context)


def _merge_confirmed(request: HttpRequest, *, form: MergeForm, context: dict) -> HttpResponse:
    """The record to keep chosen: check, then merge (children.duplicates.children_merge)."""
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


def _record_refusals(request: HttpRequest, refusals: dict[str, access.Decision]) -> None:
    """One access_denied event for each reason, naming the records refused for it."""
    for why in sorted({refusal.why for refusal in refusals.values()}):
        record(
            request=request,
            action=Action.ACCESS_DENIED,
            outcome="denied",
            children=[p for p, refusal in refusals.items() if refusal.why == why],
            detail={"why": why, "page": "merge"},
        )


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


urlpatterns_duplicates = [
    path("manage/duplicates/", held_rows, name="duplicates"),
    path("manage/duplicates/held/<int:held_id>/", held_row_decide, name="held-row"),
    path("manage/duplicates/merge/", merge, name="merge"),
    path("manage/duplicates/pairs/<int:pair_id>/", probable_pair, name="probable-pair"),
]
