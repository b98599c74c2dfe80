"""The auditor workspace. Every use of it is itself an audit event. The event list and its
export may read from the replica (audit.oversight.report_reads)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from audit.models import Action
from audit.oversight.csvexport import EXPORT_HEADER, csv_response, event_export_rows
from audit.oversight.forms import EventFilterForm
from audit.oversight.pages import events_context, paging, paging_asked
from audit.oversight.report_reads import audited_read, audited_report
from audit.oversight.selectors import EventFilter, event_page, events_for_export, flag_areas
from audit.services import record

PAGE_SIZE = 50


@require_safe
@requires(Capability.REVIEW_AUDIT)
@audited_report
def events(request: HttpRequest) -> HttpResponse:
    """Events newest first, filtered, 50 a page by sequence (no counting of millions of rows)."""
    form = EventFilterForm(request.GET or None, areas=flag_areas())
    page = None
    if form.is_bound and not form.is_valid():
        record(
            request=request,
            action=Action.AUDIT_SEARCH,
            criteria=dict(request.GET.items()),
            outcome="invalid",
        )
    else:
        criteria = form.to_filter() if form.is_bound else EventFilter()
        page = audited_read(
            request,
            read=lambda: event_page(criteria=criteria, **paging(request.GET), size=PAGE_SIZE),
            event={
                "action": Action.AUDIT_SEARCH,
                "criteria": {**criteria.as_criteria(), **paging_asked(request.GET)},
            },
            counted=lambda page: {"result_count": len(page.events)},
        )
    context = events_context(form=form, page=page, query=request.GET)
    return TemplateResponse(request, "audit/events.html", context)


@require_safe
@requires(Capability.REVIEW_AUDIT)
@audited_report
def export(request: HttpRequest) -> HttpResponse:
    """The filtered event list as CSV: the columns the screen shows, at most
    AUDIT_EXPORT_MAX_ROWS rows, newest first. The export is itself an audit event,
    committed before a byte is sent."""
    form = EventFilterForm(request.GET or None, areas=flag_areas())
    if form.is_bound and not form.is_valid():
        # The list page shows what is wrong with the filters.
        return redirect(reverse("audit:events") + "?" + request.GET.urlencode())
    criteria = form.to_filter() if form.is_bound else EventFilter()
    limit = settings.AUDIT_EXPORT_MAX_ROWS
    events, capped = audited_read(
        request,
        read=lambda: events_for_export(criteria=criteria, limit=limit),
        event={
            "action": Action.AUDIT_EXPORT,
            "criteria": criteria.as_criteria(),
            "detail": {"report": "events"},
        },
        counted=lambda found: {"result_count": len(found[0]), "detail": {"capped": found[1]}},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = csv_response(
        filename=f"audit-events-{stamp}.csv", header=EXPORT_HEADER, rows=event_export_rows(events)
    )
    if capped:
        response["X-Export-Capped"] = str(limit)
    return response
