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
