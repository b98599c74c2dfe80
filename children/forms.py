"""The practitioner's forms: search criteria, and the reason for opening a record."""

import re
from datetime import date

from django import forms
from django.db import models
from django.utils import timezone

from children.identifiers import normalise_nhs_number, normalise_postcode, validate_postcode
from children.matching import name_key
from children.models import Sex

MAX_NAME = 100
NOT_KNOWN = "not_known"


def _text(label: str, *, max_length: int = MAX_NAME, **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        strip=True,
        error_messages={"max_length": f"{label} must be {max_length} characters or fewer"},
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off", **attrs}),
    )


class SearchForm(forms.Form):
    """What a practitioner knows about the child. Enough of it, or no search. The fields are
    in the page's order, so that the error summary lists them in that order too."""

    nhs_number = _text("NHS number", max_length=14, inputmode="numeric")
    family_name = _text("Family name")
    given_name = _text("Given name")
    dob_day = forms.CharField(required=False, max_length=2, label="Day")
    dob_month = forms.CharField(required=False, max_length=2, label="Month")
    dob_year = forms.CharField(required=False, max_length=4, label="Year")
    postcode = _text("Postcode", max_length=10, **{"class": "govuk-input--width-10"})
    sex = forms.ChoiceField(
        label="Sex",
        required=False,
        # "Not known" has a value of its own, so that no option is chosen until the user
        # chooses one (GOV.UK: never pre-select a radio); none chosen means not known too.
        choices=[*Sex.choices[:3], (NOT_KNOWN, "Not known")],
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Select the child's sex, or Not known"},
    )

    MINIMUM = (
        "Enter the NHS number, or the family name and date of birth, or the family name, "
        "given name and postcode"
    )

    def clean_nhs_number(self) -> str:
        value = normalise_nhs_number(self.cleaned_data["nhs_number"])
        if value and not re.fullmatch(r"[0-9]{10}", value):
            raise forms.ValidationError("NHS number must be 10 digits")
        return value

    def clean_sex(self) -> str:
        value = self.cleaned_data["sex"]
        return "" if value == NOT_KNOWN else value

    def clean_postcode(self) -> str:
        value = self.cleaned_data["postcode"]
        if not value:
            return ""
        # The UK format (children.identifiers, as imports check it): "SW1A 1AA", "M1 1AE".
        validate_postcode(value)
        return normalise_postcode(value)

    def clean(self):
        cleaned = super().clean()
        cleaned["date_of_birth"] = self._date_of_birth(cleaned)
        for field in ("family_name", "given_name"):
            value = cleaned.get(field, "")
            if value and not name_key(value):
                self.add_error(field, f"{self.fields[field].label} must contain letters")
            if "*" in value or "%" in value or "?" in value:
                self.add_error(field, "Enter the name in full: wildcards cannot be used")
        if self.errors:
            return cleaned
        has = {
            key: bool(cleaned.get(key))
            for key in ("nhs_number", "family_name", "given_name", "date_of_birth", "postcode")
        }
        enough = (
            has["nhs_number"]
            or (has["family_name"] and has["date_of_birth"])
            or (has["family_name"] and has["given_name"] and has["postcode"])
        )
        if not enough:
            raise forms.ValidationError(self.MINIMUM, code="minimum_criteria")
        return cleaned

    def _date_of_birth(self, cleaned) -> date | None:
        parts = [cleaned.get(key, "") for key in ("dob_day", "dob_month", "dob_year")]
        if not any(parts):
            return None
        if not all(parts):
            missing = [
                name for name, part in zip(("day", "month", "year"), parts, strict=True) if not part
            ]
            self.add_error("dob_day", f"Date of birth must include a {' and '.join(missing)}")
            return None
        try:
            day, month, year = (int(part) for part in parts)
            if year < 1000:
                raise ValueError
            value = date(year, month, day)
        except ValueError:
            self.add_error("dob_day", "Date of birth must be a real date")
            return None
        if value > timezone.localdate():
            self.add_error("dob_day", "Date of birth must be today or in the past")
            return None
        return value

    def terms(self) -> dict:
        """The details to search with, as children.search.find_children takes them."""
        data = self.cleaned_data
        keys = ("family_name", "given_name", "date_of_birth", "postcode", "sex", "nhs_number")
        return {key: data[key] for key in keys}

    def criteria(self) -> dict[str, str]:
        """What was asked, as entered (normalised), for the audit trail."""
        data = self.cleaned_data
        values = {
            "family_name": data.get("family_name", ""),
            "given_name": data.get("given_name", ""),
            "date_of_birth": data["date_of_birth"].isoformat() if data.get("date_of_birth") else "",
            "postcode": data.get("postcode", ""),
            "sex": data.get("sex", ""),
            "nhs_number": data.get("nhs_number", ""),
        }
        return {key: value for key, value in values.items() if value}


class Reason(models.TextChoices):
    CHILD_PROTECTION = "child_protection", "Child protection enquiry"
    ASSESSMENT = "assessment", "Assessment"
    REFERRAL = "referral", "Referral"
    CONTINUING_WORK = "continuing_work", "Continuing work with the child"
    OTHER = "other", "Other reason"


class ReasonForm(forms.Form):
    reason = forms.ChoiceField(
        label="Why do you need to see this child's record?",
        choices=Reason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select why you need to see this child's record",
            "invalid_choice": "Select why you need to see this child's record",
        },
    )
    details = forms.CharField(
        label="Give the reason",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "The reason must be 500 characters or fewer"},
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == Reason.OTHER and not cleaned.get("details", "").strip():
            self.add_error("details", "Give the reason you need to see this child's record")
        return cleaned
