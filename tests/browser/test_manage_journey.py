"""A data manager adds a child with an involvement and records a move to another area; a data
manager of the new area then finds the child and can manage the record. Every page passes axe."""

import pytest
from django.core.management import call_command

from tests.browser.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", "--allow-outside-demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def fill_date(page, legend: str, day: str, month: str, year: str) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(day)
    group.get_by_label("Month").fill(month)
    group.get_by_label("Year").fill(year)


def test_a_child_added_and_moved_is_seen_by_the_new_area(page, demo):
    sign_in(page, "data-manager@westminster.demo.example")
    page.get_by_role("link", name="Home").click()
    page.get_by_role("link", name="Add a child").click()
    page.wait_for_selector("h1:has-text('Add a child')")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    assert "Enter the given names" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)

    page.get_by_label("Given names").fill("Ottilie")
    page.get_by_label("Family name").fill("Marchbanks")
    fill_date(page, "Date of birth", "3", "11", "2015")
    page.get_by_label("Female").check()
    page.get_by_label("First line of the address").fill("12 Horseferry Road")
    page.get_by_label("Postcode").fill("SW1P 2AF")
    fill_date(page, "Date the child moved in", "1", "3", "2019")
    page.get_by_label("Service", exact=True).select_option(label="Early help")
    page.get_by_label("Organisation", exact=True).select_option(label="Westminster")
    fill_date(page, "Start date", "2", "9", "2026")
    page.get_by_label("Yes, instead of any lead professional now").check()
    # A lead professional no one can reach is refused, in the error summary.
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "A lead professional needs a name" in summary
    assert "phone number or an email address" in summary
    assert_accessible(page)
    page.get_by_label("Practitioner's name").fill("Nadia Brook")
    page.get_by_label("Phone", exact=True).fill("020 7946 0777")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("h1:has-text('Check your answers')")
    assert "Ottilie Marchbanks" in page.locator(".govuk-summary-list").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Confirm and save").click()
    page.wait_for_selector("h1:has-text('Ottilie Marchbanks')")
    assert "The child has been added to the register" in page.content()
    assert_accessible(page)

    page.get_by_role("link", name="Record a move").click()
    page.wait_for_selector("h1:has-text('Record a move')")
    assert_accessible(page)
    page.get_by_label("First line of the new address").fill("3 Pancras Square")
    page.get_by_label("Postcode").fill("N1C 4AG")
    page.get_by_label("Local authority of the new address").select_option(label="Camden")
    fill_date(page, "Date of the move", "1", "10", "2026")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("h1:has-text('Check your answers')")
    page.get_by_role("button", name="Confirm and save").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("h1:has-text('You have signed out')")

    sign_in(page, "data-manager@camden.demo.example")
    page.goto(page.base_url + "/search/")
    page.get_by_label("Family name").fill("Marchbanks")
    page.get_by_label("Day").fill("3")
    page.get_by_label("Month").fill("11")
    page.get_by_label("Year").fill("2015")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ottilie Marchbanks").click()
    page.get_by_label("Continuing work with the child").check()
    page.get_by_role("button", name="Continue to the record").click()
    page.wait_for_selector("h1:has-text('Ottilie Marchbanks')")
    history = page.locator("h2:has-text('Areas the child has lived in') ~ *").all_inner_texts()
    assert any("Camden" in text for text in history)
    assert any("Westminster" in text for text in history)
    page.get_by_role("link", name="Manage this record").click()
    page.wait_for_selector("h2:has-text('Open involvements')")
    assert "Nadia Brook" in page.content()
    assert_accessible(page)


def test_every_other_stewardship_page_passes_axe(page, demo):
    from datetime import date

    from accounts.models import Organisation
    from children.imports import import_rows
    from children.models import HeldRow, Service
    from children.services import InvolvementDetails, involvement_add
    from tests.factories import make_child

    westminster = Organisation.objects.get(ons_code="E09000033")
    child = make_child(
        area=westminster, given_names="Axel", family_name="Thorsen", date_of_birth=date(2014, 1, 2)
    )
    other = make_child(
        area=westminster, given_names="Axel", family_name="Thorson", date_of_birth=date(2014, 1, 2)
    )
    involvement = involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="gp"),
            organisation=westminster,
            started_on=date(2025, 1, 1),
        ),
    )
    row = {
        "child_ref": "AX1",
        "given_names": "Axel",
        "family_name": "Thorsen",
        "date_of_birth": "2014-01-02",
        "sex": "male",
        "address_line_1": "1 Road",
        "postcode": "SW1A 1AA",
        "local_authority": "E09000033",
        "address_since": "2020-01-01",
        "involvement_ref": "AXI1",
        "service": "early_help",
        "organisation": "Westminster",
        "started_on": "2025-02-01",
    }
    import_rows(rows=[row], source="axe-test")
    held = HeldRow.objects.get(child_ref="AX1")

    sign_in(page, "data-manager@westminster.demo.example")
    base = f"{page.base_url}/manage/children/{child.public_id}/"
    for url in (
        base + "involvements/new/",
        base + f"involvements/{involvement.pk}/close/",
        base + f"involvements/{involvement.pk}/lead/",
        base + "name/",
        f"{page.base_url}/manage/duplicates/",
        f"{page.base_url}/manage/duplicates/held/{held.pk}/",
        f"{page.base_url}/manage/duplicates/merge/",
    ):
        page.goto(url)
        page.wait_for_selector("h1")
        assert_accessible(page)
        if page.locator("button:has-text('Continue')").count():
            page.locator("button:has-text('Continue')").first.click()
            page.wait_for_selector("h1")
            assert_accessible(page)  # the error summary, or the next step

    page.goto(f"{page.base_url}/manage/duplicates/merge/")
    page.get_by_label("Public id of the first record").fill(child.public_id)
    page.get_by_label("Public id of the second record").fill(other.public_id)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("h1")
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "la-admin@westminster.demo.example")
    page.goto(f"{page.base_url}/manage/shielding/")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    assert "There is a problem" in page.content()
    assert_accessible(page)
