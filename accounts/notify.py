"""A Django e-mail backend that sends through GOV.UK Notify, with its official client
(notifications-python-client): what the outbox sends goes through Django's e-mail API
whichever way is set up (accounts.outbox).

Notify sends each message from a template kept in Notify, chosen by id, filled in with the
message's personalisation (`NotifyEmail`); the subject and body Django renders for SMTP are
not used. django-gov-notify does the same but pins a client three major versions behind and
drops Notify's notification id, which the outbox keeps as its record of the send.
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from notifications_python_client.notifications import NotificationsAPIClient


class NotifyEmail(EmailMessage):
    """An e-mail that names its Notify template and personalisation beside the subject and
    body an SMTP server is sent. After a send through Notify, `provider_reference` holds
    Notify's notification id."""

    def __init__(self, *, template_id: str, personalisation: dict, reference: str, **kwargs):
        super().__init__(**kwargs)
        self.template_id = template_id
        self.personalisation = personalisation
        self.reference = reference
        self.provider_reference = ""


class NotifyEmailBackend(BaseEmailBackend):
    """Sends NotifyEmail messages, one Notify request a recipient. Errors are raised (the
    outbox decides whether to retry): notifications_python_client.errors.HTTPError carries
    Notify's status code; a network failure raises requests' errors."""

    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        super().__init__(fail_silently=fail_silently)
        self.client: NotificationsAPIClient | None = None

    def open(self) -> bool:
        if self.client is not None:
            return False
        self.client = NotificationsAPIClient(
            settings.GOVUK_NOTIFY_API_KEY,
            base_url=settings.GOVUK_NOTIFY_BASE_URL,
            timeout=settings.EMAIL_TIMEOUT,
        )
        return True

    def close(self) -> None:
        self.client = None

    def send_messages(self, email_messages) -> int:
        self.open()
        sent = 0
        try:
            sent = self._send_all(email_messages)
        except Exception:
            if not self.fail_silently:
                raise
        return sent

    def _send_all(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            if not isinstance(message, NotifyEmail):
                raise TypeError("GOV.UK Notify sends only from templates: send a NotifyEmail")
            for address in message.recipients():
                response = self.client.send_email_notification(
                    email_address=address,
                    template_id=message.template_id,
                    personalisation=message.personalisation,
                    reference=message.reference,
                    email_reply_to_id=settings.GOVUK_NOTIFY_REPLY_TO_ID or None,
                )
                message.provider_reference = str(response.get("id", ""))
            sent += 1
        return sent
