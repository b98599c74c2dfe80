"""The date range of a user activity report."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Far enough either way for any audit trail; it keeps date arithmetic (the day after
# the last, local midnights) away from the ends of the calendar.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


class ActivityRangeForm(forms.Form):
    date_from = forms.DateField(
        label="From",
        required=False,
        help_text="For example 2026-11-01",
        input_formats=INPUT_FORMATS,
        widget=forms.DateInput(format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the start date as a real date, like 2026-11-01"},
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        help_text="For example 2026-11-30",
        input_formats=INPUT_FORMATS,
        widget=forms.DateInput(format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the end date as a real date, like 2026-11-30"},
    )

    def clean_date_from(self) -> date | None:
        return _in_range(self.cleaned_data["date_from"], "a start date")

    def clean_date_to(self) -> date | None:
        return _in_range(self.cleaned_data["date_to"], "an end date")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        # A date left empty takes its default: the 30 days up to today, or up to the end
        # given, or from the start given.
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start is None and end is None:
            start, end = default_range()
        elif start is None:
            start = end - timedelta(days=DEFAULT_DAYS - 1)
        elif end is None:
            end = min(start + timedelta(days=DEFAULT_DAYS - 1), max(start, timezone.localdate()))
        if end < start:
            self.add_error("date_to", "The end date must be the same as or after the start date")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error(
                "date_to",
                f"A report covers at most {MAX_DAYS} days: choose an end date closer to the start",
            )
        cleaned["date_from"], cleaned["date_to"] = start, end
        return cleaned

    def date_range(self) -> tuple[date, date]:
        """The range to report on: the one asked for, or the default when nothing was asked."""
        if not self.is_bound:
            return default_range()
        return self.cleaned_data["date_from"], self.cleaned_data["date_to"]


def default_range() -> tuple[date, date]:
    """The 30 days ending today, as UK local dates."""
    today = timezone.localdate()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def _in_range(value: date | None, which: str) -> date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise forms.ValidationError(
            f"Enter {which} between {EARLIEST:%Y} and {LATEST:%Y}", code="out_of_range"
        )
    return value
