"""Auditor reports: every event touching a child (on screen, printable, CSV) and one user's
activity over a date range. Each look at a report is an audit event of its own, written in
the same transaction as the read and before anything is rendered or sent; with a read
replica, committed on the primary before the read (audit.oversight.report_reads)."""

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from audit.lookup import audited_lookup
from audit.models import Action
from audit.oversight import reports
from audit.oversight.csvexport import csv_response
from audit.oversight.event_rows import event_rows_html
from audit.oversight.forms_reports import ActivityRangeForm, PublicIdForm
from audit.oversight.pages import (
    PAGING_KEYS,
    page_href,
    paging,
    sequence_param,
    user_activity_context,
)
from audit.oversight.report_reads import audited_read, audited_report
from audit.oversight.reports import AccessRow
from audit.selectors import trail_archived
from audit.services import record
from children.forms import SearchForm
from children.identifiers import is_valid_public_id
from children.search import MAX_RESULTS, find_children
from children.selectors import search_results

# Ids beyond a signed 64-bit integer cannot exist, and the databases refuse to compare them.
MAX_ID = 2**63 - 1
# A user's events are listed 50 a page, as on the event list: below the chart and the
# daily table, a page of 100 rows cost the page its 50 ms.
USER_EVENTS_PAGE = 50


@require_http_methods(["GET", "POST"])
@requires(Capability.REVIEW_AUDIT)
def child_find(request: HttpRequest) -> HttpResponse:
    """A subject access request names a child and gives a date of birth, not a public id: the
    auditor finds the child on the register (POST, the search's form and minimum criteria)
    to open their access report; for a child already purged, by the public id (GET), which
    the trail still knows."""
    if request.method == "GET":
        id_form = PublicIdForm(request.GET or None)
        if id_form.is_valid():
            return redirect("audit:child-access", public_id=id_form.cleaned_data["public_id"])
        return render(request, "audit/child_find.html", _find_page(SearchForm(), id_form))
    form = SearchForm(request.POST)
    if not form.is_valid():
        return render(request, "audit/child_find.html", _find_page(form, PublicIdForm()))
    return _find_child(request, form)


def _find_page(form: SearchForm, id_form: PublicIdForm, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "id_form": id_form,
        "find_url": reverse("audit:child-find"),
        "retention_months": settings.RETENTION_MONTHS,
        **extra,
    }


@audited_lookup
def _find_child(request: HttpRequest, form: SearchForm) -> HttpResponse:
    """An auditor's search of the register, recorded as an audit search (what was asked and
    the children shown). A restricted record shows as a search result shows it: its date of
    birth and its access report, never its name."""
    outcome = find_children(**form.terms())
    results = (
        [] if outcome.too_many else search_results(child_ids=outcome.child_ids, viewer=request.user)
    )
    record(
        request=request,
        action=Action.AUDIT_SEARCH,
        children=[result.public_id for result in results],
        criteria=form.criteria(),
        result_count=len(results),
        outcome="too_many" if outcome.too_many else "allowed",
        detail={"page": "find_child"},
    )
    return TemplateResponse(
        request,
        "audit/child_find.html",
        _find_page(
            form,
            PublicIdForm(),
            searched=True,
            results=results,
            too_many=outcome.too_many,
            max_results=MAX_RESULTS,
        ),
    )


@require_safe
@requires(Capability.REVIEW_AUDIT)
@audited_report
def child_access(request: HttpRequest, public_id: str) -> HttpResponse:
    """Who touched this child's record, and why: from the audit trail only, never the record."""
    if not is_valid_public_id(public_id):
        raise Http404
    output = request.GET.get("format", "")
    if output == "csv":
        return _child_access_csv(request, public_id)
    if output == "print":
        return _child_access_print(request, public_id)
    # Any other format is the page on screen.
    return _child_access_screen(request, public_id)


def _child_access_screen(request: HttpRequest, public_id: str) -> HttpResponse:
    before, after = (
        sequence_param(request.GET.get("before")),
        sequence_param(request.GET.get("after")),
    )
    page, status = audited_read(
        request,
        read=lambda: (
            reports.child_access_page(public_id=public_id, before=before, after=after),
            reports.record_status(public_id=public_id),
        ),
        event={
            "action": Action.ACCESS_REPORT,
            "children": [public_id],
            "criteria": {"child": public_id, **_paging(request)},
        },
        counted=lambda found: {"result_count": len(found[0].events)},
    )
    return TemplateResponse(
        request,
        "audit/child_access.html",
        {
            "public_id": public_id,
            "status": status,
            "page": page,
            "rows": event_rows_html(reports.access_rows(page.events), names=True),
            "limit": settings.AUDIT_EXPORT_MAX_ROWS,
            "names": settings.ACCESS_REPORT_NAMES_PRACTITIONERS,
            "newer_href": page_href({}, "after", page.newer_than),
            "older_href": page_href({}, "before", page.older_than),
            "archived": trail_archived(),
        },
    )


