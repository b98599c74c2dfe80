"""LA admins' forms about their area's users: vetting and role."""

import re

from django import forms

from accounts.models import Role
from signposting.forms import GovukDateField


class VettingForm(forms.Form):
    dbs_checked_on = GovukDateField(
        label="Date of the enhanced DBS check",
        required=False,
        help_text="The issue date on the certificate. For example, 27 3 2026",
    )
    dbs_certificate = forms.CharField(
        label="DBS certificate number",
        required=False,
        max_length=20,
        help_text="12 digits, on the top right of the certificate",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    training_completed_on = GovukDateField(label="Date the training was completed", required=False)
    agreement_accepted_on = GovukDateField(
        label="Date the user agreement was signed", required=False
    )

    def clean_dbs_certificate(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["dbs_certificate"])
        if number and not re.fullmatch(r"\d{12}", number):
            raise forms.ValidationError("Enter the 12-digit DBS certificate number")
        return number

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not any(cleaned.values()):
            raise forms.ValidationError(
                "Enter at least one of the DBS check, the training or the user agreement"
            )
        if cleaned.get("dbs_checked_on") and not cleaned.get("dbs_certificate"):
            self.add_error("dbs_certificate", "Enter the DBS certificate number of this check")
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role",
        widget=forms.RadioSelect,
        error_messages={"required": "Select a role", "invalid_choice": "Select a role"},
    )

    def __init__(self, *args, roles: list[Role], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in roles]


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Work email address",
        max_length=254,
        help_text="Their username; the invitation link is for them alone",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "required": "Enter their work email address",
            "invalid": "Enter an email address in the correct format, like name@example.gov.uk",
        },
    )
    given_name = forms.CharField(
        label="Given name", max_length=150, error_messages={"required": "Enter their given name"}
    )
    family_name = forms.CharField(
        label="Family name", max_length=150, error_messages={"required": "Enter their family name"}
    )
    job_title = forms.CharField(label="Job title", max_length=150, required=False)
    organisation = forms.ChoiceField(
        label="Organisation",
        error_messages={
            "required": "Select their organisation",
            "invalid_choice": "Select their organisation",
        },
    )
    role = forms.ChoiceField(
        label="Role",
        widget=forms.RadioSelect,
        error_messages={"required": "Select a role", "invalid_choice": "Select a role"},
    )

    def __init__(self, *args, organisations, roles: list[Role], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.organisations = {str(org.pk): org for org in organisations}
        self.fields["organisation"].choices = [
            ("", "Choose an organisation"),
            *((key, org.name) for key, org in self.organisations.items()),
        ]
        self.fields["role"].choices = [(role.value, role.label) for role in roles]

    def clean_organisation(self):
        return self.organisations[self.cleaned_data["organisation"]]

    def invitation(self) -> dict:
        """The new user's details, as accounts.services.user_invite takes them."""
        data = self.cleaned_data
        names = ("email", "given_name", "family_name", "job_title", "organisation")
        return {**{name: data[name] for name in names}, "role": Role(data["role"])}


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        label="Create a password",
        help_text="At least 12 characters; not a common password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Enter a password"},
    )
    again = forms.CharField(
        label="Type the password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Type the password again"},
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("again") != cleaned.get("password"):
            self.add_error("again", "The passwords do not match")
        return cleaned


class PasswordAgainForm(forms.Form):
    password = forms.CharField(
        label="Password",
        help_text="The password you sign in to this service with",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password"},
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=12,
        help_text="The 6-digit code from your authenticator app, or one of your backup codes",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
        error_messages={"required": "Enter the code from your authenticator app"},
    )

    def clean_code(self) -> str:
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not code.isdigit():
            raise forms.ValidationError("The code is made of digits only")
        return code
