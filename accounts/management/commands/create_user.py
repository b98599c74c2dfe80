"""Creates a user for an operator bootstrapping an area."""

import getpass
import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Organisation, Role
from accounts.services import user_create, vetting_record

PASSWORD_VARIABLE = "SIGNPOSTING_NEW_PASSWORD"  # noqa: S105 (a variable name)


class Command(BaseCommand):
    help = (
        "Create a user whose username is their e-mail address. The password comes from "
        f"${PASSWORD_VARIABLE}, or is asked for."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=[role.value for role in Role])
        parser.add_argument(
            "--organisation",
            required=True,
            help="ONS code of a local authority (e.g. E09000033)",
        )
        parser.add_argument("--given-name", default="")
        parser.add_argument("--family-name", default="")
        parser.add_argument(
            "--vetted-today",
            action="store_true",
            help="Record vetting (DBS check, training, user agreement) as of today.",
        )

    def handle(self, *args, **options) -> None:
        try:
            organisation = Organisation.objects.get(ons_code=options["organisation"].upper())
        except Organisation.DoesNotExist:
            raise CommandError(
                f"No organisation with ONS code {options['organisation']!r}. "
                "Run load_local_authorities first."
            ) from None
        password = os.environ.get(PASSWORD_VARIABLE) or self._ask_password()
        try:
            user = user_create(
                email=options["email"],
                role=Role(options["role"]),
                organisation=organisation,
                password=password,
                given_name=options["given_name"],
                family_name=options["family_name"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {user.username} ({user.get_role_display()}, {organisation})."
            )
        )
        if settings.REQUIRE_MFA:
            # A second factor is set up only through a link: this is the user's first one,
            # passed on by the operator (an e-mail would call it a reset).
            invited = services.second_factor_reset(
                user=user, by=None, request=None, email_link=False
            )
            path = reverse("second-factor-setup", kwargs={"token": invited.token})
            self.stdout.write(
                "Two-factor sign-in is on: send the user this link (on the service's address) "
                f"to set up a passkey or an authenticator app. It works once, until "
                f"{invited.expires_at:%-d %B %Y %H:%M}:\n{path}"
            )
        if options["vetted_today"]:
            today = timezone.localdate()
            vetting_record(
                user=user,
                by=None,
                dbs_checked_on=today,
                training_completed_on=today,
                agreement_accepted_on=today,
            )
            self.stdout.write(
                f"Recorded vetting as of {today:%-d %B %Y}: the DBS check, training and user "
                "agreement. Record the DBS certificate number on the user's page."
            )
        else:
            self.stdout.write(
                "No vetting recorded: the user can sign in but not use the service until an "
                "LA admin records their DBS check, training and user agreement."
            )

    def _ask_password(self) -> str:
        if not os.isatty(0):
            raise CommandError(f"Set {PASSWORD_VARIABLE} or run this command in a terminal.")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match.")
        return first
