"""A practitioner signs in and out in a real browser; every page passes axe."""

import pytest
from django.core.management import call_command

from accounts.models import User
from signposting.management.commands.seed_demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, wait_for_landing

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", "--allow-outside-demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return User.objects.get(username="practitioner@westminster.demo.example")


def test_practitioner_signs_in_and_out(page, demo_data):
    page.goto(page.base_url + "/")
    assert page.title().startswith("Home")
    assert_accessible(page)

    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/login/")
    assert_accessible(page)

    page.get_by_label("Email address").fill("practitioner@westminster.demo.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    wait_for_landing(page)
    header = page.locator("header")
    assert demo_data.get_full_name() in header.inner_text()
    assert "Westminster" in header.inner_text()
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("h1:has-text('You have signed out')")
    assert_accessible(page)
    assert "Sign out" not in page.locator("header").inner_text()


def test_sign_in_errors_show_an_accessible_error_summary(page, demo_data):
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "Enter your email address" in summary.inner_text()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    page.get_by_label("Email address").fill("practitioner@westminster.demo.example")
    page.get_by_label("Password").fill("not-the-right-password")
    page.get_by_role("button", name="Sign in").click()
    assert (
        "Enter a correct email address and password"
        in page.locator(".govuk-error-summary").inner_text()
    )
    assert_accessible(page)


def test_error_pages_pass_axe(page, demo_data):
    page.goto(page.base_url + "/no-such-page/")
    assert page.locator("h1").inner_text() == "Page not found"
    assert_accessible(page)


def test_auditor_sees_the_sign_in_in_the_audit_trail(page, demo_data):
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Email address").fill("auditor@westminster.demo.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    wait_for_landing(page)
    page.get_by_role("link", name="Audit trail", exact=True).click()
    page.wait_for_selector("h1:has-text('Audit trail')")
    assert_accessible(page)
    first_row = page.locator("tbody tr").first.inner_text()
    assert "Sign in" in first_row and "auditor@westminster.demo.example" in first_row

    page.get_by_label("Action").select_option("sign_in")
    page.get_by_role("group", name="From", exact=True).get_by_label("Day").fill("not")
    page.get_by_role("button", name="Apply filters").click()
    assert (
        "The start date must include a month and a year"
        in page.locator(".govuk-error-summary").inner_text()
    )
    assert_accessible(page)


def test_the_service_pages_are_reached_from_the_footer(page, demo_data):
    page.goto(page.base_url + "/accounts/login/")
    for link, heading in (
        ("Help and contact", "Help and contact"),
        ("Accessibility statement", "Accessibility statement for"),
        ("Privacy", "Privacy notice"),
        ("Cookies", "Cookies"),
    ):
        page.locator("footer").get_by_role("link", name=link, exact=True).click()
        page.wait_for_selector(f"h1:has-text('{heading}')")
        assert_accessible(page)
