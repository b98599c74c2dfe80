"""The one rule for a request's client IP, shared by lockouts, audit and change history."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address, trusting X-Forwarded-For only as far as our own proxies.

    With TRUSTED_PROXY_COUNT = 0 the header is ignored. With N trusted proxies,
    each appends the address it saw, so the client is the N-th entry from the
    right; anything further left was written by the client and may be forged.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return _valid_or_empty(remote_addr)
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    # REMOTE_ADDR is the nearest proxy; the header holds what the proxies saw.
    if len(forwarded) < proxies:
        return _valid_or_empty(forwarded[0] if forwarded else remote_addr)
    return _valid_or_empty(forwarded[-proxies])


def _valid_or_empty(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return ""
