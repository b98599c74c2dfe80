"""The misuse rules: each fires when it should and stays silent when it should not."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction
from django.utils import timezone

import audit.oversight.flags
from accounts.models import Role
from audit.models import Action, Flag, FlagOutcome, Rule
from audit.services import AuditWriteError, record
from children.models import Address, Name, NameKind
from tests.audit.helpers import events
from tests.factories import make_area, make_child, make_partner, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def always_working_hours(settings):
    # Tests run at any hour (and on any day): only the out-of-hours tests set real working
    # hours and the bank holidays.
    settings.FLAG_WORKING_HOURS = (0, 24)
    settings.FLAG_WORKING_DAYS = (0, 1, 2, 3, 4, 5, 6)
    settings.FLAG_BANK_HOLIDAYS = False


@pytest.fixture
def home():
    return make_area(name="Homeshire")


@pytest.fixture
def elsewhere():
    return make_area(name="Farshire")


@pytest.fixture
def viewer(home):
    return make_user(role=Role.PRACTITIONER, organisation=home)


def view(user, child, **extra):
    return record(
        request=None,
        actor=user,
        action=Action.RECORD_VIEW,
        children=[child],
        reason_code="assessment",
        **extra,
    )


def search(user, children=()):
    return record(
        request=None,
        actor=user,
        action=Action.SEARCH,
        children=children,
        criteria={"family_name": "x"},
        result_count=len(children),
    )


def at(monkeypatch, moment: datetime) -> None:
    """Every event recorded from now on happens at `moment` (local time)."""
    aware = timezone.make_aware(moment)
    monkeypatch.setattr(timezone, "now", lambda: aware)


def rules_raised() -> list[str]:
    return sorted(Flag.objects.values_list("rule", flat=True))


# --- 2. Out of area ----------------------------------------------------------------------


def test_viewing_a_child_with_no_link_to_the_viewers_area_is_flagged(viewer, home, elsewhere):
    child = make_child(area=elsewhere)
    event = view(viewer, child)
    flag = Flag.objects.get()
    assert flag.rule == Rule.OUT_OF_AREA
    assert flag.child_public_id == child.public_id
    assert flag.event_sequence == event.sequence
    assert flag.actor_id == viewer.pk
    assert flag.actor_username == viewer.username
    assert flag.area_code == home.ons_code


def test_a_child_who_lives_in_the_viewers_area_is_not_out_of_area(viewer, home):
    view(viewer, make_child(area=home))
    assert rules_raised() == []


def test_a_child_who_once_lived_in_the_viewers_area_is_not_out_of_area(viewer, home, elsewhere):
    child = make_child(area=elsewhere)
    Address.objects.create(
        child=child,
        line_1="2 Old Road",
        postcode="SW1A 2AA",
        local_authority=home,
        moved_in_on=date(2016, 1, 1),
        moved_out_on=date(2019, 12, 31),
    )
    view(viewer, child)
    assert rules_raised() == []


def test_a_child_the_viewers_organisation_works_with_is_not_out_of_area(home, elsewhere):
    hospital = make_partner(area=home, name="Homeshire Hospital")
    nurse = make_user(role=Role.PRACTITIONER, organisation=hospital)
    child = make_child(area=elsewhere, organisation=hospital, service_code="school_nursing")
    view(nurse, child)
    assert rules_raised() == []


def test_a_partner_agencys_area_is_its_local_authoritys(home, elsewhere):
    clinic = make_partner(area=home)
    nurse = make_user(role=Role.PRACTITIONER, organisation=clinic)
    view(nurse, make_child(area=home))
    assert rules_raised() == []
    view(nurse, make_child(area=elsewhere, given_names="Zara"))
    assert Flag.objects.get().area_code == home.ons_code


def test_a_search_that_finds_an_out_of_area_child_is_not_flagged(viewer, elsewhere):
    search(viewer, [make_child(area=elsewhere)])
    assert rules_raised() == []


# --- 3. Restricted -------------------------------------------------------------------------


def test_an_attempt_on_a_shielded_record_is_flagged(viewer, home):
    child = make_child(area=home)
    record(
        request=None,
        actor=viewer,
        action=Action.ACCESS_DENIED,
        children=[child],
        outcome="denied",
        detail={"why": "shielded"},
    )
    flag = Flag.objects.get()
    assert (flag.rule, flag.child_public_id) == (Rule.RESTRICTED, child.public_id)


def test_other_refusals_are_not_restricted_flags(viewer, home):
    record(
        request=None,
        actor=viewer,
        action=Action.ACCESS_DENIED,
        children=[make_child(area=home)],
        outcome="denied",
        detail={"why": "not_in_search_results"},
    )
    assert rules_raised() == []


def test_opening_a_shielded_result_through_the_pages_raises_a_restricted_flag(client, viewer, home):
    child = make_child(area=home, given_names="Keira", family_name="Fitzgerald")
    child.shielded, child.shielded_by, child.shielding_reason = True, home, "Risk of harm"
    child.save()
    client.force_login(viewer)
    client.post(
        "/search/",
        {
            "family_name": "Fitzgerald",
            "given_name": "Keira",
            "dob_day": "2",
            "dob_month": "3",
            "dob_year": "2015",
        },
    )
    response = client.post(f"/children/{child.public_id}/", {"reason": "assessment"})
    assert response.status_code == 403
    assert rules_raised() == [Rule.RESTRICTED]


# --- 4. Personal link ------------------------------------------------------------------------


def test_viewing_a_child_with_the_viewers_family_name_is_flagged(home):
    viewer = make_user(role=Role.PRACTITIONER, organisation=home)
    viewer.last_name = "O'Brien"
    viewer.save()
    child = make_child(area=home, family_name="Smith")
    # Any recorded name counts, spelt with or without the apostrophe or capitals.
    Name.objects.create(
        child=child, kind=NameKind.PREVIOUS, given_names="Amy", family_name="OBRIEN"
    )
    view(viewer, child)
    assert rules_raised() == [Rule.PERSONAL_LINK]


def test_a_different_family_name_is_no_personal_link(home):
    viewer = make_user(role=Role.PRACTITIONER, organisation=home)
    viewer.last_name = "O'Brien"
    viewer.save()
    view(viewer, make_child(area=home, family_name="Brien"))
    assert rules_raised() == []


# --- 5. Out of hours -------------------------------------------------------------------------


@pytest.fixture
def office_hours(settings):
    settings.FLAG_WORKING_HOURS = (8, 18)
    settings.FLAG_WORKING_DAYS = (0, 1, 2, 3, 4)
    settings.FLAG_BANK_HOLIDAYS = True


def test_a_lookup_in_working_hours_is_not_flagged(monkeypatch, office_hours, viewer):
    at(monkeypatch, datetime(2026, 11, 25, 8, 0))  # a Wednesday
    search(viewer)
    at(monkeypatch, datetime(2026, 11, 25, 17, 59))
    search(viewer)
    assert rules_raised() == []


def test_a_lookup_in_the_evening_is_flagged_once_that_day(monkeypatch, office_hours, viewer):
    at(monkeypatch, datetime(2026, 11, 25, 18, 0))
    search(viewer)
    at(monkeypatch, datetime(2026, 11, 25, 22, 30))
    search(viewer)
    flag = Flag.objects.get()
    assert flag.rule == Rule.OUT_OF_HOURS
    assert flag.day == date(2026, 11, 25)
    assert flag.detail == {"first_at": "18:00", "weekday": "Wednesday"}


def test_a_lookup_at_the_weekend_is_flagged(monkeypatch, office_hours, viewer, home):
    at(monkeypatch, datetime(2026, 11, 28, 11, 0))  # a Saturday
    view(viewer, make_child(area=home))
    assert rules_raised() == [Rule.OUT_OF_HOURS]


def test_working_hours_are_local_time(monkeypatch, office_hours, viewer):
    # 07:30 UTC in July is 08:30 in London: working hours.
    moment = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    search(viewer)
    assert rules_raised() == []


@pytest.mark.parametrize(
    "holiday",
    [datetime(2026, 12, 25, 10, 0), datetime(2026, 4, 6, 10, 0)],
    ids=["Christmas Day, a Friday", "Easter Monday"],
)
def test_a_lookup_on_a_bank_holiday_is_flagged_in_working_hours(
    monkeypatch, office_hours, viewer, holiday
):
    at(monkeypatch, holiday)
    search(viewer)
    flag = Flag.objects.get()
    assert flag.rule == Rule.OUT_OF_HOURS
    assert flag.day == holiday.date()
    assert flag.detail["first_at"] == "10:00"


def test_a_lookup_at_ten_on_an_ordinary_weekday_is_not_flagged(monkeypatch, office_hours, viewer):
    at(monkeypatch, datetime(2026, 12, 23, 10, 0))  # the Wednesday before Christmas
    search(viewer)
    assert rules_raised() == []


def test_bank_holidays_can_be_working_days(monkeypatch, office_hours, settings, viewer):
    settings.FLAG_BANK_HOLIDAYS = False  # a service staffed every day of the year
    at(monkeypatch, datetime(2026, 12, 25, 10, 0))
    search(viewer)
    assert rules_raised() == []


def test_bank_holidays_come_from_the_bundled_list_once_per_process(monkeypatch):
    import govuk_bank_holidays.bank_holidays as library

    def no_fetching(*args, **kwargs):
        raise AssertionError("the bank holidays were fetched")

    made = []

    class Counted(library.BankHolidays):
        def __init__(self, *args, **kwargs):
            made.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(library.requests, "get", no_fetching)
    monkeypatch.setattr(audit.oversight.flags, "BankHolidays", Counted)
    audit.oversight.flags.bank_holidays.cache_clear()
    try:
        for _ in range(3):
            holidays = audit.oversight.flags.bank_holidays()
    finally:
        audit.oversight.flags.bank_holidays.cache_clear()
    assert made == [{"use_cached_holidays": True}]
    assert date(2026, 12, 28) in holidays  # Boxing Day's substitute
    assert date(2026, 12, 26) not in holidays  # a Saturday


# --- 1. Volume, as it happens ----------------------------------------------------------------


def test_passing_the_daily_limit_is_flagged_once(settings, viewer):
    settings.FLAG_VOLUME_DAILY_LIMIT = 3
    for _ in range(3):
        search(viewer)
    assert rules_raised() == []
    search(viewer)
    search(viewer)
    flag = Flag.objects.get()
    assert flag.rule == Rule.VOLUME
    assert flag.detail == {"lookups": 4, "limit": 3}
    assert flag.day == timezone.localdate()


def test_yesterdays_lookups_do_not_count_today(monkeypatch, settings, viewer):
    settings.FLAG_VOLUME_DAILY_LIMIT = 3
    at(monkeypatch, datetime(2026, 11, 24, 16, 0))
    for _ in range(3):
        search(viewer)
    at(monkeypatch, datetime(2026, 11, 25, 9, 0))
    search(viewer)
    assert rules_raised() == []


def test_other_actions_do_not_count_as_lookups(settings, viewer):
    settings.FLAG_VOLUME_DAILY_LIMIT = 1
    for _ in range(3):
        record(request=None, actor=viewer, action=Action.SIGN_IN)
    search(viewer)
    assert rules_raised() == []


# --- Day rules: manage.py flag_events ---------------------------------------------------------


def run_flag_events(day: date) -> str:
    out = StringIO()
    call_command("flag_events", day=day.isoformat(), stdout=out)
    return out.getvalue()


DAY = date(2026, 11, 24)


def lookups_on(monkeypatch, user, day: date, *, searches: int, views: int = 0, child=None):
    for n in range(searches):
        at(monkeypatch, datetime.combine(day, datetime.min.time()) + timedelta(hours=9, seconds=n))
        search(user)
    for n in range(views):
        at(monkeypatch, datetime.combine(day, datetime.min.time()) + timedelta(hours=15, seconds=n))
        view(user, child)


@pytest.fixture
def few_rules(settings):
    settings.FLAG_VOLUME_DAILY_LIMIT = 1000
    settings.FLAG_VOLUME_MEDIAN_FACTOR = 3
    settings.FLAG_VOLUME_MIN_LOOKUPS = 20
    settings.FLAG_FISHING_MIN_SEARCHES = 10
    settings.FLAG_FISHING_MAX_VIEW_RATIO = 0.2


def test_many_searches_with_few_views_is_fishing(monkeypatch, few_rules, viewer, home):
    child = make_child(area=home)
    lookups_on(monkeypatch, viewer, DAY, searches=12, views=2, child=child)
    assert "1 new flag" in run_flag_events(DAY)
    flag = Flag.objects.get()
    assert (flag.rule, flag.day, flag.actor_id) == (Rule.FISHING, DAY, viewer.pk)
    assert flag.detail == {"searches": 12, "record_views": 2}
    assert flag.event_sequence is None
    assert flag.area_code == home.ons_code


def test_searches_followed_by_views_are_not_fishing(monkeypatch, few_rules, viewer, home):
    child = make_child(area=home)
    lookups_on(monkeypatch, viewer, DAY, searches=12, views=3, child=child)
    run_flag_events(DAY)
    assert rules_raised() == []


def test_a_few_searches_are_not_fishing(monkeypatch, few_rules, viewer):
    lookups_on(monkeypatch, viewer, DAY, searches=9)
    run_flag_events(DAY)
    assert rules_raised() == []


def test_a_day_far_above_the_users_usual_day_is_flagged(monkeypatch, few_rules, viewer, home):
    child = make_child(area=home)
    for back in (3, 5, 9):
        lookups_on(
            monkeypatch, viewer, DAY - timedelta(days=back), searches=5, views=5, child=child
        )
    lookups_on(monkeypatch, viewer, DAY, searches=16, views=15, child=child)
    run_flag_events(DAY)
    flag = Flag.objects.get()
    assert flag.rule == Rule.VOLUME
    assert flag.detail["lookups"] == 31
    assert flag.detail["median"] == 10.0


def test_a_busy_day_within_the_users_usual_range_is_not_flagged(
    monkeypatch, few_rules, viewer, home
):
    child = make_child(area=home)
    for back in (3, 5, 9):
        lookups_on(
            monkeypatch, viewer, DAY - timedelta(days=back), searches=5, views=5, child=child
        )
    lookups_on(monkeypatch, viewer, DAY, searches=15, views=15, child=child)  # 30 = 3 x 10
    run_flag_events(DAY)
    assert rules_raised() == []


def test_a_small_day_is_never_volume_however_quiet_the_usual_day(
    monkeypatch, few_rules, viewer, home
):
    child = make_child(area=home)
    lookups_on(monkeypatch, viewer, DAY - timedelta(days=2), searches=1, views=1, child=child)
    lookups_on(monkeypatch, viewer, DAY, searches=10, views=9, child=child)  # 19 < 20
    run_flag_events(DAY)
    assert rules_raised() == []


def test_the_daily_limit_applies_in_the_day_rule_too(monkeypatch, few_rules, settings, viewer):
    lookups_on(monkeypatch, viewer, DAY, searches=6)
    settings.FLAG_VOLUME_DAILY_LIMIT = 5  # lowered after the day: the nightly run catches it
    run_flag_events(DAY)
    assert rules_raised() == [Rule.VOLUME]


def test_running_the_day_rules_again_raises_nothing_new(monkeypatch, few_rules, viewer):
    lookups_on(monkeypatch, viewer, DAY, searches=12)
    run_flag_events(DAY)
    assert "0 new flag" in run_flag_events(DAY)
    assert Flag.objects.count() == 1


def test_flag_events_checks_several_days_and_refuses_a_bad_date(monkeypatch, few_rules, viewer):
    lookups_on(monkeypatch, viewer, DAY - timedelta(days=1), searches=12)
    lookups_on(monkeypatch, viewer, DAY, searches=12)
    call_command("flag_events", day=DAY.isoformat(), days=2, stdout=StringIO())
    assert sorted(Flag.objects.values_list("day", flat=True)) == [DAY - timedelta(days=1), DAY]
    with pytest.raises(CommandError):
        call_command("flag_events", day="24/11/2026", stdout=StringIO())


# --- Flags are part of the trail ---------------------------------------------------------------


def test_flags_and_outcomes_cannot_be_changed_or_removed(viewer, elsewhere):
    view(viewer, make_child(area=elsewhere))
    flag = Flag.objects.get()
    outcome = FlagOutcome.objects.create(
        flag=flag,
        outcome="no_concern",
        note="Checked",
        auditor_id=1,
        auditor_username="a@example.org",
        event_sequence=1,
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        Flag.objects.filter(pk=flag.pk).update(detail={})
    with pytest.raises(DatabaseError), transaction.atomic():
        FlagOutcome.objects.filter(pk=outcome.pk).update(note="edited")
    for rows in (Flag.objects.all(), FlagOutcome.objects.all()):
        with pytest.raises(DatabaseError), transaction.atomic():
            rows.delete()


def test_if_a_flag_cannot_be_written_the_lookup_is_not_recorded_either(
    monkeypatch, viewer, elsewhere
):
    child = make_child(area=elsewhere)
    before = events().count()

    def broken(flags):
        raise DatabaseError("disk full")

    monkeypatch.setattr(audit.oversight.flags, "save_flags", broken)
    with pytest.raises(AuditWriteError), transaction.atomic():
        view(viewer, child)
    assert events().count() == before
    assert not Flag.objects.exists()
