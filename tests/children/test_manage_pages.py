"""Data managers keep their area's records right; LA admins shield. Check answers, then save."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from audit.models import Action
from children.models import Address, Child, Involvement, Name, Service
from children.search import find_children
from children.services import InvolvementDetails, involvement_add
from tests.audit.helpers import events, events_about, last_event
from tests.factories import make_area, make_child, make_partner, make_user

pytestmark = pytest.mark.django_db

DOB = date(2016, 4, 5)


@pytest.fixture
def area():
    return make_area(name="Northshire")


@pytest.fixture
def manager(client, area):
    user = make_user(role=Role.DATA_MANAGER, organisation=area)
    client.force_login(user)
    return user


def date_parts(prefix: str, value: date) -> dict[str, str]:
    return {
        f"{prefix}_day": str(value.day),
        f"{prefix}_month": str(value.month),
        f"{prefix}_year": str(value.year),
    }


def child_form(area, **overrides) -> dict[str, str]:
    data = {
        "given_names": "Tomasz",
        "family_name": "Kowalczyk",
        **date_parts("date_of_birth", DOB),
        "sex": "male",
        "nhs_number": "",
        "line_1": "4 Mill Lane",
        "postcode": "NE1 4XF",
        "local_authority": str(area.pk),
        **date_parts("moved_in_on", date(2021, 2, 1)),
        "service": str(Service.objects.get(code="early_help").pk),
        "organisation": str(area.pk),
        "practitioner_name": "Priya Shah",
        "practitioner_job_title": "Family support worker",
        "practitioner_phone": "0191 496 0001",
        "practitioner_email": "priya.shah@northshire.example",
        **date_parts("started_on", date(2026, 9, 1)),
        "lead_professional": "yes",
    }
    data.update(overrides)
    return data


def manage_url(child, suffix="") -> str:
    return f"/manage/children/{child.public_id}/{suffix}"


# --- Adding a child -----------------------------------------------------------------------


def test_adding_a_child_checks_answers_before_saving(client, manager, area):
    assert client.get("/manage/children/new/").status_code == 200
    data = child_form(area)
    check = client.post("/manage/children/new/", data)
    html = check.content.decode()
    assert "Check your answers" in html and "Tomasz Kowalczyk" in html
    assert not Child.objects.exists()
    saved = client.post("/manage/children/new/", {**data, "confirm": "1"})
    child = Child.objects.get()
    assert saved.status_code == 302 and saved["Location"].startswith(manage_url(child))
    involvement = child.involvements.get()
    assert involvement.lead_professional and involvement.practitioner_phone == "0191 496 0001"
    assert child.addresses.get().local_authority == area
    assert last_event().action in (Action.RECORD_CREATE, Action.RECORD_CHANGE)
    assert events_about(child.public_id).filter(action=Action.RECORD_CREATE).exists()
    assert find_children(family_name="Kowalczyk", date_of_birth=DOB).child_ids == [child.pk]


def test_change_your_answers_goes_back_to_the_form_filled_in(client, manager, area):
    response = client.post("/manage/children/new/", {**child_form(area), "edit": "1"})
    html = response.content.decode()
    assert "Add a child" in html and 'value="Kowalczyk"' in html
    assert not Child.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"family_name": ""}, "Enter the family name"),
        ({"family_name": "123"}, "must contain letters"),
        ({"date_of_birth_month": "13"}, "The date of birth must be a real date"),
        ({"date_of_birth_year": ""}, "The date of birth must include a year"),
        ({"date_of_birth_year": "2000"}, "The child must be under 18"),
        ({"postcode": "NOT A CODE"}, "Enter a real postcode"),
        ({"nhs_number": "1234567890"}, "NHS number"),
        ({"organisation": "999999"}, "Choose an organisation of your area"),
        (
            {"started_on_day": "", "started_on_month": "", "started_on_year": ""},
            "Enter the start date",
        ),
    ],
)
def test_bad_answers_get_an_error_summary_and_nothing_is_saved(
    client, manager, area, overrides, message
):
    response = client.post(
        "/manage/children/new/", {**child_form(area, **overrides), "confirm": "1"}
    )
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert message in html
    assert not Child.objects.exists()


def test_a_probable_duplicate_is_shown_before_saving(client, manager, area):
    existing = make_child(
        area=area, given_names="Tomas", family_name="Kowalczyk", date_of_birth=DOB
    )
    html = client.post("/manage/children/new/", child_form(area)).content.decode()
    assert "This child may already be on the register" in html
    assert existing.public_id in html
    assert "Save as a different child" in html
    # The match leads to that record (the check was a recorded search: it opens from there).
    assert f'href="/children/{existing.public_id}/"' in html


def test_an_organisation_outside_the_area_cannot_be_chosen(client, manager, area):
    elsewhere = make_area()
    response = client.post(
        "/manage/children/new/",
        {**child_form(area, organisation=str(elsewhere.pk)), "confirm": "1"},
    )
    assert "Choose an organisation of your area" in response.content.decode()


# --- Managing a record ----------------------------------------------------------------------


@pytest.fixture
def child(area):
    return make_child(
        area=area,
        given_names="Lena",
        family_name="Novak",
        date_of_birth=DOB,
        lead_professional=True,
    )


def test_the_manage_page_is_audited_and_scoped_to_the_area(client, manager, child):
    response = client.get(manage_url(child))
    assert response.status_code == 200
    assert "Lena Novak" in response.content.decode()
    assert last_event().action == Action.MANAGE_VIEW
    other = make_child(area=make_area(), given_names="Ola", family_name="Elsewhere")
    assert client.get(manage_url(other)).status_code == 404
    assert client.get(manage_url(other, "move/")).status_code == 404
    denied = events_about(other.public_id).filter(action=Action.ACCESS_DENIED)
    assert denied.count() == 2


def test_practitioners_cannot_manage(client, area, child):
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    assert client.get(manage_url(child)).status_code == 403


def test_a_new_lead_professional_takes_over(client, manager, area, child):
    partner = make_partner(area=area, name="Northshire Schools")
    data = {
        "service": str(Service.objects.get(code="education").pk),
        "organisation": str(partner.pk),
        "practitioner_name": "Sam Teacher",
        "practitioner_phone": "020 7946 0003",
        **date_parts("started_on", date(2026, 9, 2)),
        "lead_professional": "yes",
    }
    assert (
        "Check your answers"
        in client.post(manage_url(child, "involvements/new/"), data).content.decode()
    )
    client.post(manage_url(child, "involvements/new/"), {**data, "confirm": "1"})
    leads = Involvement.objects.filter(child=child, lead_professional=True, ended_on__isnull=True)
    assert [lead.practitioner_name for lead in leads] == ["Sam Teacher"]
    # And back again, from the manage page's "Make lead".
    first = child.involvements.get(practitioner_name="Pat Practitioner")
    client.post(manage_url(child, f"involvements/{first.pk}/lead/"), {"confirm": "1"})
    leads = Involvement.objects.filter(child=child, lead_professional=True, ended_on__isnull=True)
    assert [lead.practitioner_name for lead in leads] == ["Pat Practitioner"]


def test_closing_an_involvement_checks_the_end_date(client, manager, child):
    involvement = child.involvements.get()
    url = manage_url(child, f"involvements/{involvement.pk}/close/")
    early = client.post(url, {**date_parts("ended_on", date(2023, 1, 1)), "confirm": "1"})
    assert "on or after the start date" in early.content.decode()
    client.post(url, {**date_parts("ended_on", date(2026, 10, 1)), "confirm": "1"})
    involvement.refresh_from_db()
    assert involvement.ended_on == date(2026, 10, 1)
    assert client.get(url).status_code == 404  # closed: nothing left to close


def test_a_move_to_another_area_shows_the_child_to_that_areas_data_managers(
    client, manager, area, child
):
    southshire = make_area(name="Southshire")
    newcomer = make_user(role=Role.DATA_MANAGER, organisation=southshire)
    client.force_login(newcomer)
    assert client.get(manage_url(child)).status_code == 404
    client.force_login(manager)
    data = {
        "line_1": "9 Harbour Road",
        "postcode": "SO14 2AA",
        "local_authority": str(southshire.pk),
        **date_parts("moved_in_on", date(2026, 10, 1)),
    }
    client.post(manage_url(child, "move/"), {**data, "confirm": "1"})
    addresses = list(child.addresses.order_by("moved_in_on"))
    assert [a.local_authority for a in addresses] == [area, southshire]
    assert addresses[0].moved_out_on == date(2026, 10, 1) and addresses[1].moved_out_on is None
    assert child.involvements.count() == 1  # every involvement stays on the record
    client.force_login(newcomer)
    page = client.get(manage_url(child)).content.decode()
    assert "Lena Novak" in page and "Northshire" in page and "Southshire" in page


def test_a_move_before_the_current_address_began_is_refused(client, manager, child):
    data = {
        "line_1": "9 Harbour Road",
        "postcode": "SO14 2AA",
        "local_authority": str(child.addresses.get().local_authority_id),
        **date_parts("moved_in_on", date(2019, 1, 1)),
        "confirm": "1",
    }
    response = client.post(manage_url(child, "move/"), data)
    assert "after the child moved into the current address" in response.content.decode()
    assert child.addresses.count() == 1


def test_a_new_name_keeps_the_old_one_for_searches(client, manager, child):
    data = {
        "given_names": "Lena",
        "family_name": "Novak-Reyes",
        **date_parts("since", date(2026, 6, 1)),
    }
    client.post(manage_url(child, "name/"), {**data, "confirm": "1"})
    kinds = dict(Name.objects.filter(child=child).values_list("family_name", "kind"))
    assert kinds == {"Novak-Reyes": "current", "Novak": "previous"}
    assert find_children(family_name="Novak", date_of_birth=DOB).child_ids == [child.pk]
    assert find_children(family_name="Novak Reyes", date_of_birth=DOB).child_ids == [child.pk]
    same = client.post(manage_url(child, "name/"), {**data, "confirm": "1"})
    assert "already the child" in same.content.decode()


# --- Shielding ------------------------------------------------------------------------------


def test_only_la_admins_shield_with_a_reason_and_practitioners_then_see_restricted(
    client, area, child
):
    client.force_login(make_user(role=Role.DATA_MANAGER, organisation=area))
    assert client.get("/manage/shielding/").status_code == 403
    admin = make_user(role=Role.LA_ADMIN, organisation=area)
    client.force_login(admin)
    no_reason = client.post(
        "/manage/shielding/", {"public_id": child.public_id, "action": "shield", "confirm": "1"}
    )
    assert "Enter the reason" in no_reason.content.decode()
    data = {"public_id": child.public_id, "action": "shield", "reason": "Risk from a parent"}
    assert "Check your answers" in client.post("/manage/shielding/", data).content.decode()
    client.post("/manage/shielding/", {**data, "confirm": "1"})
    child.refresh_from_db()
    assert child.shielded and child.shielded_by == area
    assert last_event().reason_text == "Risk from a parent"
    client.force_login(make_user(role=Role.PRACTITIONER, organisation=area))
    html = client.post(
        "/search/", {"family_name": "Novak", "dob_day": "5", "dob_month": "4", "dob_year": "2016"}
    ).content.decode()
    assert "Restricted record" in html and "Lena" not in html


def test_another_areas_admin_cannot_shield_or_unshield(client, area, child):
    client.force_login(make_user(role=Role.LA_ADMIN, organisation=make_area()))
    response = client.post(
        "/manage/shielding/",
        {"public_id": child.public_id, "action": "shield", "reason": "x", "confirm": "1"},
    )
    assert "There is no record with this public ID" in response.content.decode()
    child.refresh_from_db()
    assert not child.shielded
    assert events_about(child.public_id).filter(action=Action.ACCESS_DENIED).exists()


def test_unshielding_lifts_the_restriction(client, area, child):
    admin = make_user(role=Role.LA_ADMIN, organisation=area)
    client.force_login(admin)
    client.post(
        "/manage/shielding/",
        {"public_id": child.public_id, "action": "shield", "reason": "Risk", "confirm": "1"},
    )
    client.post(
        "/manage/shielding/",
        {"public_id": child.public_id, "action": "unshield", "reason": "Risk over", "confirm": "1"},
    )
    child.refresh_from_db()
    assert not child.shielded and child.shielded_by is None


# --- Anything at all --------------------------------------------------------------------------

FIELDS = [
    "given_names",
    "family_name",
    "date_of_birth_day",
    "date_of_birth_month",
    "date_of_birth_year",
    "sex",
    "nhs_number",
    "line_1",
    "postcode",
    "local_authority",
    "moved_in_on_day",
    "service",
    "organisation",
    "practitioner_email",
    "started_on_year",
    "lead_professional",
]
values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "31", "13", "2016", "yes", "no", "male", "1", "\x00", "ǅ" * 300]),
    st.integers(min_value=-10, max_value=10**12).map(str),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.dictionaries(st.sampled_from(FIELDS), values, max_size=12))
def test_any_answers_never_fail_and_never_half_write(client, manager, area, data):
    before = (Child.objects.count(), Name.objects.count(), Address.objects.count())
    response = client.post("/manage/children/new/", {**child_form(area), **data, "confirm": "1"})
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert "govuk-error-summary" in response.content.decode()
        assert (Child.objects.count(), Name.objects.count(), Address.objects.count()) == before
    else:
        assert Child.objects.count() == before[0] + 1
        Child.objects.all().delete()  # the next example starts from the same register


def test_a_sensitive_service_stays_masked_on_the_manage_page(client, manager, area, child):
    clinic = make_partner(area=area, name="Northshire Sexual Health")
    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="sexual_health"),
            organisation=clinic,
            started_on=date(2026, 5, 1),
            practitioner_name="Hidden Clinician",
        ),
    )
    sensitive = child.involvements.get(service__code="sexual_health")
    html = client.get(manage_url(child)).content.decode()
    assert "A sensitive service is involved" in html
    assert "Hidden Clinician" not in html and "Sexual Health" not in html
    assert f"involvements/{sensitive.pk}/close/" not in html


def test_changes_land_in_the_change_history_too(client, manager, area, child):
    from audit.models import ChangeRecord

    partner = make_partner(area=area)
    involvement_add(
        child=child,
        details=InvolvementDetails(
            service=Service.objects.get(code="gp"),
            organisation=partner,
            started_on=date(2026, 1, 1),
            practitioner_name="Dr Grace Hopper",
            practitioner_email="grace.hopper@nhs.example",
        ),
    )
    gp = child.involvements.get(service__code="gp")
    before = ChangeRecord.objects.filter(content_type__model="involvement").count()
    client.post(manage_url(child, f"involvements/{gp.pk}/lead/"), {"confirm": "1"})
    changed = ChangeRecord.objects.filter(content_type__model="involvement").count() - before
    assert changed == 2  # the old lead stepped down, the new one took over
    assert ChangeRecord.objects.filter(actor_id=manager.pk).exists()


def _register_state(child) -> tuple:
    child.refresh_from_db()
    return (
        child.shielded,
        tuple(child.names.order_by("pk").values_list("kind", "given_names", "family_name")),
        tuple(child.addresses.order_by("pk").values_list("postcode", "moved_out_on")),
        tuple(child.involvements.order_by("pk").values_list("ended_on", "lead_professional")),
        child.involvements.count(),
    )


PAGE_FIELDS = {
    "involvements/new/": ["service", "organisation", "started_on_day", "lead_professional"],
    "move/": ["line_1", "postcode", "local_authority", "moved_in_on_day", "moved_in_on_year"],
    "name/": ["given_names", "family_name", "since_day", "since_month", "since_year"],
}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    page=st.sampled_from(sorted(PAGE_FIELDS)),
    data=st.dictionaries(
        st.sampled_from(sorted({f for fields in PAGE_FIELDS.values() for f in fields})),
        values,
        max_size=8,
    ),
)
def test_any_values_on_the_record_forms_never_fail_and_never_half_write(
    client, manager, child, page, data
):
    before = _register_state(child)
    response = client.post(manage_url(child, page), {**data, "confirm": "1"})
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert "govuk-error-summary" in response.content.decode()
        assert _register_state(child) == before


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.dictionaries(st.sampled_from(["public_id", "action", "reason"]), values, max_size=3))
def test_any_values_on_the_shielding_form_never_fail(client, area, child, data):
    client.force_login(make_user(role=Role.LA_ADMIN, organisation=area))
    before = _register_state(child)
    response = client.post("/manage/shielding/", {**data, "confirm": "1"})
    assert response.status_code == 200
    assert "govuk-error-summary" in response.content.decode()
    assert _register_state(child) == before


def test_showing_probable_duplicates_is_recorded_as_a_search(client, manager, area):
    existing = make_child(
        area=area, given_names="Tomas", family_name="Kowalczyk", date_of_birth=DOB
    )
    client.post("/manage/children/new/", child_form(area))
    event = last_event()
    assert (event.action, event.children) == (Action.SEARCH, [existing.public_id])
    assert event.detail == {"page": "add_child"}
    assert event.criteria["family_name"] == "Kowalczyk"


def test_the_check_is_a_search_even_when_it_finds_no_one(client, manager, area):
    before = events().count()
    client.post("/manage/children/new/", child_form(area))
    assert events().count() == before + 1
    event = last_event()
    assert (event.action, event.children, event.result_count) == (Action.SEARCH, [], 0)


def test_shielding_says_it_is_done(client, area, child):
    client.force_login(make_user(role=Role.LA_ADMIN, organisation=area))
    response = client.post(
        "/manage/shielding/",
        {"public_id": child.public_id, "action": "shield", "reason": "Risk", "confirm": "1"},
        follow=True,
    )
    assert "The record is now restricted" in response.content.decode()
