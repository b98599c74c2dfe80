"""With e-mail on, an LA admin adds a practitioner: the admin is told the invitation is being
e-mailed (and never sees the link), the outbox sends it through a real SMTP server, the
admin sees it went, and the practitioner sets their password from the e-mail. Every page
passes axe."""

import re
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command

from accounts import outbox
from tests.accounts.test_smtp_delivery import Mailbox, free_port
from tests.browser.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def mailbox(settings, live_server):
    port = free_port()
    settings.EMAIL_ENABLED = True
    settings.SERVICE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command(
        "seed_demo",
        "--allow-outside-demo",
        "--children",
        "0",
        stdout=open("/dev/null", "w"),  # noqa: SIM115
    )
    received = Mailbox()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    yield received
    controller.stop()


def test_an_invitation_is_emailed_and_the_admin_sees_it_went(page, mailbox):
    sign_in(page, "la-admin@kent.demo.example")
    page.goto(page.base_url + "/manage/users/new/")
    page.get_by_label("Work email address").fill("ade.adeyemi@kent.example")
    page.get_by_label("Given name").fill("Ade")
    page.get_by_label("Family name").fill("Adeyemi")
    page.get_by_label("Organisation").select_option(label="Kent")
    page.get_by_label("Practitioner").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("h1:has-text('Invitation sent')")
    main = page.locator("main").inner_text()
    assert "We are e-mailing ade.adeyemi@kent.example" in main
    assert "/accounts/invitation/" not in page.content()
    assert_accessible(page)

    page.get_by_role("link", name="Go to Ade Adeyemi's page").click()
    assert "Waiting to be sent" in page.locator("main").inner_text()
    assert outbox.outbox_send_due().sent == 1
    page.reload()
    emails = page.locator("table", has_text="Invitation")
    assert "Sent" in emails.inner_text()
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "user-emails.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()

    (envelope,) = mailbox.received
    body = message_from_bytes(envelope.content).get_payload(decode=True).decode()
    link = re.search(r"http://\S+/accounts/invitation/\S+/", body).group(0)
    page.goto(link)
    page.wait_for_selector("h1:has-text('Set your password')")
    page.get_by_label("Create a password").fill("a-long-new-password-for-ade")
    page.get_by_label("Type the password again").fill("a-long-new-password-for-ade")
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(lambda url: "/invitation/" not in url)
