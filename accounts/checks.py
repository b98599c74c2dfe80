"""System checks of the e-mail settings (`manage.py check`, run at start and by `make checks`):
a message the service cannot address or Notify cannot send is found before the first one."""

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from accounts.models import OutboundEmail


@checks.register()
def email_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if not settings.EMAIL_ENABLED:
        return []
    problems: list[checks.CheckMessage] = []
    url = urlsplit(settings.SERVICE_URL)
    if url.scheme not in ("https", "http") or not url.netloc:
        problems.append(
            checks.Error(
                "SERVICE_URL must be the service's address, e.g. https://find.example.gov.uk",
                hint="E-mails link back to the service, and no request gives its address "
                "when `nightly` sends a reminder.",
                id="accounts.E001",
            )
        )
    elif url.scheme == "http" and not settings.DEBUG:
        problems.append(
            checks.Warning(
                "SERVICE_URL is not https: links in e-mails would be sent in the clear",
                id="accounts.W001",
            )
        )
    if settings.GOVUK_NOTIFY_API_KEY:
        problems += _notify_problems()
    return problems


def _notify_problems() -> list[checks.CheckMessage]:
    problems = []
    for kind in OutboundEmail.Kind:
        template_id = settings.GOVUK_NOTIFY_TEMPLATE_IDS.get(kind.value, "")
        try:
            uuid.UUID(template_id)
        except ValueError:
            problems.append(
                checks.Error(
                    f"GOVUK_NOTIFY_TEMPLATE_IDS has no template id for {kind.value!r}",
                    hint="Give kind=template-id pairs, comma-separated; "
                    "docs/operations/email.md has each template's text.",
                    id="accounts.E002",
                )
            )
    # An API key ends with the service id and the secret key, two UUIDs.
    key = settings.GOVUK_NOTIFY_API_KEY
    try:
        uuid.UUID(key[-73:-37])
        uuid.UUID(key[-36:])
    except ValueError:
        problems.append(
            checks.Error(
                "GOVUK_NOTIFY_API_KEY is not a GOV.UK Notify API key",
                hint="Copy the whole key from Notify's API integration page.",
                id="accounts.E003",
            )
        )
    return problems
