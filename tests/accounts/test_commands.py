"""Operator commands: load_local_authorities, create_user, seed_demo."""

import csv
import io
import re

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Organisation, Role, User
from accounts.services import LOCAL_AUTHORITIES_CSV

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_load_local_authorities_creates_the_153_and_is_idempotent():
    first = run("load_local_authorities")
    assert "153 created, 0 updated, 0 unchanged" in first
    assert Organisation.objects.filter(kind="local_authority").count() == 153
    assert Organisation.objects.get(ons_code="E09000033").name == "Westminster"
    second = run("load_local_authorities")
    assert "0 created, 0 updated, 153 unchanged" in second
    assert Organisation.objects.count() == 153


def test_load_local_authorities_renames_by_ons_code():
    run("load_local_authorities")
    Organisation.objects.filter(ons_code="E06000001").update(name="Old name")
    assert "0 created, 1 updated, 152 unchanged" in run("load_local_authorities")
    assert Organisation.objects.get(ons_code="E06000001").name == "Hartlepool"


def test_fixture_lists_valid_unique_english_upper_tier_codes():
    with LOCAL_AUTHORITIES_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    codes = [row["ons_code"] for row in rows]
    assert len(rows) == 153
    assert len(set(codes)) == 153
    assert all(re.fullmatch(r"E(06|08|09|10)\d{6}", code) for code in codes)
    by_prefix = {
        prefix: sum(c.startswith(prefix) for c in codes) for prefix in ("E06", "E08", "E09", "E10")
    }
    assert by_prefix == {"E06": 63, "E08": 36, "E09": 33, "E10": 21}


def test_create_user_with_password_from_the_environment(monkeypatch):
    run("load_local_authorities")
    monkeypatch.setenv("SIGNPOSTING_NEW_PASSWORD", "a-strong-bootstrap-password")
    out = run(
        "create_user",
        "Admin@Westminster.example",
        "--role",
        "la_admin",
        "--organisation",
        "E09000033",
    )
    assert "Created admin@westminster.example" in out
    user = User.objects.get(username="admin@westminster.example")
    assert user.role == Role.LA_ADMIN
    assert user.organisation.ons_code == "E09000033"
    assert user.check_password("a-strong-bootstrap-password")


def test_create_user_refuses_a_weak_password(monkeypatch):
    run("load_local_authorities")
    monkeypatch.setenv("SIGNPOSTING_NEW_PASSWORD", "short")
    with pytest.raises(CommandError, match="too short"):
        run("create_user", "a@example.org", "--role", "practitioner", "--organisation", "E09000033")
    assert not User.objects.exists()


def test_create_user_refuses_an_unknown_organisation(monkeypatch):
    monkeypatch.setenv("SIGNPOSTING_NEW_PASSWORD", "a-strong-bootstrap-password")
    with pytest.raises(CommandError, match="No organisation with ONS code"):
        run("create_user", "a@example.org", "--role", "practitioner", "--organisation", "E09000099")


def test_create_user_refuses_a_taken_email(monkeypatch):
    run("load_local_authorities")
    monkeypatch.setenv("SIGNPOSTING_NEW_PASSWORD", "a-strong-bootstrap-password")
    run("create_user", "a@example.org", "--role", "practitioner", "--organisation", "E09000033")
    with pytest.raises(CommandError, match="already exists"):
        run("create_user", "A@example.org", "--role", "auditor", "--organisation", "E09000033")


def test_create_user_refuses_an_unknown_role():
    with pytest.raises(CommandError):
        run("create_user", "a@example.org", "--role", "superhero", "--organisation", "E09000033")


def test_seed_demo_refuses_outside_demo_mode(settings):
    settings.DEMO = False
    settings.DEBUG = False
    with pytest.raises(CommandError, match="SIGNPOSTING_DEMO"):
        run("seed_demo")
    assert not User.objects.exists()


def test_seed_demo_creates_one_user_per_role_per_area_and_reuses_them(settings):
    settings.DEMO = True
    out = run("seed_demo", "--seed", "7")
    assert User.objects.count() == 3 * len(Role)
    for role in Role:
        assert User.objects.filter(role=role).count() == 3
    assert "practitioner@westminster.demo.example" in out
    assert Organisation.objects.filter(kind="partner_agency").count() == 9
    names = sorted(User.objects.values_list("first_name", "last_name"))
    run("seed_demo", "--seed", "7")
    assert User.objects.count() == 3 * len(Role)
    assert sorted(User.objects.values_list("first_name", "last_name")) == names


def test_seed_demo_is_deterministic_for_a_seed(settings, django_db_blocker):
    settings.DEMO = True
    run("seed_demo", "--seed", "11")
    first = sorted(User.objects.values_list("username", "first_name", "last_name"))
    User.objects.all().delete()
    run("seed_demo", "--seed", "11")
    assert sorted(User.objects.values_list("username", "first_name", "last_name")) == first
