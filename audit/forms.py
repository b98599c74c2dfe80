"""The auditor's filter form."""

import re

from django import forms

from audit.models import Action, Outcome, Rule
from audit.selectors import EventFilter, FlagFilter

PUBLIC_ID = re.compile(r"^[0-9A-Z]{3}-[0-9A-Z]{3}-[0-9A-Z]{3}$")


class EventFilterForm(forms.Form):
    username = forms.CharField(
        label="User's email address",
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    organisation = forms.CharField(
        label="Organisation code",
        required=False,
        max_length=32,
        help_text="A local authority's ONS code, for example E09000033",
    )
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *Action.choices]
    )
    child = forms.CharField(
        label="Child's public ID",
        required=False,
        max_length=20,
        help_text="For example 7KQ-4M2-PX9",
    )
    date_from = forms.DateField(
        label="From",
        required=False,
        help_text="For example 2026-11-01",
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={"invalid": "Enter the start date as a real date, like 2026-11-01"},
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        help_text="For example 2026-11-30",
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={"invalid": "Enter the end date as a real date, like 2026-11-30"},
    )

    def clean_child(self) -> str:
        value = self.cleaned_data["child"].strip().upper()
        if value and not PUBLIC_ID.match(value):
            raise forms.ValidationError("Enter a public ID in the form 7KQ-4M2-PX9")
        return value

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def clean_organisation(self) -> str:
        return self.cleaned_data["organisation"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must be the same as or after the start date")
        return cleaned

    @staticmethod
    def initial_filter() -> EventFilter:
        return EventFilter()

    def to_filter(self) -> EventFilter:
        data = self.cleaned_data
        return EventFilter(
            username=data["username"],
            organisation=data["organisation"],
            action=data["action"],
            child_public_id=data["child"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )


class FlagFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("open", "Open"), ("closed", "With an outcome"), ("all", "All")],
    )
    rule = forms.ChoiceField(
        label="Rule", required=False, choices=[("", "Any rule"), *Rule.choices]
    )
    area = forms.ChoiceField(label="Area of the user", required=False, choices=[])

    def __init__(self, *args, areas: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", "Any area"), *areas]

    def to_filter(self) -> FlagFilter:
        data = self.cleaned_data
        return FlagFilter(
            rule=data["rule"], area_code=data["area"], status=data["status"] or "open"
        )


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select the outcome",
            "invalid_choice": "Select the outcome",
        },
    )
    note = forms.CharField(
        label="Note",
        help_text="What you found and what was done. It is kept in the audit trail.",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Enter a note about the outcome",
            "max_length": "The note must be 2,000 characters or fewer",
        },
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].replace("\x00", "").strip()
        if not note:
            raise forms.ValidationError("Enter a note about the outcome")
        return note
