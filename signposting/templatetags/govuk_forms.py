"""Renders a form field's widget with the GOV.UK Frontend classes and ARIA links."""

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

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
    return field.as_widget(attrs=attrs)
