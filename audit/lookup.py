"""Fail-closed lookups: the read and its audit event commit together, then the page renders.

Usage, for every view that shows or searches child data:

    @requires(Capability.SEARCH_CHILDREN)
    @audited_lookup
    def record_view(request, public_id):
        child = selectors.child_for_viewer(public_id=public_id, viewer=request.user)
        audit.services.record(request=request, action=Action.RECORD_VIEW, children=[child], ...)
        return TemplateResponse(request, "children/record.html", {"child": child})

The decorator runs the view in one transaction. If the audit write fails, the
transaction rolls back and the user gets the "service unavailable" page: no
child data, nothing committed. A successful (2xx) response from a view that
recorded no event is a programming error and is refused the same way, so a
lookup can never be shown unaudited. Return a TemplateResponse so that the
template is rendered after the commit.
"""

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import wraps

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.response import SimpleTemplateResponse

from audit.services import AuditWriteError

logger = logging.getLogger(__name__)


class UnauditedLookupError(Exception):
    """A lookup view tried to answer without recording an audit event."""


def audited_lookup(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    return _audited(view, transaction.atomic)


def audited_lookup_in_steps(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """audited_lookup for a view that reads from another server than the one it records on
    (an auditor's report on the read replica: audit.oversight.report_reads). No transaction
    can hold both, so none is put around the view: it commits its audit event itself, in
    `transaction.atomic(durable=True)`, before it reads. Refused as audited_lookup refuses
    (an audit write that fails, a 2xx answer with no event) and rendered after, as there."""
    return _audited(view, nullcontext)


def _audited(
    view: Callable[..., HttpResponse], around: Callable[[], AbstractContextManager]
) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        before = getattr(request, "audit_events_recorded", 0)
        try:
            with around():
                response = view(request, *args, **kwargs)
                recorded = getattr(request, "audit_events_recorded", 0) > before
                if response.status_code < 300 and not recorded:
                    raise UnauditedLookupError(view.__qualname__)
        except (AuditWriteError, UnauditedLookupError) as error:
            logger.error(
                "Lookup refused, audit trail not written (%s) request_id=%s",
                type(error).__name__,
                getattr(request, "request_id", ""),
            )
            return render(request, "audit/unavailable.html", status=503)
        if isinstance(response, SimpleTemplateResponse):
            response.render()  # after the commit, outside the transaction
        return response

    wrapped.audited_lookup = True
    return wrapped
