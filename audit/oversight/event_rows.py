"""The rows of the GOV.UK events table that the auditor's pages share (the event list, a
child's access report, a user's activity), written as HTML in Python.

At 100 rows a page the template engine took about 18 ms; format_html takes about 2.
templates/audit/_access_rows.html holds the rest of the table (caption and headings)
and says which columns these cells fill.
"""

from collections.abc import Sequence
from urllib.parse import quote

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from audit.oversight.reports import AccessRow

NO_USER = "Not signed in (a failed sign-in, an import, a feed or the service itself)"
EMPTY = "\u2013"  # an en dash, as GOV.UK tables show an empty cell


def child_report_path() -> str:
    """A child's access report path up to the id: reversed once a page, not once a link."""
    return reverse("audit:child-access", kwargs={"public_id": "ID"}).removesuffix("ID/")


def event_rows_html(
    rows: Sequence[AccessRow], *, names: bool, child_report_path: str = ""
) -> SafeString:
    """The table body's rows: when, who, action, [children,] reason, outcome, event number.
    Names and usernames only if `names`; a children column only if `child_report_path`
    (a child's report path without the id) is given. Every value is escaped."""
    return format_html_join(
        "",
        '<tr class="govuk-table__row">'
        '<td class="govuk-table__cell"><time datetime="{}">{}</time></td>'
        '<td class="govuk-table__cell">{}</td>'
        '<td class="govuk-table__cell">{}</td>'
        "{}"
        '<td class="govuk-table__cell">{}</td>'
        '<td class="govuk-table__cell">{}</td>'
        '<td class="govuk-table__cell govuk-table__cell--numeric">{}</td>'
        "</tr>\n",
        (
            (
                row.when_iso,
                row.when_text,
                _who(row, names=names),
                row.action,
                _children(row, child_report_path) if child_report_path else "",
                _reason(row),
                row.outcome,
                row.sequence,
            )
            for row in rows
        ),
    )


def _who(row: AccessRow, *, names: bool) -> SafeString:
    if not row.signed_in:
        return format_html('<span class="app-secondary-text">{}</span>', NO_USER)
    where = f", {row.actor_organisation}" if row.actor_organisation else ""
    if names:
        return format_html(
            '{}<br><span class="app-secondary-text">{}, {}{}</span>',
            row.actor_name or row.actor_username,
            row.actor_username,
            row.actor_role,
            where,
        )
    if row.actor_organisation:
        return format_html(
            '{}<br><span class="app-secondary-text">{}</span>',
            row.actor_role,
            row.actor_organisation,
        )
    return format_html("{}", row.actor_role)


def _children(row: AccessRow, report_path: str) -> SafeString:
    links = format_html_join(
        ", ",
        '<a class="govuk-link app-nowrap" href="{}{}/">{}</a>',
        ((report_path, quote(public_id, safe=""), public_id) for public_id in row.children),
    )
    return format_html('<td class="govuk-table__cell">{}</td>', links or EMPTY)


def _reason(row: AccessRow) -> str:
    if row.reason_text:
        # A change's reason (a restriction's, say) is its text alone, with no reason code.
        return f"{row.reason}: {row.reason_text}" if row.reason else row.reason_text
    return row.reason or EMPTY
