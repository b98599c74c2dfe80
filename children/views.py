"""The practitioner's journey: search, choose a result, say why, see who is working with the child.

Every lookup runs under audit.lookup.audited_lookup: the read and its audit
event commit together, and the page renders only afterwards.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from accounts.capabilities import Capability, has_capability
from accounts.decorators import requires
from audit.lookup import audited_lookup
from audit.models import Action
from audit.selectors import LatestSearch, latest_search
from audit.services import record
from children import access, selectors
from children.forms import Reason, ReasonForm, SearchForm
from children.identifiers import is_valid_public_id
from children.merged import merged_into
from children.models import Child
from children.ratelimit import lookup_allowed, next_lookup_at
from children.search import MAX_RESULTS, find_children


@require_http_methods(["GET", "POST"])
@requires(Capability.SEARCH_CHILDREN)
def search(request: HttpRequest) -> HttpResponse:
    """The search form (GET), and a search (POST: names never travel in the URL)."""
    if request.method == "GET":
        return render(request, "children/search.html", {"form": SearchForm()})
    form = SearchForm(request.POST)
    if not form.is_valid():
        # Not a search: nothing is read, nothing is shown but the form and its errors.
        return render(request, "children/search.html", {"form": form})
    return _run_search(request, form)


@audited_lookup
def _run_search(request: HttpRequest, form: SearchForm) -> HttpResponse:
    if not lookup_allowed(user=request.user):
        return rate_limited(request, criteria=form.criteria())
    outcome = find_children(**form.terms())
    results = (
        []
        if outcome.too_many
        else selectors.search_results(
            child_ids=outcome.child_ids, viewer=request.user, matches=outcome.matches
        )
    )
    record(
        request=request,
        action=Action.SEARCH,
        children=[result.public_id for result in results],
        criteria=form.criteria(),
        result_count=len(results),
        outcome="too_many" if outcome.too_many else "allowed",
        detail=selectors.search_event_detail(outcome=outcome, results=results),
    )
    partial = bool(outcome.partial) and not results
    return _results_page(request, form, results, too_many=outcome.too_many, partial=partial)


def _results_page(
    request: HttpRequest, form: SearchForm, results: list, **context
) -> TemplateResponse:
    """The search page with its results (and, for results shown again, when it was)."""
    return TemplateResponse(
        request,
        "children/search.html",
        {
            "form": form,
            "searched": True,
            "results": results,
            "max_results": MAX_RESULTS,
            **context,
        },
    )


@require_safe
@requires(Capability.SEARCH_CHILDREN)
def results(request: HttpRequest) -> HttpResponse:
    """ "Back to results": the user's latest search results again, for RESULTS_KEPT_MINUTES,
    read from the trail (the children that search showed, as they are now) and audited as a
    view of results, not a new lookup. The browser's back button comes here too (the results
    page puts this address in the history)."""
    since = timezone.now() - timedelta(minutes=settings.RESULTS_KEPT_MINUTES)
    latest = latest_search(user_id=request.user.pk, since=since)
    if latest is None:
        # Nothing about a child is shown: the form, and why the results are not there.
        return render(
            request,
            "children/search.html",
            {"form": SearchForm(), "results_gone": True, "minutes": settings.RESULTS_KEPT_MINUTES},
        )
    return _show_results_again(request, latest)


@audited_lookup
def _show_results_again(request: HttpRequest, latest: LatestSearch) -> HttpResponse:
    results = selectors.results_shown_again(latest=latest, viewer=request.user)
    record(
        request=request,
        action=Action.RESULTS_VIEW,
        children=[result.public_id for result in results],
        detail={"search": latest.sequence},
    )
    return _results_page(
        request,
        SearchForm(initial=_initial(latest.criteria)),
        results,
        searched_at=latest.occurred_at,
        too_many=latest.outcome == "too_many",
        partial=latest.detail.get("partial", False),
    )


def _initial(criteria: dict) -> dict:
    """The search form as the user filled it in, from the trail's record of what was asked."""
    initial = {key: value for key, value in criteria.items() if key != "date_of_birth"}
    if criteria.get("date_of_birth"):
        year, month, day = criteria["date_of_birth"].split("-")
        initial.update(dob_day=str(int(day)), dob_month=str(int(month)), dob_year=year)
    return initial


