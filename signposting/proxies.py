"""Catching a reverse-proxy misconfiguration that would lock everyone out.

Behind a load balancer with TRUSTED_PROXY_COUNT = 0, every client's address is the
balancer's, so django-axes' IP lockout (5 failures from one address) locks every user
out at once. Two guards: a deploy check that insists the count is set explicitly, and,
at run time, requests that carry X-Forwarded-For while the count is 0 log an error once
per process and show on /healthz (through the shared cache, so every instance's health
check says so).
"""

import logging
import os
import time

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

SEEN_KEY = "signposting:forwarded_while_untrusted"
SEEN_FOR_SECONDS = 24 * 3600  # shown on /healthz for a day after the last such request
_NOTE_EVERY_SECONDS = 60
_last_noted = 0.0
_logged = False


@checks.register(checks.Tags.security, deploy=True)
def check_trusted_proxy_count(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if "TRUSTED_PROXY_COUNT" in os.environ or settings.DEMO:
        return []
    return [
        checks.Warning(
            "TRUSTED_PROXY_COUNT is not set. Behind a load balancer every client then has "
            "the balancer's address, and five wrong passwords by anyone lock every user out "
            "for 30 minutes.",
            hint="Set TRUSTED_PROXY_COUNT to the number of proxies that append to "
            "X-Forwarded-For (0 only if clients connect to gunicorn directly).",
            id="signposting.W001",
        )
    ]


def note_untrusted_forwarding(request: HttpRequest) -> None:
    """Called for every request: notes X-Forwarded-For arriving while no proxy is trusted."""
    global _last_noted, _logged
    if settings.TRUSTED_PROXY_COUNT > 0 or "HTTP_X_FORWARDED_FOR" not in request.META:
        return
    now = time.monotonic()
    if not _logged:
        _logged = True
        logger.error(
            "Requests carry X-Forwarded-For but TRUSTED_PROXY_COUNT is 0: every client "
            "looks like the proxy, and one user's failed sign-ins lock everyone out. Set "
            "TRUSTED_PROXY_COUNT to the number of proxies in front of the service."
        )
    if now - _last_noted >= _NOTE_EVERY_SECONDS:
        _last_noted = now
        try:
            cache.set(SEEN_KEY, int(time.time()), SEEN_FOR_SECONDS)
        except Exception:  # the health check will say so; never fail a request for it
            logger.warning("Could not note untrusted forwarding in the cache")


def untrusted_forwarding_seen() -> bool:
    """Whether any instance saw X-Forwarded-For while TRUSTED_PROXY_COUNT is 0, lately."""
    if settings.TRUSTED_PROXY_COUNT > 0:
        return False
    try:
        return cache.get(SEEN_KEY) is not None
    except Exception:
        return False


def forget_for_tests() -> None:
    global _last_noted, _logged
    _last_noted, _logged = 0.0, False
