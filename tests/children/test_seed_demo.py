"""seed_demo's synthetic children: valid, realistic, deterministic and topped up, never doubled."""

import io
import re
from collections import Counter
from datetime import date

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.db.models import Count, Q
from stdnum.gb import nhs

from accounts.models import Organisation
from accounts.services import local_authorities_load
from audit.models import Action
from children import demo
from children.identifiers import is_valid_public_id
from children.models import Address, Child, Involvement, Name, NameKind, SourceRecord
from children.name_pools import name_pools
from children.retention import retention_ends_on
from signposting.management.commands.seed_demo import DEMO_AREAS
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_child

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)
DRAMA_PHONE = re.compile(
    r"^(020 7946 0\d{3}|01(1[3-8]|21|61) 496 0\d{3}|0191 498 0\d{3}|01632 960\d{3}|07700 900\d{3})$"
)


@pytest.fixture(autouse=True)
def _demo_mode(settings):
    settings.DEMO = True


def seed(count: int, *, seed: int = 7, today: date = TODAY) -> demo.SeedResult:
    """The children part of seed_demo, on a fixed day so that dates can be compared."""
    local_authorities_load()
    return demo.children_seed(
        count=count, seed=seed, demo_area_codes=tuple(DEMO_AREAS), today=today
    )


def snapshot() -> list[tuple]:
    """Everything about every child except database ids, in child order."""
    rows = []
    for child in Child.objects.order_by("source_records__source_ref").prefetch_related(
        "names", "addresses__local_authority", "involvements__organisation", "involvements__service"
    ):
        rows.append(
            (
                child.public_id,
                child.nhs_number,
                child.date_of_birth,
                child.sex,
                child.shielded,
                child.retention_ends_on,
                sorted((n.kind, n.given_names, n.family_name) for n in child.names.all()),
                sorted(
                    (a.line_1, a.postcode, a.local_authority.ons_code, a.moved_in_on)
                    for a in child.addresses.all()
                ),
                sorted(
                    (
                        i.service.code,
                        i.organisation.name,
                        i.practitioner_name,
                        i.started_on,
                        i.ended_on or date.max,
                        i.lead_professional,
                    )
                    for i in child.involvements.all()
                ),
            )
        )
    return rows


def test_creates_the_children_asked_for_each_with_an_involvement():
    result = seed(60)
    assert result.created == 60
    assert Child.objects.count() == 60
    assert not Child.objects.filter(involvements__isnull=True).exists()
    assert SourceRecord.objects.filter(source=demo.SOURCE).count() == 60
    assert Child.objects.filter(names__kind=NameKind.CURRENT).distinct().count() == 60
    assert Child.objects.filter(addresses__moved_out_on__isnull=True).distinct().count() == 60
    assert result.involvements == Involvement.objects.count()


def test_every_row_passes_model_validation():
    # Bulk inserts skip full_clean: the generator must make only what the models accept
    # (public id check character, NHS Modulus 11, postcodes, e-mail addresses, lengths).
    seed(60)
    for model in (Child, Name, Address, Involvement, SourceRecord):
        for instance in model.objects.all():
            instance.full_clean()


def test_identifiers_are_valid_and_unique():
    seed(200)
    public_ids = list(Child.objects.values_list("public_id", flat=True))
    assert all(is_valid_public_id(public_id) for public_id in public_ids)
    assert len(set(public_ids)) == 200
    nhs_numbers = [n for n in Child.objects.values_list("nhs_number", flat=True) if n]
    assert len(nhs_numbers) > 150  # most children: about 1 in 11 has none known
    assert len(set(nhs_numbers)) == len(nhs_numbers)
    assert all(nhs.is_valid(n) for n in nhs_numbers)
    # Never a number that could be a real patient's: the 999 test range.
    assert all(n.startswith("999") for n in nhs_numbers)


def test_children_are_under_18_and_dated_in_the_past():
    seed(200)
    eighteen_years_ago = TODAY - relativedelta(years=18)
    for born in Child.objects.values_list("date_of_birth", flat=True):
        assert eighteen_years_ago < born < TODAY
    assert not Involvement.objects.filter(started_on__gte=TODAY).exists()
    assert not Involvement.objects.filter(ended_on__gte=TODAY).exists()
    assert Involvement.objects.filter(ended_on__isnull=False).exists()
    assert Involvement.objects.filter(ended_on__isnull=True).exists()


def test_involvements_suit_the_childs_age():
    seed(200)
    for involvement in Involvement.objects.select_related("service", "child"):
        born = involvement.child.date_of_birth
        age_then = relativedelta(involvement.started_on, born).years
        code = involvement.service.code
        assert involvement.started_on >= born
        if code == "health_visiting":
            assert age_then < 5
        if code in ("sexual_health", "youth_justice", "substance_misuse"):
            assert age_then >= 10


