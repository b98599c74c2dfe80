"""An auditor opens a child's access report, its printable version and a practitioner's activity
report, follows the links between them, and every page passes axe."""

import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.test import RequestFactory
from django.utils import timezone

import audit.services
from accounts.models import Role
from audit.services import record
from children.identifiers import new_public_id
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import PASSWORD, make_area, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# Screenshots to look at after a run (in /tmp/shots on Linux).
SHOTS = Path(tempfile.gettempdir()) / "shots"


def as_user(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


@pytest.fixture
def trail(settings):
    """A practitioner's fortnight of lookups about two children. The trail outlives each
    test (the audit tables refuse to be emptied), so every name and id here is new."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    tag = uuid.uuid4().hex[:8]
    auditor = make_user(role=Role.AUDITOR, email=f"auditor-{tag}@example.org")
    area = make_area(name=f"Northshire {tag}")
    pat = make_user(email=f"pat-{tag}@example.org", organisation=area)
    child, sibling = new_public_id(), new_public_id()
    now = timezone.now()
    for days_ago in reversed(range(14)):  # oldest first, as the trail was written
        when = now - timedelta(days=days_ago, hours=1)
        with mock.patch.object(audit.services.timezone, "now", return_value=when):
            for _ in range(days_ago % 4):
                record(request=as_user(pat), action="search", children=[child, sibling])
            if days_ago % 3 == 0:
                record(
                    request=as_user(pat),
                    action="record_view",
                    children=[child],
                    reason_code="assessment",
                    reason_text="Initial assessment visit",
                )
            if days_ago == 5:
                record(
                    request=as_user(pat),
                    action="access_denied",
                    children=[sibling],
                    outcome="denied",
                    detail={"why": "not_in_search_results"},
                )
    return {"auditor": auditor, "practitioner": pat, "child": child}


def test_an_auditor_reads_a_childs_access_and_a_practitioners_activity(page, trail):
    SHOTS.mkdir(parents=True, exist_ok=True)
    child, pat = trail["child"], trail["practitioner"]
    sign_in(page, trail["auditor"].username, PASSWORD)

    page.goto(f"{page.base_url}/audit/children/{child}/")
    page.wait_for_selector(f"h1:has-text('Child {child}')")
    rows = page.locator("tbody tr")
    assert "Record view" in rows.first.inner_text()
    assert "Record held" not in page.content()  # an id the register never held
    assert_accessible(page)
    page.screenshot(path=str(SHOTS / "child-access.png"), full_page=True)

    page.get_by_role("link", name="Printable report").click()
    page.wait_for_selector(f"h1:has-text('Record of access to child {child}')")
    assert trail["auditor"].username in page.locator(".govuk-summary-list").inner_text()
    assert_accessible(page)
    page.screenshot(path=str(SHOTS / "child-access-print.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.get_by_role("link", name="Back to the report on screen").is_visible()
    page.screenshot(path=str(SHOTS / "child-access-printed.png"), full_page=True)
    page.emulate_media(media="screen")

    page.goto(f"{page.base_url}/audit/users/{pat.pk}/")
    page.wait_for_selector(f"h1:has-text('{pat.get_full_name()}')")
    chart = page.get_by_role("img", name="Lookups per day")
    assert chart.is_visible()
    assert page.locator("svg .app-chart__bar").count() == 30
    assert_accessible(page)
    page.screenshot(path=str(SHOTS / "user-activity.png"), full_page=True)
    chart.screenshot(path=str(SHOTS / "user-activity-chart.png"))

    # A bad range: the error summary, and the page still passes axe.
    for group, day in (("From", "2"), ("To", "1")):
        boxes = page.get_by_role("group", name=group, exact=True)
        boxes.get_by_label("Day").fill(day)
        boxes.get_by_label("Month").fill("5")
        boxes.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Show activity").click()
    summary = page.locator(".govuk-error-summary")
    assert "must be the same as or after" in summary.inner_text()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    # From an event to the child's own report.
    page.goto(f"{page.base_url}/audit/users/{pat.pk}/")
    page.get_by_role("link", name=child).first.click()
    page.wait_for_selector(f"h1:has-text('Child {child}')")
