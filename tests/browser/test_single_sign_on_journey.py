"""Single sign-on in a real browser, through the test identity provider (tests/oidc_provider);
every page of ours on the way passes axe (the provider's own sign-in page is not ours)."""

import pytest

from accounts.models import Role, SingleSignOn
from tests.browser.conftest import SCREENSHOTS, assert_accessible
from tests.factories import make_area, make_user
from tests.oidc_provider.people import CLIENT_ID, CLIENT_SECRET, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_VARIABLE = "OIDC_CLIENT_SECRET_WESTMINSTER"


@pytest.fixture
def westminster(identity_provider, settings, monkeypatch):
    settings.OIDC_ENABLED = True
    # Two-factor sign-in on, as in production; Westminster trusts its provider's claim.
    settings.REQUIRE_MFA = True
    monkeypatch.setenv(SECRET_VARIABLE, CLIENT_SECRET)
    area = make_area(name="Westminster")
    SingleSignOn.objects.create(
        organisation=area,
        display_name="Westminster City Council account",
        issuer=identity_provider.issuer,
        client_id=CLIENT_ID,
        client_secret_variable=SECRET_VARIABLE,
        allowed_domains="westminster.example",
        trust_mfa_claim=True,
        enabled=True,
    )
    return area


def _through_the_provider(page, email: str, person: str) -> None:
    page.goto(page.base_url + "/accounts/login/")
    assert_accessible(page)
    page.get_by_role("button", name="Sign in with your council account").click()
    page.wait_for_selector("h1:has-text('Sign in with your council account')")
    assert_accessible(page)
    page.get_by_label("Work email address").fill(email)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("h1:has-text('Sign in with your Westminster City Council account')")
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "single-sign-on-continue.png"), full_page=True)
    page.get_by_role("button", name="Continue").click()
    # The provider's own sign-in page.
    page.wait_for_selector("h1:has-text('Test identity provider')")
    page.get_by_label("Username").fill(person)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()


def test_a_practitioner_signs_in_with_their_council_account(page, westminster):
    user = make_user(
        role=Role.PRACTITIONER, organisation=westminster, email="ada@westminster.example"
    )
    _through_the_provider(page, "ada@westminster.example", "ada")
    # The provider said it used more than one factor, and Westminster trusts it.
    page.wait_for_url(page.base_url + "/search/")
    assert user.get_full_name() in page.locator("header").inner_text()
    assert_accessible(page)


def test_a_refused_sign_in_says_why_on_an_accessible_page(page, westminster):
    make_user(role=Role.PRACTITIONER, organisation=westminster, email="una@westminster.example")
    _through_the_provider(page, "una@westminster.example", "una")
    page.wait_for_selector("h1:has-text('Your email address is not verified')")
    assert_accessible(page)
    page.screenshot(path=str(SCREENSHOTS / "single-sign-on-refused.png"), full_page=True)


def test_the_other_single_sign_on_pages_pass_axe(page, westminster, identity_provider):
    page.goto(page.base_url + "/accounts/sso/")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".govuk-error-summary")
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    # A domain two organisations share: which one.
    camden = make_area(name="Camden")
    SingleSignOn.objects.create(
        organisation=camden,
        display_name="Camden account",
        issuer=identity_provider.issuer,
        client_id=CLIENT_ID,
        client_secret_variable=SECRET_VARIABLE,
        allowed_domains="westminster.example",
        enabled=True,
    )
    page.get_by_label("Work email address").fill("ada@westminster.example")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("legend:has-text('Which organisation do you work for?')")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".govuk-error-summary")
    assert_accessible(page)

    # A provider that cannot be reached.
    SingleSignOn.objects.filter(organisation=camden).update(issuer="http://127.0.0.1:9/o")
    page.goto(f"{page.base_url}/accounts/sso/{camden.pk}/start/")
    page.wait_for_selector("h1:has-text('is not working')")
    assert_accessible(page)

    # A callback this browser did not start.
    page.goto(page.base_url + "/accounts/sso/callback/?code=x&state=y")
    page.wait_for_selector("h1:has-text('Signing in did not finish')")
    assert_accessible(page)