def test_at_most_one_open_lead_professional_per_child():
    seed(200)
    open_leads = Count(
        "involvements", filter=Q(involvements__lead_professional=True, involvements__ended_on=None)
    )
    counts = Counter(Child.objects.annotate(leads=open_leads).values_list("leads", flat=True))
    assert set(counts) <= {0, 1}
    assert counts[1] > 0


def test_retention_follows_the_rule_and_nobody_is_due_for_purge():
    seed(100)
    for child in Child.objects.prefetch_related("involvements"):
        periods = [(i.started_on, i.ended_on) for i in child.involvements.all()]
        expected = retention_ends_on(date_of_birth=child.date_of_birth, involvement_periods=periods)
        assert child.retention_ends_on == expected
        assert child.retention_ends_on > TODAY


def test_some_children_moved_between_demo_areas_with_involvements_in_both():
    seed(60)
    moved = Child.objects.filter(addresses__moved_out_on__isnull=False).distinct()
    assert moved.exists()
    demo_area_ids = set(
        Organisation.objects.filter(ons_code__in=DEMO_AREAS).values_list("pk", flat=True)
    )
    for child in moved:
        before, now = (
            child.addresses.filter(moved_out_on__isnull=False).get(),
            child.addresses.get(moved_out_on__isnull=True),
        )
        assert before.local_authority_id != now.local_authority_id
        assert {before.local_authority_id, now.local_authority_id} <= demo_area_ids
        assert before.moved_out_on <= now.moved_in_on
        areas = {inv.organisation.area_id for inv in child.involvements.all()}
        assert {before.local_authority_id, now.local_authority_id} <= areas
        # What went on before the move happened before it.
        for involvement in child.involvements.filter(
            Q(organisation=before.local_authority)
            | Q(organisation__local_authority=before.local_authority)
        ):
            assert involvement.started_on < before.moved_out_on


def test_some_records_are_shielded_by_the_authority_of_the_current_address():
    seed(60)
    shielded = Child.objects.filter(shielded=True)
    assert shielded.exists()
    assert shielded.count() < 60 * 0.05
    for child in shielded:
        assert child.shielding_reason
        assert child.shielded_by == child.addresses.get(moved_out_on=None).local_authority


def test_organisations_are_the_areas_authority_and_its_partner_agencies():
    seed(60)
    assert Organisation.objects.filter(kind="partner_agency").count() == 9
    for involvement in Involvement.objects.select_related("organisation", "service"):
        organisation = involvement.organisation
        assert organisation.area_id in set(
            Organisation.objects.filter(ons_code__in=DEMO_AREAS).values_list("pk", flat=True)
        )
        if involvement.service.code in ("social_care", "early_help"):
            assert organisation.is_local_authority


def test_practitioner_contacts_are_made_up():
    seed(100)
    for name, phone, email in Involvement.objects.values_list(
        "practitioner_name", "practitioner_phone", "practitioner_email"
    ):
        assert name
        assert DRAMA_PHONE.match(phone), phone
        assert email.endswith(".example"), email


def test_some_children_have_other_names():
    seed(200)
    kinds = Counter(Name.objects.values_list("kind", flat=True))
    assert kinds[NameKind.CURRENT] == 200
    assert kinds[NameKind.PREVIOUS] + kinds[NameKind.ALIAS] + kinds[NameKind.PREFERRED] > 0


def test_names_are_varied_and_not_only_english():
    seed(200)
    current = Name.objects.filter(kind=NameKind.CURRENT)
    family_names = list(current.values_list("family_name", flat=True))
    assert len(set(family_names)) > 100
    every_name = " ".join(family_names + list(current.values_list("given_names", flat=True)))
    assert re.search(r"[^\x00-\x7f]", every_name), "no accented names at all"


def test_name_pools_mix_locales_with_apostrophes_accents_and_hyphens():
    pools = name_pools()
    family = {name for pool in pools.values() for name in pool.family_male + pool.family_female}
    given = {name for pool in pools.values() for name in pool.boys + pool.girls}
    assert len(family) > 3000
    assert len(given) > 2000
    assert any("'" in name for name in family)  # O'Brien
    assert any(re.search(r"[^\x00-\x7f]", name) for name in given)  # Zoë, Łukasz
    assert "Zoë" in given


def test_the_same_seed_gives_the_same_children():
    seed(60, seed=11)
    first = snapshot()
    Child.objects.all().delete()
    seed(60, seed=11)
    assert snapshot() == first


