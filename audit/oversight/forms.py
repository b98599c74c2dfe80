"""The auditor's filter form."""

import re

from django import forms

from audit.models import Action, Outcome, Rule
from audit.oversight.forms_reports import range_end, range_start
from audit.oversight.selectors import (
    MAX_ORGANISATIONS,
    EventFilter,
    FlagFilter,
    organisations_named,
)

PUBLIC_ID = re.compile(r"^[0-9A-Z]{3}-[0-9A-Z]{3}-[0-9A-Z]{3}$")


class EventFilterForm(forms.Form):
    """The event list's filters (GET). Organisations are chosen by name: an area (a local
    authority, with its partner agencies) from a list, or all or part of an organisation's
    name; dates in the GOV.UK date input."""

    username = forms.CharField(
        label="User's email address",
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    area = forms.ChoiceField(
        label="Area",
        required=False,
        choices=[],
        help_text="Staff of the local authority and of its partner agencies",
    )
    organisation = forms.CharField(
        label="Organisation",
        required=False,
        max_length=200,
        help_text="All or part of its name, for example St Mary's",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
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
    date_from = range_start()
    date_to = range_end()

    def __init__(self, *args, areas: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", "Any area"), *areas]

    def clean_child(self) -> str:
        value = self.cleaned_data["child"].strip().upper()
        if value and not PUBLIC_ID.match(value):
            raise forms.ValidationError("Enter a public ID in the form 7KQ-4M2-PX9")
        return value

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def clean_organisation(self) -> str:
        return " ".join(self.cleaned_data["organisation"].split())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must be the same as or after the start date")
        cleaned["organisation_codes"] = self._organisation_codes(cleaned)
        return cleaned

    def _organisation_codes(self, cleaned: dict) -> tuple[str, ...] | None:
        name, area = cleaned.get("organisation", ""), cleaned.get("area", "")
        if not name and not area:
            return None
        if not name:
            return tuple(code for code, _ in organisations_named(area_code=area))
        found = organisations_named(name_contains=name, area_code=area, limit=MAX_ORGANISATIONS + 1)
        if not found:
            where = f" in {dict(self.fields['area'].choices)[area]}" if area else ""
            self.add_error("organisation", f"No organisation{where} has “{name}” in its name")
        elif len(found) > MAX_ORGANISATIONS:
            self.add_error(
                "organisation",
                f"More than {MAX_ORGANISATIONS} organisations have “{name}” in their name: "
                "type more of the name, or choose the area",
            )
        return tuple(code for code, _ in found)

    def to_filter(self) -> EventFilter:
        data = self.cleaned_data
        return EventFilter(
            username=data["username"],
            organisation_codes=data["organisation_codes"],
            area=data["area"],
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

    def decision(self) -> dict:
        """The outcome and note, as audit.oversight.services.flag_outcome_record takes them."""
        return {"outcome": Outcome(self.cleaned_data["outcome"]), "note": self.cleaned_data["note"]}
