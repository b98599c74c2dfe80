"""The auditor workspace. Every use of it is itself an audit event."""

from collections.abc import Mapping
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from audit.lookup import audited_lookup
from audit.models import Action
from audit.oversight.csvexport import csv_response
from audit.oversight.event_rows import child_report_path, event_rows_html
from audit.oversight.forms import EventFilterForm
from audit.oversight.reports import access_rows
from audit.oversight.selectors import EventFilter, event_page, events_matching, flag_areas
from audit.services import record

PAGE_SIZE = 50


@require_safe
@requires(Capability.REVIEW_AUDIT)
@audited_lookup
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
        page = event_page(
            criteria=criteria,
            before=sequence_param(request.GET.get("before")),
            after=sequence_param(request.GET.get("after")),
            size=PAGE_SIZE,
        )
        record(
            request=request,
            action=Action.AUDIT_SEARCH,
            criteria={
                **criteria.as_criteria(),
                **{key: request.GET[key] for key in ("before", "after") if key in request.GET},
            },
            result_count=len(page.events),
        )
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return TemplateResponse(
        request,
        "audit/events.html",
        {
            "form": form,
            "page": page,
            "rows": event_rows_html(
                access_rows(page.events) if page else [],
                names=True,
                child_report_path=child_report_path(),
            ),
            "newer_href": page_href(query, "after", page.newer_than if page else None),
            "older_href": page_href(query, "before", page.older_than if page else None),
            "export_href": reverse("audit:export") + (f"?{query.urlencode()}" if query else ""),
            "export_cap": settings.AUDIT_EXPORT_MAX_ROWS,
        },
    )


def page_href(query: Mapping[str, str], key: str, sequence: int | None) -> str:
    """The same page and filters from where the next page starts; "" when there is none."""
    if not sequence:
        return ""
    return "?" + urlencode({**dict(query.items()), key: str(sequence)})


def sequence_param(value: str | None) -> int | None:
    # ASCII only: str.isdigit() also accepts digits such as "²" that int() refuses.
    ok = value and value.isascii() and value.isdigit() and len(value) < 19
    return int(value) if ok else None


EXPORT_HEADER = (
    "No.",
    "When",
    "Name",
    "Username",
    "Role",
    "Organisation",
    "Action",
    "Children",
    "Reason",
    "Reason given",
    "Outcome",
    "Results",
)


@require_safe
@requires(Capability.REVIEW_AUDIT)
@audited_lookup
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
    events = list(events_matching(criteria=criteria)[: limit + 1])
    capped = len(events) > limit
    events = events[:limit]
    record(
        request=request,
        action=Action.AUDIT_EXPORT,
        criteria=criteria.as_criteria(),
        result_count=len(events),
        detail={"report": "events", "capped": capped},
    )
    local = timezone.get_current_timezone()
    rows = (
        (
            event.sequence,
            event.occurred_at.astimezone(local).isoformat(timespec="seconds"),
            event.actor_name,
            event.actor_username,
            event.actor_role,
            event.actor_organisation,
            event.get_action_display(),
            "; ".join(event.children),
            event.reason_code,
            event.reason_text,
            event.outcome,
            "" if event.result_count is None else event.result_count,
        )
        for event in events
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = csv_response(filename=f"audit-events-{stamp}.csv", header=EXPORT_HEADER, rows=rows)
    if capped:
        response["X-Export-Capped"] = str(limit)
    return response
