"""Notices of record views by people outside a child's services: to the right people only."""

import pytest

from accounts.models import Role
from audit.models import Action, Notice
from audit.services import record
from tests.audit.helpers import last_event
from tests.factories import make_area, make_child, make_partner, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def area():
    return make_area(name="Homeshire")


@pytest.fixture
def lead(area):
    return make_user(role=Role.PRACTITIONER, organisation=area, email="lead@homeshire.example")


@pytest.fixture
def child(area, lead):
    # The register keeps the address as the source sent it: case does not matter.
    return make_child(
        area=area, lead_professional=True, practitioner_email="Lead@Homeshire.example"
    )


def view(user, child, reason="assessment"):
    return record(
        request=None, actor=user, action=Action.RECORD_VIEW, children=[child], reason_code=reason
    )


def test_a_view_from_outside_the_childs_services_tells_the_lead_professional(lead, child):
    outsider = make_user(role=Role.PRACTITIONER, organisation=make_area(name="Farshire"))
    event = view(outsider, child)
    notice = Notice.objects.get()
    assert notice.recipient_id == lead.pk
    assert notice.child_public_id == child.public_id
    assert notice.event_sequence == event.sequence
    assert notice.viewer_name == outsider.get_full_name()
    assert notice.viewer_organisation == "Farshire"
    assert notice.because == "lead_professional"


def test_a_view_by_an_organisation_working_with_the_child_tells_no_one(area, lead, child):
    colleague = make_user(role=Role.PRACTITIONER, organisation=area)
    view(colleague, child)
    assert not Notice.objects.exists()


def test_a_partner_agency_of_the_same_area_is_still_outside_unless_involved(area, lead, child):
    school = make_partner(area=area, name="Homeshire Academy")
    view(make_user(role=Role.PRACTITIONER, organisation=school), child)
    assert Notice.objects.get().recipient_id == lead.pk


def test_the_lead_professional_is_not_told_of_their_own_view(lead, child):
    lead.organisation = make_area(name="Elsewhere")  # moved job, still the named lead
    lead.save()
    view(lead, child)
    assert not Notice.objects.exists()


def test_a_deactivated_lead_professional_is_not_told(lead, child):
    lead.is_active = False
    lead.save()
    view(make_user(role=Role.PRACTITIONER, organisation=make_area()), child)
    assert not Notice.objects.exists()


def test_a_child_with_no_lead_professional_tells_no_one(area):
    child = make_child(area=area, lead_professional=False, practitioner_email="x@example.org")
    make_user(role=Role.PRACTITIONER, organisation=area, email="x@example.org")
    view(make_user(role=Role.PRACTITIONER, organisation=make_area()), child)
    assert not Notice.objects.exists()


def test_a_view_of_a_shielded_record_also_tells_the_shielding_authoritys_admins(area, lead):
    partner = make_partner(area=area)
    child = make_child(
        area=area,
        organisation=partner,
        lead_professional=True,
        practitioner_email=lead.username,
    )
    child.shielded, child.shielded_by, child.shielding_reason = True, area, "Risk"
    child.save()
    admin = make_user(role=Role.LA_ADMIN, organisation=area)
    make_user(role=Role.LA_ADMIN, organisation=make_area())  # another authority's admin
    data_manager = make_user(role=Role.DATA_MANAGER, organisation=area)
    view(data_manager, child)
    told = dict(Notice.objects.values_list("recipient_id", "because"))
    assert told == {admin.pk: "shielding_authority", lead.pk: "lead_professional"}


def test_searches_and_refusals_make_no_notices(lead, child):
    outsider = make_user(role=Role.PRACTITIONER, organisation=make_area())
    record(request=None, actor=outsider, action=Action.SEARCH, children=[child])
    record(request=None, actor=outsider, action=Action.ACCESS_DENIED, children=[child])
    assert not Notice.objects.exists()


# --- The page and the header count ------------------------------------------------------------


def test_the_lead_sees_the_view_and_a_count_that_clears_once_read(client, lead, child):
    outsider = make_user(role=Role.PRACTITIONER, organisation=make_area(name="Farshire"))
    view(outsider, child, reason="child_protection")
    client.force_login(lead)
    home = client.get("/").content.decode()
    assert "Notices <strong" in home and "1<span" in home
    page = client.get("/notices/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Recent views of your children's records" in html
    assert "Amelia Okafor" in html and child.public_id in html
    assert outsider.get_full_name() in html and "Farshire" in html
    assert "Child protection enquiry" in html
    assert "You are the lead professional" in html
    assert ">New</strong>" in html
    # Read now: the count is gone, and the notice is no longer new.
    assert "Notices <strong" not in client.get("/").content.decode()
    assert ">New</strong>" not in client.get("/notices/").content.decode()


def test_reading_notices_is_an_audit_event_naming_the_children(client, lead, child):
    view(make_user(role=Role.PRACTITIONER, organisation=make_area()), child)
    client.force_login(lead)
    client.get("/notices/")
    event = last_event()
    assert (event.action, event.actor_id) == (Action.NOTICE_REVIEW, lead.pk)
    assert event.children == [child.public_id]
    assert event.result_count == 1


def test_nobody_else_sees_the_notice(client, lead, child):
    view(make_user(role=Role.PRACTITIONER, organisation=make_area()), child)
    for other in (
        make_user(role=Role.PRACTITIONER, organisation=lead.organisation),
        make_user(role=Role.DATA_MANAGER, organisation=lead.organisation),
        make_user(role=Role.LA_ADMIN, organisation=lead.organisation),
    ):
        client.force_login(other)
        html = client.get("/notices/").content.decode()
        assert child.public_id not in html
        assert "No one outside" in html


def test_a_purged_childs_notice_says_so_without_a_name(client, lead, child):
    view(make_user(role=Role.PRACTITIONER, organisation=make_area()), child)
    child.delete()
    client.force_login(lead)
    html = client.get("/notices/").content.decode()
    assert "No longer on the register" in html


def test_notices_older_than_the_window_are_not_shown(client, lead, child, settings):
    view(make_user(role=Role.PRACTITIONER, organisation=make_area()), child)
    settings.NOTICE_DAYS = 0
    client.force_login(lead)
    assert child.public_id not in client.get("/notices/").content.decode()
