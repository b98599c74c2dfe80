"""The auditor workspace. Every use of it is itself an audit event."""

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from audit.forms import EventFilterForm
from audit.lookup import audited_lookup
from audit.models import Action
from audit.selectors import EventFilter, event_page
from audit.services import record

PAGE_SIZE = 50


@require_safe
@requires(Capability.REVIEW_AUDIT)
@audited_lookup
def events(request: HttpRequest) -> HttpResponse:
    """Events newest first, filtered, 50 a page by sequence (no counting of millions of rows)."""
    form = EventFilterForm(request.GET or None)
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
            before=_sequence(request.GET.get("before")),
            after=_sequence(request.GET.get("after")),
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
            "newer_href": _page_href(query, "after", page.newer_than if page else None),
            "older_href": _page_href(query, "before", page.older_than if page else None),
        },
    )


def _page_href(query, key: str, sequence: int | None) -> str:
    """The filters as given, and where the next page starts; "" when there is none."""
    if not sequence:
        return ""
    query = query.copy()
    query[key] = str(sequence)
    return "?" + query.urlencode()


def _sequence(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None
