"""Data managers' forms: a child, an involvement, a move, a name; shielding for LA admins."""

from django import forms
from django.utils import timezone

from accounts.models import Organisation
from children.identifiers import (
    is_valid_public_id,
    normalise_nhs_number,
    normalise_postcode,
    validate_nhs_number,
    validate_postcode,
)
from children.involvement_rules import lead_professional_gaps
from children.matching import name_key
from children.models import Service, Sex
from children.services import AddressDetails, ChildDetails, InvolvementDetails, PersonName
from signposting.forms import GovukDateField

# A row of "check your answers": what, and the answer as the page writes it.
Answer = tuple[str, str]


def _text(label: str, *, required: bool = True, max_length: int = 200, **kwargs) -> forms.CharField:
    what = label[0].lower() + label[1:]
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        error_messages={
            "required": f"Enter the {what}",
            "max_length": f"The {what} must be {max_length} characters or fewer",
        },
        **kwargs,
    )


def written_date(value) -> str:
    """A date as "check your answers" writes it ("27 March 2026"); "" for none."""
    return f"{value:%-d %B %Y}" if value else ""


def _address(data: dict) -> AddressDetails:
    return AddressDetails(
        line_1=data["line_1"],
        postcode=data["postcode"],
        local_authority=data["local_authority"],
        moved_in_on=data["moved_in_on"],
    )


def _name_text(label: str) -> forms.CharField:
    return _text(label, max_length=100, widget=forms.TextInput(attrs={"spellcheck": "false"}))


def _clean_name(form: forms.Form, field: str) -> str:
    value = form.cleaned_data[field].strip()
    if not name_key(value):
        raise forms.ValidationError(f"The {form.fields[field].label.lower()} must contain letters")
    return value


class AreaOrganisationChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return obj.name


