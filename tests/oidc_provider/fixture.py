"""The test identity provider as a session fixture: one provider process per test session (per
worker, under pytest-xdist), with a SQLite file in the session's temporary directory, whatever
database the service's tests use. It starts in a second or two."""

import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.oidc_provider.people import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60


@dataclass(frozen=True)
class IdentityProvider:
    base_url: str

    @property
    def issuer(self) -> str:
        # django-oauth-toolkit's issuer: where its discovery document is, less the document.
        return f"{self.base_url}/o"

    def signed_in(self, username: str) -> requests.Session:
        """A browser (a requests session) signed in at the provider as this person."""
        browser = requests.Session()
        browser.get(f"{self.base_url}/login/", timeout=10).raise_for_status()
        response = browser.post(
            f"{self.base_url}/login/",
            data={
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": browser.cookies["provider_csrftoken"],
                "next": "/",
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, f"{username} not signed in at the provider"
        return browser

    def authorize(self, browser: requests.Session, url: str) -> str:
        """Opens the provider's authorisation address the service sent the browser to, and
        returns the path and query the provider sends it back to (the service's callback)."""
        response = browser.get(url, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text[:500]
        back = urlsplit(response.headers["Location"])
        return f"{back.path}?{back.query}"


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory) -> IdentityProvider:
    directory = tmp_path_factory.mktemp("identity_provider")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["OP_DATABASE"] = str(directory / "provider.sqlite3")
    log_path = directory / "provider.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.oidc_provider.serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
        line = process.stdout.readline().strip() if ready else ""
        if not line.isdigit():
            raise RuntimeError(f"The test identity provider did not start:\n{log_path.read_text()}")
        provider = IdentityProvider(base_url=f"http://127.0.0.1:{line}")
        _wait_for(f"{provider.issuer}/.well-known/openid-configuration")
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"The test identity provider does not answer at {url}")
        time.sleep(0.05)
