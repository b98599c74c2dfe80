"""What the auditor's pages show, built from what the views read: paging through a list
from the address, and each page's context. Reads and formatting only; nothing here writes."""

import re
from collections.abc import Mapping
from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from audit.models import AuditEvent, Flag, FlagOutcome
from audit.oversight import reports
from audit.oversight.charts import daily_bar_chart
from audit.oversight.event_rows import child_report_path, event_rows_html
from audit.oversight.flag_rows import flag_rows_html
from audit.oversight.flags import explain
from audit.oversight.notices import BECAUSE
from audit.oversight.selectors import EventPage, FlagPage

PAGING_KEYS = ("before", "after")


def sequence_param(value: str | None) -> int | None:
    # ASCII only: str.isdigit() also accepts digits such as "²" that int() refuses.
    ok = value and value.isascii() and value.isdigit() and len(value) < 19
    return int(value) if ok else None


def paging(query: Mapping[str, str]) -> dict[str, int | None]:
    """Where the page asked for starts: `before` or `after` a sequence number, from the
    address (nothing for a value that is not one)."""
    return {key: sequence_param(query.get(key)) for key in PAGING_KEYS}


def paging_asked(query: Mapping[str, str]) -> dict[str, str]:
    """The paging keys asked for, as given, for the audit event's criteria."""
    return {key: query[key] for key in PAGING_KEYS if key in query}


def page_href(query: Mapping[str, str], key: str, sequence: int | None) -> str:
    """The same page and filters from where the next page starts; "" when there is none."""
    if not sequence:
        return ""
    return "?" + urlencode({**dict(query.items()), key: str(sequence)})


def _without(query, keys: tuple[str, ...]):
    kept = query.copy()
    for key in keys:
        kept.pop(key, None)
    return kept


def events_context(*, form, page: EventPage | None, query) -> dict:
    """The event list: the filters, a page of events and the links to the pages beside it
    and to the export of the same filters."""
    query = _without(query, PAGING_KEYS)
    return {
        "form": form,
        "page": page,
        "rows": event_rows_html(
            reports.access_rows(page.events) if page else [],
            names=True,
            child_report_path=child_report_path(),
        ),
        "newer_href": page_href(query, "after", page.newer_than if page else None),
        "older_href": page_href(query, "before", page.older_than if page else None),
        "export_href": reverse("audit:export") + (f"?{query.urlencode()}" if query else ""),
        "export_cap": settings.AUDIT_EXPORT_MAX_ROWS,
    }


def _flag_id(value: str) -> int | None:
    """A flag id from the address ("?decided=12" after an outcome), or None."""
    return int(value) if re.fullmatch(r"[0-9]{1,18}", value) else None


def flags_context(*, form, page: FlagPage | None, query, areas: list[tuple[str, str]]) -> dict:
    """The flag queue: the filters, a page of flags, the one just decided, and the links to
    the pages beside it."""
    decided = _flag_id(query.get("decided", ""))
    query = _without(query, (*PAGING_KEYS, "decided"))
    return {
        "form": form,
        "page": page,
        "rows": flag_rows_html(page.flags if page else [], area_names=dict(areas)),
        "decided": decided,
        "newer_href": page_href(query, "after", page.newer_than if page else None),
        "older_href": page_href(query, "before", page.older_than if page else None),
    }


def flag_context(
    *, flag: Flag, event: AuditEvent | None, form, already: FlagOutcome | None
) -> dict:
    """One flag: what raised it and why, and its outcome or the form to record one."""
    return {
        "flag": flag,
        "event": reports.access_row(event) if event else None,
        "role": reports.role_label(flag.actor_role),
        "form": form,
        "already": already,
        "why": explain(flag),
        "because": BECAUSE,
    }


def user_activity_context(
    *, subject: reports.ReportSubject, form, report: reports.ActivityReport
) -> dict:
    """A user's activity: lookups per day as a chart, and a page of everything they did."""
    dates = _date_boxes(report.date_from, report.date_to)
    return {
        "subject": subject,
        "form": form,
        "activity": report.activity,
        "chart": daily_bar_chart(
            values=[(day.day, day.lookups) for day in report.activity.days],
            title="Lookups per day (searches and record views)",
            unit="lookup",
            units="lookups",
            chart_id="lookups-chart",
        ),
        "page": report.page,
        "rows": event_rows_html(
            reports.access_rows(report.page.events),
            names=True,
            child_report_path=child_report_path(),
        ),
        "newer_href": page_href(dates, "after", report.page.newer_than),
        "older_href": page_href(dates, "before", report.page.older_than),
    }


def _date_boxes(date_from: date, date_to: date) -> dict[str, str]:
    """The report's range as the address gives it: the date input's three boxes of each."""
    return {
        f"{name}_{part}": str(getattr(day, part))
        for name, day in (("date_from", date_from), ("date_to", date_to))
        for part in ("day", "month", "year")
    }
