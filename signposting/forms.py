"""Shared by the apps' forms: the GOV.UK date input, and a service's errors on a form."""

import re
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone


class DateInputWidget(forms.MultiWidget):
    """The GOV.UK date input: day, month and year boxes (components/date_field.html)."""

    def __init__(self, attrs=None):
        box = {"inputmode": "numeric", "autocomplete": "off"}
        super().__init__(
            {
                "day": forms.TextInput(box),
                "month": forms.TextInput(box),
                "year": forms.TextInput(box),
            },
            attrs,
        )

    def decompress(self, value):
        return [value.day, value.month, value.year] if value else [None, None, None]


class GovukDateField(forms.MultiValueField):
    """A date from three boxes, with the GOV.UK date-input error messages."""

    widget = DateInputWidget

    def __init__(self, *, label: str, past_only: bool = True, what: str = "", **kwargs):
        self.past_only = past_only
        # What the error messages call the date ("the date of birth"): the label, unless
        # the label is too short to say it ("From").
        self.what = what or label[0].lower() + label[1:]
        box = forms.CharField(
            max_length=4,
            required=False,
            error_messages={"max_length": f"The {self.what} must be a real date"},
        )
        super().__init__(
            fields=(box, box, box),
            require_all_fields=False,
            label=label,
            error_messages={"required": f"Enter the {self.what}"},
            **kwargs,
        )

    def prepare_value(self, value):
        """A date (an initial value) as the three boxes show it."""
        if isinstance(value, date):
            return [value.day, value.month, value.year]
        return value

    def compress(self, values) -> date | None:
        if not values or not any(values):
            return None
        day, month, year = (str(value or "").strip() for value in values)
        missing = [
            name for name, part in (("day", day), ("month", month), ("year", year)) if not part
        ]
        if missing:
            raise forms.ValidationError(f"The {self.what} must include a {' and a '.join(missing)}")
        if not all(re.fullmatch(r"[0-9]{1,4}", part) for part in (day, month, year)):
            raise forms.ValidationError(f"The {self.what} must be a real date")
        try:
            value = date(int(year), int(month), int(day))
        except ValueError:
            raise forms.ValidationError(f"The {self.what} must be a real date") from None
        if value.year < 1900:
            raise forms.ValidationError(f"The {self.what} must be a real date")
        if self.past_only and value > timezone.localdate():
            raise forms.ValidationError(f"The {self.what} must be today or in the past")
        return value


def add_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's ValidationError on the form: each message on its field, or on the form as a
    whole when the service names no field, or one the form does not have."""
    if hasattr(error, "error_dict"):
        by_field = {
            field: [str(m) for e in errors for m in e.messages]
            for field, errors in error.error_dict.items()
        }
    else:
        by_field = {"__all__": error.messages}
    for field, messages in by_field.items():
        form.add_error(field if field in form.fields else None, messages)
