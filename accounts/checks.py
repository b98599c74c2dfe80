"""System checks of accounts: single sign-on's client secrets are where the rows say."""

import os

from django.conf import settings
from django.core import checks
from django.db import DatabaseError

from accounts.models import SingleSignOn


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
