"""Oversight, end to end: a Westminster practitioner opens the record of a Camden child; the
out-of-area flag reaches the auditor's queue, the auditor records an outcome, and the child's
lead professional in Camden sees the view in their notices. Every page passes axe."""

from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Organisation
from audit.models import FlagOutcome
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import make_child

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LEAD = "practitioner@camden.demo.example"


@pytest.fixture
def camden_child(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command(
        "seed_demo",
        "--allow-outside-demo",
        "--children",
        "0",
        stdout=open("/dev/null", "w"),  # noqa: SIM115
    )
    camden = Organisation.objects.get(ons_code="E09000007")
    return make_child(
        area=camden,
        given_names="Ottilie",
        family_name="Fairweather-Nkemelu",
        date_of_birth=date(2016, 2, 29),
        lead_professional=True,
        practitioner_email=LEAD,
    )


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("h1:has-text('You have signed out')")


def test_an_out_of_area_view_is_flagged_decided_and_noticed(page, camden_child):
    # A Westminster practitioner finds and opens the Camden child's record.
    sign_in(page, "practitioner@westminster.demo.example")
    page.goto(page.base_url + "/search/")
    page.get_by_label("Family name").fill("Fairweather Nkemelu")
    page.get_by_label("Day").fill("29")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2016")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ottilie Fairweather-Nkemelu").click()
    page.get_by_label("Referral").check()
    page.get_by_role("button", name="Continue to the record").click()
    page.wait_for_selector("h1:has-text('Ottilie Fairweather-Nkemelu')")
    sign_out(page)

    # The auditor finds the flag in the queue and records an outcome.
    sign_in(page, "auditor@westminster.demo.example")
    page.get_by_role("link", name="Flagged lookups", exact=True).click()
    page.wait_for_selector("h1:has-text('Flagged lookups')")
    row = page.locator("tbody tr", has_text=camden_child.public_id)
    assert "Out of area" in row.inner_text()
    assert "practitioner@westminster.demo.example" not in row.inner_text()  # names, not logins
    assert_accessible(page)
    page.get_by_label("Rule").select_option("out_of_area")
    page.get_by_role("button", name="Apply filters").click()
    row = page.locator("tbody tr", has_text=camden_child.public_id)
    row.get_by_role("link", name="Review").click()
    page.wait_for_selector("h1:has-text('Out of area')")
    assert "Referral" in page.locator(".govuk-summary-list").first.inner_text()
    assert_accessible(page)

    page.get_by_role("button", name="Record outcome").click()
    assert "Select the outcome" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    page.get_by_label("Advice given").check()
    page.get_by_label("Note").fill("Spoke to the practitioner's manager; referral was genuine.")
    page.get_by_role("button", name="Record outcome").click()
    page.wait_for_selector("text=has been recorded")
    assert camden_child.public_id not in page.locator("main").inner_text()  # no longer open
    assert_accessible(page)
    assert FlagOutcome.objects.get().outcome == "advice_given"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(page.base_url + "/audit/flags/?status=closed")
    page.screenshot(path=str(SCREENSHOTS / "flags-closed.png"), full_page=True)
    sign_out(page)

    # The lead professional in Camden sees the view in their notices.
    sign_in(page, LEAD)
    notices_link = page.get_by_role("link", name="Notices 1 new", exact=True)
    assert notices_link.is_visible()
    assert_accessible(page)
    notices_link.click()
    page.wait_for_selector("h1:has-text('Recent views of your children')")
    table = page.locator("table").inner_text()
    assert "Ottilie Fairweather-Nkemelu" in table
    assert "Westminster" in table
    assert "Referral" in table
    assert_accessible(page)
    page.screenshot(path=str(SCREENSHOTS / "notices.png"), full_page=True)
    # Read: the header count is gone.
    page.goto(page.base_url + "/")
    assert page.get_by_role("link", name="Notices", exact=True).is_visible()
