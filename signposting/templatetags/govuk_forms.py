"""Renders a form field's widget with the GOV.UK Frontend classes and ARIA links."""

from django import template
from django.forms import BoundField
from django.forms.widgets import (
    EmailInput,
    NumberInput,
    PasswordInput,
    Select,
    TextInput,
    URLInput,
)
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_CLASSES = {
    "textarea": ("govuk-textarea", "govuk-textarea--error"),
    "select": ("govuk-select", "govuk-select--error"),
    "clearablefileinput": ("govuk-file-upload", "govuk-file-upload--error"),
    "fileinput": ("govuk-file-upload", "govuk-file-upload--error"),
}
_INPUT = ("govuk-input", "govuk-input--error")


@register.simple_tag
def govuk_widget(
    field: BoundField, *, input_class: str = "", hint_id: str = "", error_id: str = ""
) -> SafeString:
    base, error = _CLASSES.get(field.widget_type, _INPUT)
    classes = [base, input_class or ""]
    if field.errors:
        classes.append(error)
    described_by = [hint_id] if field.help_text else []
    if field.errors:
        described_by.append(error_id)
    attrs = {"class": " ".join(c for c in classes if c)}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    if isinstance(field.field.widget, _PLAIN_INPUTS) and not field.field.localize:
        return _plain_input(field, attrs)
    if type(field.field.widget) is Select:
        return _plain_select(field, attrs)
    return field.as_widget(attrs=attrs)


# Text-like inputs are written here directly: Django renders every widget through its
# own template, which on a form of eight fields cost about a millisecond a page. The
# output is the same as django/forms/widgets/input.html (tests/test_govuk_forms.py).
_PLAIN_INPUTS = (TextInput, EmailInput, PasswordInput, NumberInput, URLInput)


def _plain_input(field: BoundField, attrs: dict) -> SafeString:
    widget = field.field.widget
    attrs = field.build_widget_attrs(attrs, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    value = context["value"]
    return format_html(
        '<input type="{}" name="{}"{}{}>',
        context["type"],
        context["name"],
        format_html(' value="{}"', value) if value is not None else "",
        _attributes(context["attrs"]),
    )


def _plain_select(field: BoundField, attrs: dict) -> SafeString:
    """A select, as django/forms/widgets/select.html writes it (without option groups):
    through the template, a list of the 153 local authorities took several milliseconds."""
    widget = field.field.widget
    attrs = field.build_widget_attrs(attrs, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    options = format_html_join(
        "\n",
        '  <option value="{}"{}>{}</option>\n',
        (
            (option["value"], _attributes(option["attrs"]), option["label"])
            for _, group, _ in context["optgroups"]
            for option in group
        ),
    )
    return format_html(
        '<select name="{}"{}>\n{}\n</select>',
        context["name"],
        _attributes(context["attrs"]),
        options,
    )


def _attributes(attrs: dict) -> SafeString:
    """As django/forms/widgets/attrs.html: in order, True as a bare name, False left out."""
    return mark_safe(  # noqa: S308 (every part escaped by format_html)
        "".join(
            format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
            for name, value in attrs.items()
            if value is not False
        )
    )


@register.filter
def is_date(field: BoundField) -> bool:
    """Whether a field is a GOV.UK date input (signposting.forms.GovukDateField)."""
    from signposting.forms import GovukDateField

    return isinstance(field.field, GovukDateField)


_PARTS = (("day", "Day", "2"), ("month", "Month", "2"), ("year", "Year", "4"))


@register.inclusion_tag("components/date_input.html")
def govuk_date_input(
    field: BoundField | None = None,
    *,
    day: BoundField | None = None,
    month: BoundField | None = None,
    year: BoundField | None = None,
    legend: str = "",
    hint: str = "",
) -> dict:
    """The GOV.UK date input, the one way every page draws a date: from a GovukDateField
    (`field`: its three boxes are <name>_day, _month, _year), or from three fields of their
    own (`day`, `month`, `year`: the search form's dob_day, dob_month, dob_year), whose errors
    are the day's. The day box carries the id, so the error summary's link lands on it."""
    if field is not None:
        values = field.value() or [None, None, None]
        if not isinstance(values, list | tuple):
            values = [None, None, None]
        first_id = field.auto_id
        parts = [
            (
                label,
                first_id if name == "day" else f"{first_id}_{name}",
                f"{field.html_name}_{name}",
                value,
                width,
            )
            for (name, label, width), value in zip(_PARTS, values, strict=True)
        ]
        errors, legend, hint = field.errors, legend or field.label, hint or field.help_text
    else:
        boxes = (day, month, year)
        first_id = day.auto_id
        parts = [
            (label, box.auto_id, box.html_name, box.value(), width)
            for (_, label, width), box in zip(_PARTS, boxes, strict=True)
        ]
        errors = day.errors
    return {"id": first_id, "legend": legend, "hint": hint, "errors": errors, "parts": parts}
