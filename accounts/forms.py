"""Sign-in form: Django's AuthenticationForm with GOV.UK wording."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed

# The longest e-mail address there is (RFC 5321); no account's username is longer.
MAX_EMAIL = 254


class SignInForm(AuthenticationForm):
    # One message whether the e-mail address is unknown, the password is wrong
    # or the account is inactive, so that the form reveals no accounts.
    error_messages = {
        "invalid_login": "Enter a correct email address and password",
        "inactive": "Enter a correct email address and password",
        "too_long": f"Email address must be {MAX_EMAIL} characters or fewer",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email address"
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autocomplete": "username", "spellcheck": "false"}
        )
        self.fields["username"].error_messages["required"] = "Enter your email address"
        self.fields["password"].error_messages["required"] = "Enter your password"
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"

    def clean_username(self) -> str:
        # Usernames are stored lower-case; sign-in is case-insensitive.
        return self.cleaned_data["username"].strip().lower()

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is not None and len(username) > MAX_EMAIL:
            # No account has this username, but it is still a failed sign-in: counted by
            # django-axes (the client IP's lockout; the text cut to what it can store) and
            # recorded in the audit trail, as any other failure.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": username[:MAX_EMAIL]},
                request=self.request,
            )
            raise forms.ValidationError(self.error_messages["too_long"], code="too_long")
        return super().clean()


class SingleSignOnForm(forms.Form):
    """Single sign-on's first question: the work e-mail address, whose domain says whose
    identity provider to use; and, only where several organisations share the domain, which
    of them the user works for (offer)."""

    email = forms.EmailField(
        label="Work email address",
        help_text="We will send you to your organisation's own sign-in page.",
        max_length=MAX_EMAIL,
        error_messages={
            "required": "Enter your work email address",
            "invalid": "Enter an email address in the correct format, like name@example.gov.uk",
            "max_length": f"Email address must be {MAX_EMAIL} characters or fewer",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    # Its choices depend on the address (offer): checked against them in chosen, not here.
    organisation = forms.CharField(
        label="Which organisation do you work for?", required=False, widget=forms.RadioSelect
    )
    offered = False

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def offer(self, providers) -> None:
        """Asks which of these organisations' providers to use."""
        self.fields["organisation"].widget.choices = [
            (str(provider.organisation_id), provider.organisation.name) for provider in providers
        ]
        self.fields["email"].widget = forms.HiddenInput()
        self.offered = True

    def chosen(self, providers):
        """The provider chosen among those offered, if one was (and was one of them)."""
        self.offer(providers)
        value = self.cleaned_data.get("organisation")
        for provider in providers:
            if value == str(provider.organisation_id):
                return provider
        # Asked already (the radios' form says so), and none of them chosen.
        if "organisation" in self.data or "choosing" in self.data:
            self.add_error("organisation", "Select the organisation you work for")
        return None
