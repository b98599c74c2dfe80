"""A practitioner finds a child with a misspelt surname, says why, sees the lead professional's
phone number; an auditor then finds that view in the audit trail. Every page passes axe."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Organisation
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import make_child

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def child(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", "--allow-outside-demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    westminster = Organisation.objects.get(ons_code="E09000033")
    return make_child(
        area=westminster,
        given_names="Maisie",
        family_name="Wojcikowska",
        date_of_birth=date(2017, 9, 14),
        lead_professional=True,
    )


def test_practitioner_finds_a_child_and_an_auditor_sees_the_view(page, child):
    sign_in(page, "practitioner@westminster.demo.example")
    page.get_by_role("link", name="Find a child", exact=True).first.click()
    page.wait_for_url("**/search/")
    assert_accessible(page)

    # Too little first: the error summary.
    page.get_by_label("Family name").fill("Wojcikowska")
    page.get_by_role("button", name="Search").click()
    assert "Enter the NHS number" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    page.get_by_label("Family name").fill("Wojcikowski")  # misspelt
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("9")
    page.get_by_label("Year").fill("2017")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("h2:has-text('Search results')")
    assert "search" not in page.url.split("/search/")[-1]  # nothing in the URL
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "search-results.png"), full_page=True)

    page.get_by_role("link", name="Maisie Wojcikowska").click()
    page.wait_for_selector("h1:has-text('Why do you need to see this child')")
    # Whose record it is, and nothing of the record yet.
    assert "Maisie Wojcikowska, born 14 September 2017" in page.content()
    assert "Working with the child now" not in page.content()
    assert_accessible(page)
    page.get_by_role("button", name="Continue to the record").click()
    assert "Select why you need" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    # "Give the reason" shows only once "Other reason" is chosen.
    assert not page.get_by_label("Give the reason").is_visible()
    page.get_by_label("Other reason").check()
    assert page.get_by_label("Give the reason").is_visible()
    page.get_by_label("Assessment").check()
    assert not page.get_by_label("Give the reason").is_visible()
    assert_accessible(page)

    page.get_by_label("Assessment").check()
    page.get_by_role("button", name="Continue to the record").click()
    page.wait_for_selector("h1:has-text('Maisie Wojcikowska')")
    lead = page.locator(".govuk-summary-card", has_text="Lead professional").first
    assert "020 7946 0001" in lead.inner_text()
    assert_accessible(page)
    page.screenshot(path=str(SCREENSHOTS / "record.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("h1:has-text('You have signed out')")

    sign_in(page, "auditor@westminster.demo.example")
    page.goto(page.base_url + "/audit/")
    page.get_by_label("Child's public ID").fill(child.public_id)
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("tbody tr")
    first = rows.first.inner_text()
    assert "Record view" in first
    assert "practitioner@westminster.demo.example" in first
    assert "Assessment" in first
    assert_accessible(page)


def test_data_manager_lists_involvements_not_confirmed(page, child):
    from children.models import Involvement

    Involvement.objects.filter(child=child).update(
        confirmed_at=timezone.now() - timedelta(days=400)
    )
    sign_in(page, "data-manager@westminster.demo.example")
    page.get_by_role("link", name="Not confirmed", exact=True).click()
    page.wait_for_selector("h1:has-text('Involvements not confirmed since')")
    assert "Maisie Wojcikowska" in page.locator("table").inner_text()
    assert_accessible(page)


def test_going_back_from_a_record_shows_the_results_again(page, child):
    sign_in(page, "practitioner@westminster.demo.example")
    page.goto(page.base_url + "/search/")
    page.get_by_label("Family name").fill("Wojcikowska")
    page.get_by_label("Given name").fill("Maisie")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("9")
    page.get_by_label("Year").fill("2017")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("h2:has-text('Search results')")
    page.get_by_role("link", name="Maisie Wojcikowska").click()
    page.wait_for_selector("h1:has-text('Why do you need to see this child')")

    # On a phone, the results fit the screen (a wide table scrolls in its own region).
    page.set_viewport_size({"width": 375, "height": 800})
    page.go_back()
    page.wait_for_selector("h2:has-text('Search results')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("link", name="Maisie Wojcikowska").click()
    page.wait_for_selector("h1:has-text('Why do you need to see this child')")

    # The browser's back button: the results again, not "confirm form resubmission".
    page.go_back()
    page.wait_for_selector("h2:has-text('Search results')")
    assert "/search/results/" in page.url
    assert page.get_by_role("link", name="Maisie Wojcikowska").is_visible()
    assert page.get_by_label("Family name").input_value() == "Wojcikowska"
    assert_accessible(page)

    # The record, then "Back to results".
    page.get_by_role("link", name="Maisie Wojcikowska").click()
    page.get_by_label("Assessment").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("h2:has-text('Working with the child now')")
    page.get_by_role("link", name="Back to results").click()
    page.wait_for_selector("h2:has-text('Search results')")
    assert page.get_by_role("link", name="Maisie Wojcikowska").is_visible()
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "results-again.png"), full_page=True)


def test_the_core_journey_takes_at_most_six_clicks(page, child):
    """From the sign-in page to the lead professional's phone (issue 15): typing is not a
    click; every click, a radio included, is counted."""
    clicks = 0

    def click(locator):
        nonlocal clicks
        clicks += 1
        locator.click()

    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Email address").fill("practitioner@westminster.demo.example")
    page.get_by_label("Password").fill("demo-password-for-synthetic-data")
    click(page.get_by_role("button", name="Sign in"))
    page.wait_for_url("**/search/")  # a practitioner lands on the search page
    page.get_by_label("Family name").fill("Wojcikowska")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("9")
    page.get_by_label("Year").fill("2017")
    click(page.get_by_role("button", name="Search"))
    click(page.get_by_role("link", name="Maisie Wojcikowska"))
    click(page.get_by_label("Child protection enquiry"))
    click(page.get_by_role("button", name="Continue to the record"))
    page.wait_for_selector("h2:has-text('Working with the child now')")
    phone = page.locator('a[href^="tel:"]').first
    assert phone.is_visible()
    assert clicks <= 6, clicks
