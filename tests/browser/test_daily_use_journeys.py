"""Daily journeys of issue 15 in Chromium, with axe on every page and screenshots at 1280 and
375 pixels wide: printing a record (item 5), an LA admin finding the child to restrict
(item 8), an auditor finding a child for a subject access request (item 13) and the
auditor's event filters (item 15)."""

from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Organisation
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import make_child

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WIDTHS = (1280, 375)


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


def shoot(page, name: str) -> None:
    """Screenshots of the page at both widths, checking that nothing overflows a phone, and
    axe at each."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        assert_accessible(page)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def find_maisie(page) -> None:
    page.goto(page.base_url + "/search/")
    page.get_by_label("Family name").fill("Wojcikowska")
    page.get_by_label("Given name").fill("Maisie")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("9")
    page.get_by_label("Year").fill("2017")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("h2:has-text('Search results')")


def test_a_practitioner_prints_a_record(page, child):
    from audit.models import Action
    from tests.audit.helpers import last_event

    sign_in(page, "practitioner@westminster.demo.example")
    find_maisie(page)
    page.get_by_role("link", name="Maisie Wojcikowska").click()
    page.get_by_label("Child protection enquiry").check()
    page.get_by_role("button", name="Continue to the record").click()
    page.wait_for_selector("h1:has-text('Maisie Wojcikowska')")
    shoot(page, "record")

    # Printed from the browser, the record page gives a pointer, not the child's details.
    page.emulate_media(media="print")
    assert page.get_by_text("use “Print this record” on the record page").is_visible()
    assert not page.locator("h1").is_visible()
    page.emulate_media(media="screen")

    # No print dialogue in a test browser: the page asks for one, and the test says so.
    page.add_init_script("window.print = () => { window.__printed = true; };")
    page.get_by_role("button", name="Print this record").click()
    page.wait_for_selector("h1:has-text('Maisie Wojcikowska')")
    assert "/print/" in page.url
    page.wait_for_function("window.__printed === true")
    event = last_event()
    assert event.action == Action.RECORD_PRINT and event.reason_code == "child_protection"
    shoot(page, "record-print")

    # On paper: the marking, who printed it, the record; no navigation, banners, back
    # link or footer.
    page.emulate_media(media="print")
    assert page.locator(".app-handling-marking").first.inner_text() == "OFFICIAL-SENSITIVE"
    stamp = page.get_by_text("Printed by").inner_text()
    assert "Westminster" in stamp and "for: Child protection enquiry" in stamp
    assert page.locator("h1").is_visible()
    assert page.get_by_text("020 7946 0001").is_visible()
    for hidden in (
        ".govuk-service-navigation",
        ".govuk-phase-banner",
        ".app-demo-banner",
        ".govuk-back-link",
        ".govuk-footer",
    ):
        assert not page.locator(hidden).first.is_visible(), hidden
    assert "(/search/" not in page.locator("main").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "record-print-paper.png"), full_page=True)
