"""Playwright on Debian's Chromium against pytest-django's live server."""

import os
import shutil
from pathlib import Path

import pytest

from signposting.management.commands.seed_demo import DEMO_PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        # CI installs Chromium; its absence there is a failure, not a skip.
        raise pytest.UsageError(f"Chromium not found at {CHROMIUM}; .ci/run installs it.")
    skip = pytest.mark.skip(
        reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)"
    )
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def page(page, live_server):
    """A page that fails the test on any Content-Security-Policy violation or script error."""
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    # axe-core from the pinned npm package, injected outside the page's CSP.
    page.add_init_script(path=str(AXE))
    page.base_url = live_server.url
    yield page
    assert not problems, f"Browser reported problems: {problems}"


def assert_accessible(page) -> None:
    """Runs axe-core (WCAG 2.0-2.2 A and AA rules) on the current page; fails on any violation."""
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                            'wcag22aa', 'best-practice']}
        })"""
    )
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if not _govuk_conditional_reveal(v)
    ]
    assert not violations, f"axe found violations on {page.url}:\n" + "\n".join(violations)


def _govuk_conditional_reveal(violation: dict) -> bool:
    """The one violation let through: aria-expanded on a GOV.UK radio that reveals a
    question, which GOV.UK Frontend sets on purpose (screen readers announce it) and lists
    as a known issue (alphagov/govuk-frontend#979). Only that attribute, only on such radios."""
    return violation["id"] == "aria-allowed-attr" and all(
        "govuk-radios__input" in node["html"]
        and "aria-controls=" in node["html"]
        and "aria-expanded=" in node["html"]
        and all(
            "aria-expanded" in check["message"]
            for check in node.get("any", []) + node.get("all", [])
        )
        for node in violation["nodes"]
    )


@pytest.fixture(autouse=True)
def _password_sign_in(settings):
    # The journeys sign in with a password, as in demo mode; the two-factor step has its own
    # journey (test_user_admin_journey.py), which turns it back on.
    settings.REQUIRE_MFA = False


def sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Signs in through the sign-in page (a demo login unless a password is given)."""
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Email address").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_landing(page)


def wait_for_landing(page) -> None:
    """Signed in: users who search land on the search page, everyone else on Home."""
    page.wait_for_url(lambda url: url in (page.base_url + "/", page.base_url + "/search/"))


def set_up_with_link(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """An operator's set-up link for a user (as create_user gives an area's first admin),
    opened with the password; then an authenticator app, as the user sets it up."""
    from accounts.models import User
    from accounts.services import second_factor_reset

    invited = second_factor_reset(user=User.objects.get(username=username), by=None, request=None)
    page.goto(f"{page.base_url}/accounts/second-factor/{invited.token}/")
    page.wait_for_selector("h1:has-text('Set up your second factor again')")
    assert_accessible(page)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    enrol_authenticator(page)
    wait_for_landing(page)


def enrol_authenticator(page) -> None:
    """From the passkey page, the fallback: an authenticator app, as a user does it, the key
    from the page and the code from pyotp."""
    import pyotp

    page.wait_for_selector("h1:has-text('Set up a passkey')")
    assert_accessible(page)
    page.get_by_role("link", name="Use an authenticator app instead").click()
    page.wait_for_selector("h1:has-text('Set up your authenticator app')")
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "two-factor-enrol.png"), full_page=True)
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    page.get_by_label("Code", exact=True).fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("h2:has-text('Your backup codes')")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
