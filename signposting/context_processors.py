"""Values every page's layout needs."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.capabilities import Capability, capabilities_of
from audit.oversight.notices import UNREAD_SHOWN_UP_TO, unread_count


def service(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    capabilities = capabilities_of(user) if user is not None else frozenset()
    return {
        "service_name": settings.SERVICE_NAME,
        "demo_mode": settings.DEMO,
        "require_mfa": settings.REQUIRE_MFA,
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "can": {capability.value: capability in capabilities for capability in Capability},
        # Evaluated when the header shows the notices link: one indexed count, as text
        # ("" for none, "99+" past 99).
        "unread_notices": SimpleLazyObject(
            lambda: _unread_label(user) if Capability.READ_NOTICES in capabilities else ""
        ),
    }


def _unread_label(user) -> str:
    count = unread_count(user=user)
    if count > UNREAD_SHOWN_UP_TO:
        return f"{UNREAD_SHOWN_UP_TO}+"
    return str(count) if count else ""
