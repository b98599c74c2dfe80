"""System checks of accounts (`manage.py check`, run at start and by `make checks`): the
e-mail settings, so that a message the service cannot address or Notify cannot send is found
before the first one; single sign-on's client secrets are where the rows say."""

import os
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.db import DatabaseError

from accounts.models import OutboundEmail, SingleSignOn


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
                id="accounts.W002",
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


@checks.register(checks.Tags.database)
def check_single_sign_on_secrets(app_configs=None, databases=None, **kwargs):
    """Warns for every enabled identity provider whose client secret's variable is not set:
    its users' single sign-on would fail (the start page says it is not working). Run where
    the database is asked (manage.py check --database default, and migrate)."""
    if not databases or not settings.OIDC_ENABLED:
        return []
    try:
        providers = list(SingleSignOn.objects.select_related("organisation").filter(enabled=True))
    except DatabaseError:
        return []  # not migrated yet: migrate runs the checks first
    return [
        checks.Warning(
            f"The single sign-on of {provider.organisation} takes its client secret from "
            f"{provider.client_secret_variable}, which is not set.",
            hint="Set that environment variable for every instance of the service, or turn "
            "the organisation's single sign-on off in the operator console.",
            obj=provider,
            id="accounts.W001",
        )
        for provider in providers
        if not os.environ.get(provider.client_secret_variable)
    ]
