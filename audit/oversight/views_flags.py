"""The auditor's queue of flagged lookups, and recording an outcome on one.

Reading the queue or a flag is itself an audit event; an outcome is a FlagOutcome
and a flag_outcome event, appended together, never an edit.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from audit.lookup import audited_lookup
from audit.models import Action
from audit.oversight.forms import FlagFilterForm, OutcomeForm
from audit.oversight.pages import flag_context, flags_context, paging, paging_asked
from audit.oversight.selectors import FlagFilter, flag_areas, flag_page, flag_with_event
from audit.oversight.services import OutcomeAlreadyRecorded, flag_outcome_record
from audit.services import record

PAGE_SIZE = 50


@require_safe
@requires(Capability.REVIEW_AUDIT)
@audited_lookup
def flags(request: HttpRequest) -> HttpResponse:
    """Flags newest first: open ones unless asked otherwise, by rule and by area."""
    areas = flag_areas()
    form = FlagFilterForm(request.GET or None, areas=areas)
    page = None
    if form.is_bound and not form.is_valid():
        record(
            request=request,
            action=Action.FLAG_REVIEW,
            criteria=dict(request.GET.items()),
            outcome="invalid",
        )
    else:
        criteria = form.to_filter() if form.is_bound else FlagFilter()
        page = flag_page(criteria=criteria, **paging(request.GET), size=PAGE_SIZE)
        record(
            request=request,
            action=Action.FLAG_REVIEW,
            children=[flag.child_public_id for flag in page.flags if flag.child_public_id],
            criteria={**criteria.as_criteria(), **paging_asked(request.GET)},
            result_count=len(page.flags),
        )
    context = flags_context(form=form, page=page, query=request.GET, areas=areas)
    return TemplateResponse(request, "audit/flags.html", context)


@require_http_methods(["GET", "POST"])
@requires(Capability.REVIEW_AUDIT)
@audited_lookup
def flag(request: HttpRequest, flag_id: int) -> HttpResponse:
    """One flag, what raised it, and its outcome or the form to record one."""
    found = flag_with_event(flag_id=flag_id)
    if found is None:
        raise Http404
    flag, event = found
    form = OutcomeForm(request.POST if request.method == "POST" else None)
    already = None
    if request.method == "POST" and form.is_valid():
        try:
            flag_outcome_record(request=request, flag=flag, **form.decision())
        except OutcomeAlreadyRecorded as refused:
            already = refused.existing
        else:
            return redirect(reverse("audit:flags") + f"?decided={flag.pk}")
    record(
        request=request,
        action=Action.FLAG_REVIEW,
        children=[flag.child_public_id] if flag.child_public_id else [],
        criteria={"flag": str(flag.pk)},
        outcome="invalid" if request.method == "POST" else "allowed",
        result_count=1,
    )
    if already is not None:
        # Someone else decided it meanwhile: show theirs, not a form to overwrite it.
        flag, event = flag_with_event(flag_id=flag_id)
    context = flag_context(flag=flag, event=event, form=form, already=already)
    return TemplateResponse(
        request, "audit/flag.html", context, status=409 if already is not None else 200
    )
