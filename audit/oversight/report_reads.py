"""The auditors' reports and exports, read on the primary or on the read replica (ADR 0009).

On one server a report reads, then records its own audit event with what it found (how
many rows), in one transaction, and renders after the commit (audit.lookup.audited_lookup).

With a replica (DATABASE_REPLICA_URL) the read is on another server, which no transaction
of the primary's can hold. Fail-closed is then kept by order: the report's event is written
and committed on the primary first, and only then is the report read from the replica, so
there is never a report read without its event in the trail (at worst an event for a report
whose read then failed, which the auditors can tell from the error logs). Such an event
cannot count the rows the read then finds: its result_count is empty and its detail says
`read_from: replica`. A replica that is down or too far behind is not used: the report runs
as on one server (read and event in one transaction), and a warning is logged.

    @require_safe
    @requires(Capability.REVIEW_AUDIT)
    @audited_report
    def child_access(request, public_id):
        page = audited_read(
            request,
            read=lambda: reports.child_access_page(public_id=public_id),
            event={"action": Action.ACCESS_REPORT, "children": [public_id]},
            counted=lambda page: {"result_count": len(page.events)},
        )
        return TemplateResponse(...)
"""

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from audit.lookup import audited_lookup, audited_lookup_in_steps
from audit.services import record
from signposting.db_router import read_on_replica, replica_configured, replica_ready

T = TypeVar("T")

# Set on the request by audited_report when the view runs without a transaction around it.
_IN_STEPS = "audit_report_in_steps"


def audited_report(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """audited_lookup for a report that may read from the replica: around the whole view in
    one transaction without a replica, in steps (audited_read commits the event first) with
    one."""
    in_one_transaction = audited_lookup(view)
    in_steps = audited_lookup_in_steps(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if replica_configured():
            setattr(request, _IN_STEPS, True)
            return in_steps(request, *args, **kwargs)
        return in_one_transaction(request, *args, **kwargs)

    wrapped.audited_lookup = True
    return wrapped


def audited_read(
    request: HttpRequest,
    *,
    read: Callable[[], T],
    event: Mapping[str, Any],
    counted: Callable[[T], Mapping[str, Any]] | None = None,
) -> T:
    """Reads a report and records its event (audit.services.record's arguments; `counted`
    adds those that depend on what was read) in the order the database allows: read then
    record in one transaction on the primary, record (committed) then read on the replica.
    """
    if not getattr(request, _IN_STEPS, False):
        # Inside audited_lookup's transaction.
        result = read()
        record(request=request, **_event(event, counted(result) if counted else {}))
        return result
    if not replica_ready():
        # Down or behind (a warning is logged): as on one server.
        with transaction.atomic():
            result = read()
            record(request=request, **_event(event, counted(result) if counted else {}))
        return result
    # Durable: this commits here, or raises if someone put a transaction around it.
    with transaction.atomic(durable=True):
        record(request=request, **_event(event, {"detail": {"read_from": "replica"}}))
    return read_on_replica(read)


def _event(event: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**event, **extra}
    if "detail" in event and "detail" in extra:
        merged["detail"] = {**event["detail"], **extra["detail"]}
    return merged
