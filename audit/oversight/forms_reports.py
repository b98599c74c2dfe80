"""The date range of a user activity report; the public id of a child's access report."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone

from children.identifiers import is_valid_public_id
from signposting.forms import GovukDateField

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Far enough either way for any audit trail; it keeps date arithmetic (the day after
# the last, local midnights) away from the ends of the calendar.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
# The report's range in the address: the GOV.UK date input's three boxes of each date.
DATE_KEYS = tuple(
    f"{name}_{part}" for name in ("date_from", "date_to") for part in ("day", "month", "year")
)


def range_start() -> GovukDateField:
    """The first day of a range an auditor asks for (the event list, a user's activity)."""
    return GovukDateField(
        label="From",
        what="start date",
        past_only=False,
        required=False,
        help_text="For example, 1 11 2026",
    )


def range_end() -> GovukDateField:
    """The last day of such a range."""
    return GovukDateField(
        label="To",
        what="end date",
        past_only=False,
        required=False,
        help_text="For example, 30 11 2026",
    )


class ActivityRangeForm(forms.Form):
    """The report's range (GET), in the GOV.UK date input: date_from_day, _month, _year."""

    date_from = range_start()
    date_to = range_end()

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

    @classmethod
    def from_query(cls, query) -> "ActivityRangeForm":
        """The form of the range the address asks for (unbound when it asks for none), the
        default range filled in."""
        asked = {key: query[key] for key in DATE_KEYS if key in query}
        start, end = default_range()
        return cls(asked or None, initial={"date_from": start, "date_to": end})

    def date_range(self) -> tuple[date, date]:
        """The range to report on: the one asked for, or the default when nothing was asked."""
        if not self.is_bound:
            return default_range()
        return self.cleaned_data["date_from"], self.cleaned_data["date_to"]

    def range_criteria(self) -> dict[str, str]:
        """The range reported on, as the audit event's criteria give it."""
        date_from, date_to = self.date_range()
        return {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}


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


class PublicIdForm(forms.Form):
    """A child's public id, to open their access report (a purged child's too)."""

    public_id = forms.CharField(
        label="Child's public ID",
        max_length=20,
        help_text="For example 7KQ-4M2-PX9",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
        error_messages={"required": "Enter the child's public ID"},
    )

    def clean_public_id(self) -> str:
        value = self.cleaned_data["public_id"].strip().upper()
        if not is_valid_public_id(value):
            raise forms.ValidationError(
                "Enter the public ID exactly as it was given, like 7KQ-4M2-PX9: "
                "this one is not a real public ID"
            )
        return value
