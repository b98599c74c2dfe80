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


# The innermost elements that reach past the right edge of the screen (outside a region
# that scrolls on its own).
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(e => !e.closest('.app-table-scroll'))
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right
                                          > document.documentElement.clientWidth + 1))
  .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').trim().slice(0, 40))
  .slice(0, 5)"""


def shoot(page, name: str) -> None:
    """Screenshots of the page at both widths, checking that nothing overflows a phone, and
    axe at each."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        wide = page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, (name, width, wide)
        assert_accessible(page)
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


def test_an_la_admin_finds_the_child_to_restrict(page, child):
    from children.models import Child

    sign_in(page, "la-admin@westminster.demo.example")
    page.get_by_role("link", name="Restrict a child's record").click()
    page.wait_for_selector("h1:has-text('Find the child whose record to restrict')")
    shoot(page, "restrict-find")

    # Too little: the search's minimum criteria, in an error summary.
    page.get_by_label("Family name").fill("Wojcikowska")
    page.get_by_role("button", name="Search").click()
    assert "Enter the NHS number" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    page.get_by_label("Given name").fill("Maisie")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("9")
    page.get_by_label("Year").fill("2017")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("h2:has-text('Children found')")
    row = page.locator("tbody tr", has_text="Maisie Wojcikowska")
    assert child.public_id in row.inner_text() and "14 September 2017" in row.inner_text()
    shoot(page, "restrict-found")

    row.get_by_role("link", name="Restrict this record").click()
    page.wait_for_selector('h1:has-text("Restrict a child\'s record")')
    assert page.get_by_label("Child's public ID").input_value() == child.public_id
    assert page.get_by_label("Restrict the record (shield it)").is_checked()
    page.get_by_label("Reason").fill("Risk from a parent who must not find the child")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("h1:has-text('Check your answers')")
    answers = page.locator(".govuk-summary-list").inner_text()
    assert "Maisie Wojcikowska" in answers and "14 September 2017" in answers
    shoot(page, "restrict-check")
    page.get_by_role("button", name="Confirm and save").click()
    page.wait_for_selector("text=The record is now restricted")
    assert_accessible(page)
    assert Child.objects.get(pk=child.pk).shielded


def test_an_auditor_finds_the_child_of_a_subject_access_request(page, child):
    sign_in(page, "auditor@westminster.demo.example")
    page.get_by_role("link", name="Child access reports").click()
    page.wait_for_selector("h1:has-text('access report')")
    shoot(page, "access-find")

    page.get_by_label("Family name").fill("Wojcikowska")
    page.get_by_label("Given name").fill("Maisie")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("9")
    page.get_by_label("Year").fill("2017")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("h2:has-text('Children found')")
    shoot(page, "access-found")
    page.get_by_role("link", name="Maisie Wojcikowska").click()
    page.wait_for_selector(f"h1:has-text('Child {child.public_id}')")
    # The auditor's own search is in the child's report.
    assert "Audit search" in page.locator("table").inner_text()
    assert_accessible(page)

    # A purged child: no one on the register, so the page says to use the public id.
    page.get_by_role("link", name="Find another child").click()
    page.get_by_label("Family name").fill("Kowalczyk")
    page.get_by_label("Given name").fill("Anna")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2015")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("text=No child on the register matches these details")
    assert_accessible(page)
    page.get_by_label("Child's public ID").fill("not-an-id")
    page.get_by_role("button", name="Open the report").click()
    assert "not a real public ID" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    page.get_by_label("Child's public ID").fill("7KQ-4M2-PXA")
    page.get_by_role("button", name="Open the report").click()
    page.wait_for_selector("h1:has-text('Child 7KQ-4M2-PXA')")
    assert "No record held: purged" in page.content()


def test_an_auditor_filters_events_by_area_organisation_and_dates(page, child):
    from django.utils import timezone

    sign_in(page, "auditor@westminster.demo.example")
    page.goto(page.base_url + "/audit/")
    page.get_by_label("Area").select_option(label="Westminster")
    start = page.get_by_role("group", name="From", exact=True)
    start.get_by_label("Day").fill("1")
    start.get_by_label("Month").fill("13")
    start.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Apply filters").click()
    assert "The start date must be a real date" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    today = timezone.localdate()
    start.get_by_label("Day").fill(str(today.day))
    start.get_by_label("Month").fill(str(today.month))
    start.get_by_label("Year").fill(str(today.year))
    page.get_by_label("Organisation").fill("Westminster")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_selector("table")
    assert "Sign in" in page.locator("tbody").inner_text()
    shoot(page, "audit-filters")

    page.get_by_role("link", name="Flagged lookups").click()
    page.wait_for_selector("h1:has-text('Flagged lookups')")
    shoot(page, "flags")
