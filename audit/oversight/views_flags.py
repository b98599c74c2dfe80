"""The auditor's queue of flagged lookups, and recording an outcome on one.

Reading the queue or a flag is itself an audit event; an outcome is a FlagOutcome
and a flag_outcome event, appended together, never an edit.
"""

import re

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_safe

from accounts.capabilities import Capability
from accounts.decorators import requires
from audit.lookup import audited_lookup
from audit.models import Action, Flag, Outcome
from audit.oversight.event_rows import EMPTY, child_report_path
from audit.oversight.flags import explain
from audit.oversight.forms import FlagFilterForm, OutcomeForm
from audit.oversight.notices import BECAUSE
from audit.oversight.reports import access_row, role_label
from audit.oversight.selectors import FlagFilter, flag_areas, flag_page, flag_with_event
from audit.oversight.services import OutcomeAlreadyRecorded, flag_outcome_record
from audit.oversight.views import page_href, sequence_param
from audit.services import record

PAGE_SIZE = 50


@require_safe
@requires(Capability.REVIEW_AUDIT)
@audited_lookup
def flags(request: HttpRequest) -> HttpResponse:
    """Flags newest first: open ones unless asked otherwise, by rule and by area."""
    areas = flag_areas()
    form = FlagFilterForm(request.GET or None, areas=areas)
    page = None
    if form.is_bound and not form.is_valid():
        record(
            request=request,
            action=Action.FLAG_REVIEW,
            criteria=dict(request.GET.items()),
            outcome="invalid",
        )
    else:
        criteria = form.to_filter() if form.is_bound else FlagFilter()
        page = flag_page(
            criteria=criteria,
            before=sequence_param(request.GET.get("before")),
            after=sequence_param(request.GET.get("after")),
            size=PAGE_SIZE,
        )
        record(
            request=request,
            action=Action.FLAG_REVIEW,
            children=[flag.child_public_id for flag in page.flags if flag.child_public_id],
            criteria={
                **criteria.as_criteria(),
                **{key: request.GET[key] for key in ("before", "after") if key in request.GET},
            },
            result_count=len(page.flags),
        )
    query = request.GET.copy()
    for key in ("before", "after", "decided"):
        query.pop(key, None)
    return TemplateResponse(
        request,
        "audit/flags.html",
        {
            "form": form,
            "page": page,
            "rows": flag_rows_html(page.flags if page else [], area_names=dict(areas)),
            "decided": _flag_id(request.GET.get("decided", "")),
            "newer_href": page_href(query, "after", page.newer_than if page else None),
            "older_href": page_href(query, "before", page.older_than if page else None),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Capability.REVIEW_AUDIT)
@audited_lookup
def flag(request: HttpRequest, flag_id: int) -> HttpResponse:
    """One flag, what raised it, and its outcome or the form to record one."""
    found = flag_with_event(flag_id=flag_id)
    if found is None:
        raise Http404
    flag, event = found
    form = OutcomeForm(request.POST if request.method == "POST" else None)
    already = None
    if request.method == "POST" and form.is_valid():
        try:
            flag_outcome_record(
                request=request,
                flag=flag,
                outcome=Outcome(form.cleaned_data["outcome"]),
                note=form.cleaned_data["note"],
            )
        except OutcomeAlreadyRecorded as refused:
            already = refused.existing
        else:
            return redirect(reverse("audit:flags") + f"?decided={flag.pk}")
    record(
        request=request,
        action=Action.FLAG_REVIEW,
        children=[flag.child_public_id] if flag.child_public_id else [],
        criteria={"flag": str(flag.pk)},
        outcome="invalid" if request.method == "POST" else "allowed",
        result_count=1,
    )
    if already is not None:
        # Someone else decided it meanwhile: show theirs, not a form to overwrite it.
        flag, event = flag_with_event(flag_id=flag_id)
    return TemplateResponse(
        request,
        "audit/flag.html",
        {
            "flag": flag,
            "event": access_row(event) if event else None,
            "role": role_label(flag.actor_role),
            "form": form,
            "already": already,
            "why": explain(flag),
            "because": BECAUSE,
        },
        status=409 if already is not None else 200,
    )


def _flag_id(value: str) -> int | None:
    """A flag id from the address ("?decided=12" after an outcome), or None."""
    return int(value) if re.fullmatch(r"[0-9]{1,18}", value) else None


def flag_rows_html(flags: list[Flag], *, area_names: dict[str, str]) -> SafeString:
    """The queue table's rows, written here: through the template, 50 rows with their links
    took most of the page's time. Every value is escaped."""
    user_path = reverse("audit:user-activity", kwargs={"user_id": 0}).removesuffix("0/")
    flag_path = reverse("audit:flag", kwargs={"flag_id": 0}).removesuffix("0/")
    child_path = child_report_path()
    return format_html_join(
        "",
        '<tr class="govuk-table__row">'
        '<td class="govuk-table__cell"><time datetime="{}">{}</time></td>'
        '<td class="govuk-table__cell">{}</td>'
        '<td class="govuk-table__cell">{}<br><span class="app-secondary-text">{}</span></td>'
        '<td class="govuk-table__cell">{}</td>'
        '<td class="govuk-table__cell">{}</td>'
        '<td class="govuk-table__cell">{}</td>'
        "</tr>\n",
        (
            (
                flag.raised_at.isoformat(),
                date_format(timezone.localtime(flag.raised_at), "j M Y H:i"),
                flag.get_rule_display(),
                _flag_user(flag, user_path),
                _where(flag, area_names),
                explain(flag),
                format_html(
                    '<a class="govuk-link app-nowrap" href="{}{}/">{}</a>',
                    child_path,
                    flag.child_public_id,
                    flag.child_public_id,
                )
                if flag.child_public_id
                else EMPTY,
                _flag_outcome(flag, flag_path),
            )
            for flag in flags
        ),
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
