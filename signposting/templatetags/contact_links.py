"""Phone numbers and e-mail addresses as links a practitioner can use at once: `tel:` (a tap
on a phone calls) and `mailto:`."""

import re

from django import template
from django.utils.html import conditional_escape, format_html

register = template.Library()

_NOT_DIALLED = re.compile(r"[^\d+]")


@register.filter
def phone_link(number: str) -> str:
    """The number as a tel: link (spaces, dashes and brackets left out of the address), or
    "Not recorded". Text that holds no digits is shown as it is."""
    if not number:
        return "Not recorded"
    # "+44 (0)20 ..." is dialled "+4420...": the (0) is for callers within the country.
    dialled = _NOT_DIALLED.sub("", number.replace("(0)", ""))
    if not re.search(r"\d", dialled):
        return conditional_escape(number)
    return format_html('<a class="govuk-link" href="tel:{}">{}</a>', dialled, number)
