"""The GOV.UK service pages (issue 15, item 16): every page's footer links to help, the
accessibility statement, the privacy notice and the cookies page; each is written for this
service and readable signed out."""

import pytest

from accounts.models import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PAGES = {
    "/help/": ["If a child is at risk now", "local authority admin", "Quote the reference"],
    "/accessibility/": ["version 2.2 AA standard", "Enforcement procedure", "axe-core"],
    "/privacy/": [
        "only of children who have come into children",
        "months after the last service",
        "subject access request",
        "6 years",
    ],
    "/cookies/": ["sessionid", "csrftoken", "does not use analytics"],
}


@pytest.mark.parametrize("url", list(PAGES))
def test_each_page_is_written_for_this_service_and_open_to_all(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for text in PAGES[url]:
        assert text in html, (url, text)


def test_the_privacy_notice_and_cookies_page_follow_the_settings(client, settings):
    settings.RETENTION_MONTHS = 18
    settings.SESSION_COOKIE_AGE = 20 * 60
    assert "deleted 18 months after" in client.get("/privacy/").content.decode()
    assert "after 20 minutes without use" in client.get("/cookies/").content.decode()


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_page_footer_links_to_them(client, signed_in):
    if signed_in:
        client.force_login(make_user(role=Role.PRACTITIONER))
    urls = ("/", "/search/", "/no-such-page/") if signed_in else ("/", "/accounts/login/", "/x/")
    for url in urls:
        html = client.get(url).content.decode()
        for link in PAGES:
            assert f'class="govuk-footer__link" href="{link}"' in html, (url, link)
