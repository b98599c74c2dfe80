"""The flag queue's table rows as HTML, written here rather than through the template: 50
rows with their links took most of the page's time there. Every value is escaped."""

from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from audit.models import Flag
from audit.oversight.event_rows import EMPTY, child_report_path
from audit.oversight.flags import explain
from audit.oversight.reports import role_label

_ROW = (
    '<tr class="govuk-table__row">'
    '<td class="govuk-table__cell"><time datetime="{}">{}</time></td>'
    '<td class="govuk-table__cell">{}</td>'
    '<td class="govuk-table__cell">{}<br><span class="app-secondary-text">{}</span></td>'
    '<td class="govuk-table__cell">{}</td>'
    '<td class="govuk-table__cell">{}</td>'
    '<td class="govuk-table__cell">{}</td>'
    "</tr>\n"
)


def flag_rows_html(flags: list[Flag], *, area_names: dict[str, str]) -> SafeString:
    """The queue table's rows."""
    user_path = reverse("audit:user-activity", kwargs={"user_id": 0}).removesuffix("0/")
    flag_path = reverse("audit:flag", kwargs={"flag_id": 0}).removesuffix("0/")
    child_path = child_report_path()
    return format_html_join(
        "",
        _ROW,
        (
            (
                flag.raised_at.isoformat(),
                date_format(timezone.localtime(flag.raised_at), "j M Y H:i"),
                flag.get_rule_display(),
                _flag_user(flag, user_path),
                _where(flag, area_names),
                explain(flag),
                _flag_child(flag, child_path),
                _flag_outcome(flag, flag_path),
            )
            for flag in flags
        ),
    )


def _flag_child(flag: Flag, child_path: str) -> SafeString | str:
    if not flag.child_public_id:
        return EMPTY
    return format_html(
        '<a class="govuk-link app-nowrap" href="{}{}/">{}</a>',
        child_path,
        flag.child_public_id,
        flag.child_public_id,
    )


def _flag_user(flag: Flag, user_path: str) -> SafeString:
    name = flag.actor_name or flag.actor_username or "Unknown"
    if flag.actor_id:
        return format_html(
            '<a class="govuk-link" href="{}{}/">{}</a>', user_path, flag.actor_id, name
        )
    return format_html("{}", name)


def _where(flag: Flag, area_names: dict[str, str]) -> str:
    parts = [role_label(flag.actor_role), flag.actor_organisation]
    area = area_names.get(flag.area_code, "")
    text = ", ".join(part for part in parts if part)
    return f"{text} ({area})" if area and area != flag.actor_organisation else text


def _flag_outcome(flag: Flag, flag_path: str) -> SafeString:
    outcome = getattr(flag, "outcome", None)
    if outcome is not None:
        # Decided: the outcome, and a link to the flag with its note and who decided it.
        return format_html(
            '<strong class="govuk-tag govuk-tag--grey">{}</strong><br>'
            '<a class="govuk-link" href="{}{}/">See the outcome<span class="govuk-visually-hidden">'
            " of flag {}</span></a>",
            outcome.get_outcome_display(),
            flag_path,
            flag.pk,
            flag.pk,
        )
    return format_html(
        '<a class="govuk-link" href="{}{}/">Review<span class="govuk-visually-hidden"> flag {}'
        "</span></a>",
        flag_path,
        flag.pk,
        flag.pk,
    )