def test_another_seed_gives_other_children():
    seed(30, seed=11)
    first = snapshot()
    Child.objects.all().delete()
    seed(30, seed=12)
    assert snapshot() != first


def test_topping_up_gives_the_children_one_run_would():
    seed(25, seed=5)
    seed(60, seed=5)
    topped_up = snapshot()
    Child.objects.all().delete()
    seed(60, seed=5)
    assert snapshot() == topped_up


def test_running_again_adds_nothing():
    seed(60)
    again = seed(60)
    assert again.created == 0
    assert again.existing == 60
    assert Child.objects.count() == 60
    assert seed(40).created == 0
    assert Child.objects.count() == 60


def test_other_childrens_identifiers_are_not_reused():
    # A child from an import holding what would be a demo child's public id and NHS number.
    seed(10, seed=3)
    public_id, nhs_number = next((row[0], row[1]) for row in snapshot() if row[1])
    Child.objects.all().delete()
    make_child(area=make_area(), nhs_number=nhs_number)
    Child.objects.update(public_id=public_id)
    seed(10, seed=3)
    public_ids = list(Child.objects.values_list("public_id", flat=True))
    assert len(public_ids) == len(set(public_ids)) == 11
    assert all(is_valid_public_id(public_id) for public_id in public_ids)
    assert Child.objects.filter(public_id=public_id).count() == 1
    assert Child.objects.filter(nhs_number=nhs_number).count() == 1


def test_beyond_the_demo_children_spread_over_every_area():
    local_authorities_load()
    demo.children_seed(
        count=demo.DEMO_AREA_CHILDREN + 200,
        seed=1,
        demo_area_codes=tuple(DEMO_AREAS),
        today=TODAY,
    )
    by_area = Counter(
        Address.objects.filter(moved_out_on=None).values_list(
            "local_authority__ons_code", flat=True
        )
    )
    assert len(by_area) > 50
    assert Organisation.objects.filter(kind="partner_agency").count() == 153 * 3
    for involvement in Involvement.objects.select_related("organisation").filter(
        child__source_records__source_ref__gte=f"{demo.DEMO_AREA_CHILDREN:08d}"
    )[:300]:
        involvement.full_clean()


def test_demo_ids_are_a_permutation():
    keys = [11, 22, 33, 44]
    ids = {demo.demo_public_id(number=n, keys=keys) for n in range(20_000)}
    assert len(ids) == 20_000
    assert all(is_valid_public_id(public_id) for public_id in ids)
    numbers = [demo.demo_nhs_number(number=n, offset=5) for n in range(20_000)]
    known = [n for n in numbers if n]
    assert len(known) == len(set(known)) > 17_000
    assert all(nhs.is_valid(n) for n in known)


def test_the_command_prints_a_summary_and_is_quick_the_second_time():
    out = io.StringIO()
    call_command("seed_demo", "--children", "50", "--seed", "3", stdout=out)
    text = out.getvalue()
    assert "added 50" in text
    assert "moved between areas" in text and "shielded" in text
    assert "practitioner@westminster.demo.example" in text
    out = io.StringIO()
    call_command("seed_demo", "--children", "50", "--seed", "3", stdout=out)
    assert "50 already there, none added" in out.getvalue()
    assert Child.objects.count() == 50


def test_the_command_seeds_several_hundred_children_by_default():
    call_command("seed_demo", stdout=io.StringIO())
    assert Child.objects.count() == demo.DEFAULT_CHILDREN >= 300
    per_area = Counter(
        Address.objects.filter(moved_out_on=None).values_list(
            "local_authority__ons_code", flat=True
        )
    )
    assert set(per_area) == set(DEMO_AREAS)


def test_seeding_is_one_audit_event_not_one_per_child():
    before = events().count()
    result = seed(60)
    assert events().count() == before + 1
    event = last_event()
    assert event.action == Action.RECORD_IMPORT
    assert event.children == []
    assert event.detail["children"] == result.created == 60
    assert event.detail["synthetic"] is True
    seed(60)
    assert events().count() == before + 1


def test_each_demo_practitioner_leads_a_few_of_their_areas_children():
    """So that a demo practitioner's notices (views of their children's records) can be tried."""
    call_command("seed_demo", stdout=io.StringIO())
    for slug in DEMO_AREAS.values():
        email = f"practitioner@{slug}.demo.example"
        leads = Involvement.objects.filter(
            practitioner_email=email, lead_professional=True, ended_on=None
        )
        assert leads.count() == 5
        assert len({lead.child_id for lead in leads}) == 5
