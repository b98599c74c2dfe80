"""The one rule for a client's IP address."""

import pytest
from django.test import RequestFactory

from signposting.client_ip import client_ip


def request_with(remote_addr: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_with("192.0.2.1", "203.0.113.9")) == "192.0.2.1"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "not-an-ip", ""),
        (1, "", "10.0.0.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_trusted_proxies_count_from_the_right(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip(request_with("10.0.0.1", forwarded)) == expected
