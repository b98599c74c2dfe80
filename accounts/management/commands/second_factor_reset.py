"""For an operator: resets a user's second factor and prints a single-use set-up link (when
e-mail is on, it is e-mailed to the user instead).

For an area's first admin (created with create_user) or an admin who lost their passkey or
phone with no other admin to reset it. The user confirms their password with the link, then
sets up a passkey or an authenticator app. Audited (actor: the operator, at the console).
"""

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Reset a user's second factor and print a single-use link to set up a new one."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--base-url",
            default="",
            help="The service's address (e.g. https://signposting.example.gov.uk), to print "
            "the whole link; without it, the path only.",
        )

    def handle(self, *args, **options) -> None:
        user = User.objects.filter(username=options["email"].strip().lower()).first()
        if user is None:
            raise CommandError(f"No user {options['email']!r}.")
        try:
            invited = services.second_factor_reset(user=user, by=None, request=None)
        except services.NotAllowed as refused:
            raise CommandError(str(refused)) from None
        if invited.emailed:
            self.stdout.write(
                f"Reset the second factor of {user.username}: their sessions have ended.\n"
                f"A set-up link (works once, until {invited.expires_at:%-d %B %Y %H:%M}) "
                "is queued to them by e-mail."
            )
            return
        path = reverse("second-factor-setup", kwargs={"token": invited.token})
        self.stdout.write(
            f"Reset the second factor of {user.username}: their sessions have ended.\n"
            f"Set-up link (works once, until {invited.expires_at:%-d %B %Y %H:%M}):\n"
            f"{options['base_url'].rstrip('/')}{path}"
        )
