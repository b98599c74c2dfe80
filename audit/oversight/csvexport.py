"""CSV downloads of audit data: cells that spreadsheets cannot run, the response, and the
event list's columns."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from django.http import HttpResponse
from django.utils import timezone

if TYPE_CHECKING:
    from audit.models import AuditEvent

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The value as text, with a leading apostrophe if a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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


def event_export_rows(events: Iterable["AuditEvent"]) -> Iterator[tuple[object, ...]]:
    """The event list's columns (EXPORT_HEADER) for each event, times in local time."""
    local = timezone.get_current_timezone()
    return (
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
