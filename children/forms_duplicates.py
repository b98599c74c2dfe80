"""Forms for data managers' decisions about probable duplicates (children.views_duplicates)."""

from django import forms

from children.access import SHIELDED, Decision
from children.identifiers import is_valid_public_id
from children.models import Child

DIFFERENT = "different"


def _current_name(child: Child) -> str:
    name = next((name for name in child.names.all() if name.kind == "current"), None)
    return f"{name.given_names} {name.family_name}" if name else "name not recorded"


class HeldRowDecisionForm(forms.Form):
    """A different child, or the same child as one of the candidates (by public id)."""

    decision = forms.ChoiceField(
        label="Is this a child already on the register?",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select whether this is a different child or a child on the register",
            "invalid_choice": "Select one of the options",
        },
    )
    confirmed = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, candidates: list[Child], **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {child.public_id: child for child in candidates}
        self.fields["decision"].choices = [
            (DIFFERENT, "A different child: add them to the register as a new record"),
            *(
                (child.public_id, f"The same child as {_current_name(child)} ({child.public_id})")
                for child in candidates
            ),
        ]

    @property
    def is_confirmed(self) -> bool:
        return self.cleaned_data.get("confirmed") == "yes"

    @property
    def chosen_child(self) -> Child | None:
        return self.candidates.get(self.cleaned_data["decision"])


class ProbablePairDecisionForm(forms.Form):
    """Whether two records the register-wide check paired are one child."""

    SAME = "same"

    decision = forms.ChoiceField(
        label="Are these records the same child?",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select whether these records are the same child",
            "invalid_choice": "Select one of the options",
        },
    )
    confirmed = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, may_merge: bool, restricted_contact: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = [
            *([(self.SAME, "Yes, the same child: merge the records")] if may_merge else []),
            (DIFFERENT, "No, different children"),
        ]
        # Set when a record is restricted for the data manager: its shielding authority decides.
        self.restricted_contact = restricted_contact

    def clean(self):
        cleaned = super().clean()
        if self.restricted_contact and "decision" in cleaned:
            self.add_error(
                "decision",
                f"One of the records is restricted: ask {self.restricted_contact} to decide",
            )
        return cleaned

    @property
    def is_confirmed(self) -> bool:
        return self.cleaned_data.get("confirmed") == "yes"


class MergeIdsForm(forms.Form):
    """Two records of the data manager's area, by public id."""

    first = forms.CharField(
        label="Public id of the first record",
        help_text="Like 7KQ-4M2-PXA, shown on the record",
        max_length=20,
        error_messages={"required": "Enter the public id of the first record"},
    )
    second = forms.CharField(
        label="Public id of the second record",
        max_length=20,
        error_messages={"required": "Enter the public id of the second record"},
    )

    def _public_id(self, name: str) -> str:
        value = self.cleaned_data[name].strip().upper()
        if not is_valid_public_id(value):
            raise forms.ValidationError("Enter a public id like 7KQ-4M2-PXA")
        return value

    def clean_first(self) -> str:
        return self._public_id("first")

    def clean_second(self) -> str:
        return self._public_id("second")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("first") and cleaned.get("first") == cleaned.get("second"):
            self.add_error("second", "Enter the public id of a different record")
        return cleaned

    def public_ids(self) -> list[str]:
        return [self.cleaned_data["first"], self.cleaned_data["second"]]

    def add_refusals(self, refusals: dict[str, Decision]) -> None:
        """Says, on each public id the data manager may not merge, why (children.access): a
        record restricted by another authority names whom to ask; any other is not found."""
        for name, public_id in zip(("first", "second"), self.public_ids(), strict=True):
            refusal = refusals.get(public_id)
            if refusal is None:
                continue
            if refusal.why == SHIELDED:
                self.add_error(
                    name, f"This record is restricted: ask {refusal.contact} about merging it"
                )
            else:
                self.add_error(name, "No record in your area has this public id")


class MergeForm(MergeIdsForm):
    """Which of the two records to keep; the other is merged into it."""

    first = forms.CharField(widget=forms.HiddenInput, max_length=20)
    second = forms.CharField(widget=forms.HiddenInput, max_length=20)
    keep = forms.ChoiceField(
        label="Which record should be kept?",
        help_text="The other record's names, addresses and involvements move to it, and the "
        "other record is deleted",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select the record to keep",
            "invalid_choice": "Select one of the two records",
        },
    )
    confirmed = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, children: list[Child], **kwargs):
        super().__init__(*args, **kwargs)
        self.children = {child.public_id: child for child in children}
        self.fields["keep"].choices = [
            (child.public_id, f"Keep {_current_name(child)} ({child.public_id})")
            for child in children
        ]

    @property
    def is_confirmed(self) -> bool:
        return self.cleaned_data.get("confirmed") == "yes"

    def survivor_and_duplicate(self) -> tuple[Child, Child]:
        keep = self.cleaned_data["keep"]
        other = next(public_id for public_id in self.children if public_id != keep)
        return self.children[keep], self.children[other]