@require_http_methods(["GET", "POST"])
@requires(Capability.SEARCH_CHILDREN)
def record_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """A result, opened: first the reason (GET asks the question), then the record (POST)."""
    child = _readable_result(request, public_id, to="children:record")
    if not isinstance(child, Child):
        return child
    if request.method == "GET":
        # The question only: nothing about the child is shown until a reason is given.
        return render(request, "children/reason.html", _reason_page(child, ReasonForm()))
    return _open_record(request, child)


@require_http_methods(["POST"])
@requires(Capability.SEARCH_CHILDREN)
def record_print(request: HttpRequest, public_id: str) -> HttpResponse:
    """ "Print this record": the record again, as a print version stamped with who printed it,
    when, and its handling marking, recorded as a print (with the reason the view gave)
    before it is shown. The record page prints only a pointer here, so that every paper
    copy is in the trail. Not a new lookup: the same gate as the record, and no count."""
    child = _readable_result(request, public_id, to="children:record-print")
    if not isinstance(child, Child):
        return child
    return _print_record(request, child)


def _readable_result(request: HttpRequest, public_id: str, *, to: str) -> Child | HttpResponse:
    """The child behind a result the user may open, or the answer that refuses it (recorded):
    only from the user's latest search, never a purged or restricted record."""
    if not is_valid_public_id(public_id):
        raise Http404
    survivor = merged_into(public_id)
    if survivor is not None:
        # Merged into another record since: the old id leads there (the gate still applies
        # to the record it leads to). A print stays a print (307 keeps the POST); a record
        # view asks its question again.
        return redirect(
            reverse(to, kwargs={"public_id": survivor}), preserve_request=to != "children:record"
        )
    if not access.in_latest_results(viewer=request.user, public_id=public_id):
        # Not from this user's latest search: a guessed, shared or stale link.
        return _refuse(request, public_id, "not_in_search_results")
    child = selectors.child_for_viewer(public_id=public_id, viewer=request.user)
    if child is None:  # purged since the search
        return _refuse(request, public_id, "no_such_record")
    decision = access.may_read(viewer=request.user, child=child)
    if not decision:
        # A restricted result: listed, never opened. (Or shielded since the search.)
        return _refuse(request, public_id, decision.why, contact=decision.contact)
    return child


def _reason_page(child: Child, form: ReasonForm) -> dict:
    """The question, and whose record it is: the name and date of birth the user's search
    result showed, nothing more."""
    return {
        "form": form,
        "public_id": child.public_id,
        "child_name": selectors.current_name(child=child),
        "child_born": child.date_of_birth,
    }


@audited_lookup
def _open_record(request: HttpRequest, child: Child) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _ask_again(request, child, form)
    if not lookup_allowed(user=request.user):
        return rate_limited(request, children=[child.public_id])
    child_record = selectors.child_record(child=child, viewer=request.user)
    reason, _ = _record_read(request, child, form, Action.RECORD_VIEW)
    manageable = (
        has_capability(request.user, Capability.MANAGE_RECORDS)
        and access.may_manage(viewer=request.user, child=child).allowed
    )
    context = {"reason_form": form, "manageable": manageable}
    return _record_page(request, child_record, reason, **context)


