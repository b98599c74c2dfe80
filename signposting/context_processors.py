"""Values every page's layout needs."""

from django.conf import settings
from django.http import HttpRequest

from accounts.capabilities import Capability, capabilities_of


def service(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    capabilities = capabilities_of(user) if user is not None else frozenset()
    return {
        "service_name": settings.SERVICE_NAME,
        "demo_mode": settings.DEMO,
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "can": {capability.value: capability in capabilities for capability in Capability},
    }