def _child_access_print(request: HttpRequest, public_id: str) -> HttpResponse:
    limit = settings.AUDIT_EXPORT_MAX_ROWS
    names = settings.ACCESS_REPORT_NAMES_PRACTITIONERS
    export, status = audited_read(
        request,
        read=lambda: (
            reports.child_access_rows_for_export(public_id=public_id, limit=limit),
            reports.record_status(public_id=public_id),
        ),
        event={
            "action": Action.ACCESS_REPORT,
            "children": [public_id],
            "criteria": {"child": public_id},
            "detail": {"format": "print"},
        },
        counted=lambda found: {"result_count": len(found[0].rows)},
    )
    return TemplateResponse(
        request,
        "audit/child_access_print.html",
        {
            "public_id": public_id,
            "status": status,
            "rows": event_rows_html(export.rows, names=names),
            "count": len(export.rows),
            "capped": export.capped,
            "limit": limit,
            "names": names,
            "produced_at": timezone.now(),
            "archived": trail_archived(),
        },
    )


CSV_HEADER = ("Event number", "When (UK time)", "Action")
CSV_NAMES = ("Name", "Username")
CSV_REST = ("Role", "Organisation", "Reason", "Reason details", "Outcome")


def _child_access_csv(request: HttpRequest, public_id: str) -> HttpResponse:
    # Recorded before a single row is written out; if this fails, nothing is sent.
    export = audited_read(
        request,
        read=lambda: reports.child_access_rows_for_export(
            public_id=public_id, limit=settings.AUDIT_EXPORT_MAX_ROWS
        ),
        event={
            "action": Action.AUDIT_EXPORT,
            "children": [public_id],
            "criteria": {"child": public_id},
            "detail": {"report": "child_access"},
        },
        counted=lambda export: {
            "result_count": len(export.rows),
            "detail": {"rows": len(export.rows)},
        },
    )
    names = settings.ACCESS_REPORT_NAMES_PRACTITIONERS
    # csv_response guards every cell against running as a spreadsheet formula.
    return csv_response(
        filename=f"access-report-{public_id}.csv",
        header=[*CSV_HEADER, *(CSV_NAMES if names else ()), *CSV_REST],
        rows=(_csv_values(row, names=names) for row in export.rows),
    )


def _csv_values(row: AccessRow, *, names: bool) -> list[Any]:
    who = [row.actor_name, row.actor_username] if names else []
    return [
        row.sequence,
        row.when,
        row.action,
        *who,
        row.actor_role,
        row.actor_organisation,
        row.reason,
        row.reason_text,
        row.outcome,
    ]


@require_safe
@requires(Capability.REVIEW_AUDIT)
@audited_report
def user_activity(request: HttpRequest, user_id: int) -> HttpResponse:
    """A user's lookups per day over a date range, and everything they did in it."""
    subject = reports.report_subject(user_id=user_id) if user_id <= MAX_ID else None
    if subject is None:
        raise Http404
    form = ActivityRangeForm.from_query(request.GET)
    if form.is_bound and not form.is_valid():
        record(
            request=request,
            action=Action.ACTIVITY_REPORT,
            criteria={"user": user_id, **form.data},
            outcome="invalid",
        )
        context = {"subject": subject, "form": form}
        return TemplateResponse(request, "audit/user_activity.html", context)
    report = audited_read(
        request,
        read=lambda: reports.user_activity_report(
            user_id=user_id,
            date_range=form.date_range(),
            size=USER_EVENTS_PAGE,
            **paging(request.GET),
        ),
        event={
            "action": Action.ACTIVITY_REPORT,
            "criteria": {"user": user_id, **form.range_criteria(), **_paging(request)},
        },
        counted=lambda report: {"result_count": len(report.page.events)},
    )
    context = user_activity_context(subject=subject, form=form, report=report)
    return TemplateResponse(request, "audit/user_activity.html", context)


def _paging(request: HttpRequest) -> dict[str, str]:
    """The paging key asked for, as given, for the audit event's criteria."""
    return {key: request.GET[key][:20] for key in PAGING_KEYS if key in request.GET}