@audited_lookup
def _print_record(request: HttpRequest, child: Child) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        # The print form carries the reason the record view was given; without it, ask.
        return _ask_again(request, child, form, detail={"page": "print"})
    child_record = selectors.child_record(child=child, viewer=request.user)
    reason, read_at = _record_read(request, child, form, Action.RECORD_PRINT)
    user = request.user
    return _record_page(
        request,
        child_record,
        reason,
        printing=True,
        printed_at=timezone.localtime(read_at),
        printed_by=user.get_full_name() or user.get_username(),
        printed_for=user.organisation.name if user.organisation else "",
        marking=settings.RECORD_HANDLING_MARKING,
    )


def _ask_again(
    request: HttpRequest, child: Child, form: ReasonForm, detail: dict | None = None
) -> HttpResponse:
    """Not a refusal: the user has not answered yet. Recorded once, as what it is."""
    record(
        request=request,
        action=Action.REASON_MISSING,
        children=[child],
        outcome="asked_again",
        detail=detail,
    )
    return TemplateResponse(request, "children/reason.html", _reason_page(child, form))


def _record_read(
    request: HttpRequest, child: Child, form: ReasonForm, action: Action
) -> tuple[Reason, datetime]:
    """Records the view (or print) of the record with the reason given: the reason, and
    when the event says it happened."""
    reason = Reason(form.cleaned_data["reason"])
    event = record(
        request=request,
        action=action,
        children=[child],
        reason_code=reason.value,
        reason_text=form.cleaned_data["details"],
    )
    return reason, event.occurred_at


def _record_page(request: HttpRequest, child_record, reason: Reason, **context) -> HttpResponse:
    return TemplateResponse(
        request,
        "children/record.html",
        {"record": child_record, "reason": reason.label, **context},
    )


@audited_lookup
def _refuse(request: HttpRequest, public_id: str, why: str, contact: str = "") -> HttpResponse:
    return _denied(request, public_id, why, contact)


def _denied(request: HttpRequest, public_id: str, why: str, contact: str = "") -> HttpResponse:
    record(
        request=request,
        action=Action.ACCESS_DENIED,
        children=[public_id],
        outcome="denied",
        detail={"why": why},
    )
    return TemplateResponse(
        request, "children/denied.html", {"why": why, "contact": contact}, status=403
    )


def rate_limited(request: HttpRequest, *, criteria=None, children=()) -> HttpResponse:
    record(
        request=request,
        action=Action.RATE_LIMITED,
        children=children,
        criteria=criteria,
        outcome="denied",
    )
    area = access.area_of(request.user)
    next_at = next_lookup_at(user=request.user)
    return TemplateResponse(
        request,
        "children/rate_limited.html",
        {
            "limit": settings.LOOKUPS_PER_HOUR,
            "next_at": timezone.localtime(next_at) if next_at else None,
            "today": timezone.localdate(),
            "emergency": area.safeguarding_contact if area else "",
        },
        status=429,
    )


STALE_PAGE_SIZE = 50


@require_safe
@requires(Capability.MANAGE_RECORDS)
@audited_lookup
def stale_involvements(request: HttpRequest) -> HttpResponse:
    """Open involvements in the data manager's area that their source has not confirmed
    lately, oldest first: the records most likely to be out of date."""
    area = access.area_of(request.user)
    if area is None:
        raise PermissionDenied
    now = timezone.now()
    page = Paginator(selectors.stale_involvements(area=area, now=now), STALE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    record(
        request=request,
        action=Action.STALE_REVIEW,
        children=[involvement.child for involvement in page],
        criteria={"area": area.ons_code, "page": page.number},
        result_count=page.paginator.count,
    )
    return TemplateResponse(
        request,
        "children/stale_involvements.html",
        {
            "area": area,
            "page": page,
            "rows": selectors.stale_rows(area=area, involvements=list(page)),
            "threshold": timezone.localdate(selectors.stale_threshold(now=now)),
            "prev_href": f"?page={page.previous_page_number()}" if page.has_previous() else "",
            "next_href": f"?page={page.next_page_number()}" if page.has_next() else "",
            "months": settings.STALE_AFTER_MONTHS,
        },
    )
