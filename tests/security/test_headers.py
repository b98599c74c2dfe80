"""Security headers on every page; no inline script without the page's nonce."""

import re

import pytest

from tests.factories import make_user

pytestmark = pytest.mark.django_db

PAGES = ["/", "/accounts/login/", "/no-such-page/", "/healthz"]


def csp_of(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[-1]
        for part in policy.split(";")
        if part.strip()
    }


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("signed_in", [False, True])
def test_every_page_carries_the_security_headers(client, path, signed_in):
    if signed_in:
        client.force_login(make_user())
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Request-ID"]
    csp = csp_of(response)
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_hsts_is_sent_over_https(client):
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_production_redirects_plain_http_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response.url.startswith("https://")


def test_cookies_are_secure_and_http_only_by_default(settings):
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.CSRF_COOKIE_SECURE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


@pytest.mark.parametrize(
    ("path", "signed_in"), [("/", True), ("/", False), ("/accounts/login/", False)]
)
def test_every_inline_script_carries_the_nonce_of_its_response(client, path, signed_in):
    if signed_in:
        client.force_login(make_user())
    response = client.get(path)
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    assert scripts
    for attributes in scripts:
        assert f'nonce="{nonce}"' in attributes or "src=" in attributes


def test_no_inline_style_attributes_or_event_handlers(client):
    for path in ["/", "/accounts/login/", "/no-such-page/"]:
        html = client.get(path).content.decode()
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)


@pytest.mark.parametrize("signed_in", [False, True])
def test_signed_in_and_account_pages_are_never_stored(client, signed_in):
    if signed_in:
        client.force_login(make_user())
        response = client.get("/")
        assert "no-store" in response["Cache-Control"]
    response = client.get("/accounts/login/")
    assert "no-store" in response["Cache-Control"]


def test_request_id_from_the_client_is_not_trusted_without_a_proxy(client):
    response = client.get("/", HTTP_X_REQUEST_ID="forged-request-id-1234")
    assert response["X-Request-ID"] != "forged-request-id-1234"


def test_request_id_from_a_trusted_proxy_is_kept(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    response = client.get("/", HTTP_X_REQUEST_ID="lb-request-id-1234")
    assert response["X-Request-ID"] == "lb-request-id-1234"


def test_health_check_is_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
