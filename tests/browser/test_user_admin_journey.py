"""An LA admin finds a practitioner whose training has lapsed, records the new training and
suspends another account; the lapsed practitioner meanwhile sees why they cannot search.
Every page passes axe."""

import base64
import time
from pathlib import Path

import pyotp
import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User, Vetting
from tests.browser.conftest import (
    assert_accessible,
    enrol_authenticator,
    set_up_with_link,
    sign_in,
    wait_for_landing,
)

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PRACTITIONER = "practitioner@kent.demo.example"


@pytest.fixture
def demo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command(
        "seed_demo",
        "--allow-outside-demo",
        "--children",
        "0",
        stdout=open("/dev/null", "w"),  # noqa: SIM115
    )
    # The Kent practitioner's training is more than a year old.
    Vetting.objects.filter(user__username=PRACTITIONER).update(
        training_completed_on=timezone.localdate() - relativedelta(years=1, days=2)
    )


def test_an_la_admin_re_vets_a_lapsed_practitioner(page, demo):
    sign_in(page, PRACTITIONER)
    assert "Your access has lapsed" in page.locator("main").inner_text()
    assert_accessible(page)
    page.goto(page.base_url + "/search/")
    assert "The training of" in page.locator("main").inner_text()
    assert "la-admin@kent.demo.example" in page.locator("main").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "la-admin@kent.demo.example")
    page.get_by_role("link", name="Users", exact=True).click()
    page.wait_for_selector("h1:has-text('Users in Kent')")
    row = page.locator("tbody tr", has_text=PRACTITIONER)
    assert "Vetting lapsed" in row.inner_text()
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "users.png"), full_page=True)
    row.get_by_role("link").first.click()
    page.get_by_role("button", name="Record vetting").click()
    page.wait_for_selector("h1:has-text('Record vetting')")
    page.get_by_role("button", name="Continue").click()
    assert "Enter at least one of" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    today = timezone.localdate()
    training = page.get_by_role("group", name="Date the training was completed")
    training.get_by_label("Day").fill(str(today.day))
    training.get_by_label("Month").fill(str(today.month))
    training.get_by_label("Year").fill(str(today.year))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("text=The vetting has been recorded.")
    assert "Vetted" in page.locator("main").inner_text()
    assert_accessible(page)
    page.screenshot(path=str(SCREENSHOTS / "user.png"), full_page=True)

    # Making the Kent data manager a practitioner, then suspending them.
    page.goto(page.base_url + "/manage/users/")
    page.locator("tbody tr", has_text="data-manager@kent.demo.example").get_by_role(
        "link"
    ).first.click()
    page.get_by_role("link", name="Change role").click()
    page.wait_for_selector("h1:has-text('Change role')")
    assert_accessible(page)
    page.get_by_label("Practitioner").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("text=The role has been changed.")
    page.goto(page.base_url + "/manage/users/")
    page.locator("tbody tr", has_text="data-manager@kent.demo.example").get_by_role(
        "link"
    ).first.click()
    page.get_by_role("button", name="Suspend account").click()
    # Check your answers first: nothing has changed yet.
    page.wait_for_selector("h1:has-text('Check before you suspend this account')")
    assert User.objects.get(username="data-manager@kent.demo.example").is_active
    assert_accessible(page)
    page.get_by_role("button", name="Suspend account").click()
    page.wait_for_selector("text=all its sessions have ended")
    assert not User.objects.get(username="data-manager@kent.demo.example").is_active
    assert_accessible(page)


def test_an_la_admin_invites_a_practitioner_who_sets_a_password_and_signs_in(page, demo, settings):
    # Two-factor sign-in on, as in production: both set up an authenticator app, each only
    # through a link (the admin's from an operator, as an area's first admin gets it).
    settings.REQUIRE_MFA = True
    set_up_with_link(page, "la-admin@kent.demo.example")
    page.goto(page.base_url + "/manage/users/")
    page.get_by_role("button", name="Add a user").click()
    page.wait_for_selector("h1:has-text('Add a user')")
    page.get_by_role("button", name="Continue").click()
    assert "Enter their work email address" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    page.get_by_label("Work email address").fill("ade.adeyemi@kent.example")
    page.get_by_label("Given name").fill("Ade")
    page.get_by_label("Family name").fill("Adeyemi")
    page.get_by_label("Organisation").select_option(label="Kent")
    page.get_by_label("Practitioner").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("h1:has-text('Invitation link ready')")
    assert_accessible(page)
    link = page.locator("code").inner_text()
    # The admin records the vetting before the new user arrives.
    page.get_by_role("link", name="record their vetting").click()
    today = timezone.localdate()
    for legend in (
        "Date of the enhanced DBS check",
        "Date the training was completed",
        "Date the user agreement was signed",
    ):
        group = page.get_by_role("group", name=legend)
        group.get_by_label("Day").fill(str(today.day))
        group.get_by_label("Month").fill(str(today.month))
        group.get_by_label("Year").fill(str(today.year))
    page.get_by_label("DBS certificate number").fill("001122334455")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("text=The vetting has been recorded.")
    page.get_by_role("button", name="Sign out").click()

    page.goto(link)
    page.wait_for_selector("h1:has-text('Set your password')")
    assert_accessible(page)
    page.get_by_label("Create a password").fill("a-long-new-password-for-ade")
    page.get_by_label("Type the password again").fill("a-long-new-password-for-ade")
    page.get_by_role("button", name="Set password").click()
    # In one go: the password, then the second factor.
    enrol_authenticator(page)
    wait_for_landing(page)
    page.get_by_role("link", name="Find a child", exact=True).first.click()
    page.wait_for_url("**/search/")
    page.get_by_label("Family name").fill("Nobody-On-The-Register")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2015")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("h2:has-text('Search results')")
    assert_accessible(page)

    # The next sign-in asks for a code from the app.
    page.get_by_role("button", name="Sign out").click()
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Email address").fill("ade.adeyemi@kent.example")
    page.get_by_label("Password").fill("a-long-new-password-for-ade")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("h1:has-text('Enter the code from your authenticator app')")
    page.get_by_role("button", name="Continue").click()
    assert "Enter the code" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    device = TOTPDevice.objects.get(user__username="ade.adeyemi@kent.example")
    # The code of the device's next step, by its own clock: django-otp keeps the drift it
    # found at enrolment (-1 when the enrolment code was checked just after its step ended),
    # and would refuse the machine's next step then (two steps ahead of the device's).
    later = pyotp.TOTP(base64.b32encode(device.bin_key).decode()).at(
        time.time() + device.step * (device.drift + 1)
    )
    page.get_by_label("Enter the code from your authenticator app").fill(later)
    page.get_by_role("button", name="Continue").click()
    wait_for_landing(page)
    page.goto(link)
    assert "This link no longer works" in page.locator("main").inner_text()
    assert_accessible(page)
