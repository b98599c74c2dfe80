"""Sends the e-mails waiting in the outbox (accounts.outbox): once, or with --follow as a
worker beside gunicorn that looks again every OUTBOX_POLL_SECONDS and stops cleanly on
SIGTERM or Ctrl-C. Any number of workers may run: each message is sent by one."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.outbox import email_on, outbox_follow, outbox_send_due
from signposting.workers import stop_on_signals


class Command(BaseCommand):
    help = "Send the e-mails waiting in the outbox; with --follow, keep sending as they come."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--follow",
            action="store_true",
            help="Keep running, sending messages as they are queued, until stopped.",
        )

    def handle(self, *args, **options) -> None:
        if not email_on():
            raise CommandError(
                "E-mail is off: set EMAIL_URL (SMTP) or GOVUK_NOTIFY_API_KEY (GOV.UK Notify)."
            )
        if not options["follow"]:
            self.stdout.write(f"Outbox: {outbox_send_due()}")
            return
        stop = stop_on_signals()
        self.stdout.write(
            f"Sending the outbox every {settings.OUTBOX_POLL_SECONDS:g} s until stopped."
        )
        sent = outbox_follow(stop=stop, poll_seconds=settings.OUTBOX_POLL_SECONDS)
        self.stdout.write(f"Stopped; {sent} message(s) sent.")