class InvolvementForm(forms.Form):
    service = forms.ModelChoiceField(
        label="Service",
        queryset=Service.objects.all(),
        empty_label="Choose the service",
        error_messages={"required": "Choose the service", "invalid_choice": "Choose the service"},
    )
    organisation = AreaOrganisationChoice(
        label="Organisation",
        queryset=Organisation.objects.none(),
        empty_label="Choose the organisation",
        error_messages={
            "required": "Choose the organisation",
            "invalid_choice": "Choose an organisation of your area",
        },
    )
    practitioner_name = _text("Practitioner's name", required=False)
    practitioner_job_title = _text("Job title", required=False)
    practitioner_phone = _text(
        "Phone", required=False, max_length=40, widget=forms.TextInput(attrs={"type": "tel"})
    )
    practitioner_email = forms.EmailField(
        label="Email",
        required=False,
        max_length=254,
        error_messages={"invalid": "Enter an email address like name@example.org"},
    )
    started_on = GovukDateField(label="Start date", help_text="For example, 27 3 2026")
    lead_professional = forms.TypedChoiceField(
        label="Is this practitioner the lead professional?",
        choices=[("no", "No"), ("yes", "Yes, instead of any lead professional now")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        initial="no",
        error_messages={"required": "Say whether this is the lead professional"},
    )

    def __init__(self, *args, area: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(
            pk=area.pk
        ) | Organisation.objects.filter(local_authority=area)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("lead_professional"):
            gaps = lead_professional_gaps(
                name=cleaned.get("practitioner_name", ""),
                phone=cleaned.get("practitioner_phone", ""),
                email=cleaned.get("practitioner_email", ""),
            )
            for field, message in gaps.items():
                if field not in self.errors:
                    self.add_error(field, message)
        return cleaned

    def answers(self, data: dict) -> list[Answer]:
        """The involvement as "check your answers" lists it."""
        return [
            ("Service", data["service"].name),
            ("Organisation", data["organisation"].name),
            ("Practitioner", data["practitioner_name"]),
            ("Job title", data["practitioner_job_title"]),
            ("Phone", data["practitioner_phone"]),
            ("Email", data["practitioner_email"]),
            ("Start date", written_date(data["started_on"])),
            ("Lead professional", "Yes" if data["lead_professional"] else "No"),
        ]

    def involvement_details(self) -> InvolvementDetails:
        """The involvement as the services take it (its fields are named as the form's)."""
        return InvolvementDetails(
            **{name: self.cleaned_data[name] for name in self.INVOLVEMENT_FIELDS}
        )

    INVOLVEMENT_FIELDS = (
        "service",
        "organisation",
        "started_on",
        "practitioner_name",
        "practitioner_job_title",
        "practitioner_phone",
        "practitioner_email",
        "lead_professional",
    )


class CloseInvolvementForm(forms.Form):
    ended_on = GovukDateField(label="End date", help_text="For example, 27 3 2026")


class MoveForm(forms.Form):
    line_1 = _text("First line of the new address")
    postcode = _text(
        "Postcode", max_length=10, widget=forms.TextInput(attrs={"class": "govuk-input--width-10"})
    )
    local_authority = AreaOrganisationChoice(
        label="Local authority of the new address",
        queryset=Organisation.objects.filter(kind=Organisation.Kind.LOCAL_AUTHORITY),
        empty_label="Choose the local authority",
        error_messages={
            "required": "Choose the local authority",
            "invalid_choice": "Choose the local authority",
        },
    )
    moved_in_on = GovukDateField(label="Date of the move", help_text="For example, 27 3 2026")

    def clean_postcode(self) -> str:
        value = normalise_postcode(self.cleaned_data["postcode"])
        try:
            validate_postcode(value)
        except forms.ValidationError:
            raise forms.ValidationError("Enter a real postcode, like SW1A 1AA") from None
        return value

    def answers(self, data: dict) -> list[Answer]:
        return [
            ("New address", f"{data['line_1']}, {data['postcode']}"),
            ("Local authority", data["local_authority"].name),
            ("Date of the move", written_date(data["moved_in_on"])),
        ]

    def address(self) -> AddressDetails:
        return _address(self.cleaned_data)


class NameForm(forms.Form):
    given_names = _name_text("Given names")
    family_name = _name_text("Family name")
    since = GovukDateField(label="Date the name changed", help_text="For example, 27 3 2026")

    def clean_given_names(self) -> str:
        return _clean_name(self, "given_names")

    def clean_family_name(self) -> str:
        return _clean_name(self, "family_name")


class ChildForm(InvolvementForm):
    """A new child: identifying details, the current address, the first involvement."""

    given_names = _name_text("Given names")
    family_name = _name_text("Family name")
    date_of_birth = GovukDateField(label="Date of birth", help_text="For example, 27 3 2016")
    sex = forms.ChoiceField(
        label="Sex",
        choices=Sex.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the child's sex, or Not known"},
    )
    nhs_number = _text(
        "NHS number",
        required=False,
        max_length=14,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    line_1 = _text("First line of the address")
    postcode = MoveForm.base_fields["postcode"]
    local_authority = AreaOrganisationChoice(
        label="Local authority of the address",
        queryset=Organisation.objects.filter(kind=Organisation.Kind.LOCAL_AUTHORITY),
        empty_label="Choose the local authority",
        error_messages={
            "required": "Choose the local authority",
            "invalid_choice": "Choose the local authority",
        },
    )
    moved_in_on = GovukDateField(
        label="Date the child moved in", help_text="For example, 27 3 2020"
    )

    field_order = [
        "given_names",
        "family_name",
        "date_of_birth",
        "sex",
        "nhs_number",
        "line_1",
        "postcode",
        "local_authority",
        "moved_in_on",
    ]

    clean_postcode = MoveForm.clean_postcode

    SECTIONS = (
        ("The child", ("given_names", "family_name", "date_of_birth", "sex", "nhs_number")),
        ("Where the child lives", ("line_1", "postcode", "local_authority", "moved_in_on")),
        (
            "The first involvement",
            (
                "service",
                "organisation",
                "practitioner_name",
                "practitioner_job_title",
                "practitioner_phone",
                "practitioner_email",
                "started_on",
                "lead_professional",
            ),
        ),
    )

    def sections(self):
        return [(heading, [self[name] for name in names]) for heading, names in self.SECTIONS]

    def clean_given_names(self) -> str:
        return _clean_name(self, "given_names")

    def clean_family_name(self) -> str:
        return _clean_name(self, "family_name")

    def clean_nhs_number(self) -> str:
        value = normalise_nhs_number(self.cleaned_data["nhs_number"])
        if value:
            try:
                validate_nhs_number(value)
            except forms.ValidationError as error:
                raise forms.ValidationError(error.messages[0]) from None
        return value

    def clean(self):
        cleaned = super().clean()  # the involvement's rules too
        born = cleaned.get("date_of_birth")
        if born and born < timezone.localdate().replace(year=timezone.localdate().year - 18):
            self.add_error("date_of_birth", "The child must be under 18")
        return cleaned

    def answers(self, data: dict) -> list[Answer]:
        return [
            ("Name", f"{data['given_names']} {data['family_name']}"),
            ("Date of birth", written_date(data["date_of_birth"])),
            ("Sex", Sex(data["sex"]).label),
            ("NHS number", data["nhs_number"]),
            ("Address", f"{data['line_1']}, {data['postcode']}"),
            ("Local authority", data["local_authority"].name),
            ("Moved in", written_date(data["moved_in_on"])),
            *super().answers(data),
        ]

    def child_details(self) -> ChildDetails:
        data = self.cleaned_data
        return ChildDetails(
            date_of_birth=data["date_of_birth"],
            name=PersonName(data["given_names"], data["family_name"]),
            address=_address(data),
            sex=Sex(data["sex"]),
            nhs_number=data["nhs_number"] or None,
        )

    def criteria(self) -> dict[str, str]:
        """What the add-a-child check looks for, as a search's criteria in the audit trail."""
        data = self.cleaned_data
        values = {
            "family_name": data["family_name"],
            "given_name": data["given_names"],
            "date_of_birth": data["date_of_birth"].isoformat(),
            "nhs_number": data["nhs_number"],
        }
        return {key: value for key, value in values.items() if value}


class ShieldingForm(forms.Form):
    public_id = _text(
        "Child's public ID",
        max_length=11,
        help_text="Like 7KQ-4M2-PX9",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-10", "spellcheck": "false"}),
    )
    action = forms.ChoiceField(
        label="What do you want to do?",
        choices=[
            ("shield", "Restrict the record (shield it)"),
            ("unshield", "Lift the restriction"),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select whether to restrict the record or lift the restriction"
        },
    )
    reason = _text(
        "Reason",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded with the change and shown to auditors",
    )

    def clean_public_id(self) -> str:
        value = self.cleaned_data["public_id"].strip().upper()
        if not is_valid_public_id(value):
            raise forms.ValidationError(
                "Enter the public ID exactly as on the record, like 7KQ-4M2-PX9"
            )
        return value

    def answers(self, data: dict) -> list[Answer]:
        return [
            ("Public ID", data["public_id"]),
            ("Change", dict(self.fields["action"].choices)[data["action"]]),
            ("Reason", data["reason"]),
        ]
