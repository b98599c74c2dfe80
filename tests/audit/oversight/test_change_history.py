"""django-auditlog keeps the change history of users and organisations."""

import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Organisation
from audit.models import ChangeRecord
from tests.audit.helpers import head_sequence
from tests.factories import make_area, make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


def test_changes_to_a_user_are_kept_without_the_password(client):
    admin = make_user(superuser=True, email="operator@example.org")
    user = make_user(email="sam@example.org")
    client.force_login(admin)
    user.first_name = "Samira"
    user.set_password("another-long-password-1")
    user.save()
    entries = ChangeRecord.objects.filter(object_pk=str(user.pk)).order_by("timestamp")
    assert [entry.action for entry in entries] == [0, 1]  # create, update
    assert "first_name" in entries[1].changes
    assert "password" not in entries[1].changes
    assert all("password" not in (entry.changes or {}) for entry in entries)


def test_organisation_changes_record_the_actor_and_the_trusted_client_ip(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    operator = make_user(superuser=True, email="operator@example.org")
    area = make_area()
    client.force_login(operator)
    response = client.post(
        f"/django-admin/accounts/organisation/{area.pk}/change/",
        {
            "name": "Renamed Area",
            "kind": "local_authority",
            "ons_code": area.ons_code,
            "safeguarding_contact": "",
        },
        REMOTE_ADDR="192.0.2.5",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert response.status_code == 302
    assert Organisation.objects.get(pk=area.pk).name == "Renamed Area"
    entry = ChangeRecord.objects.filter(object_pk=str(area.pk), action=1).get()
    assert entry.actor_id == operator.pk
    assert entry.remote_addr == "192.0.2.5"


@pytest.mark.django_db(transaction=True)
def test_flush_empties_everything_but_the_audit_trail():
    from audit.services import record

    record(request=None, action="search")
    before = head_sequence()
    make_user()
    call_command("flush", "--no-input", stdout=io.StringIO())
    from accounts.models import User

    assert not User.objects.exists()
    assert head_sequence() == before


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_a_new_user_never_takes_the_id_of_one_the_trail_names():
    from accounts.models import Role
    from audit.selectors import lookups_since
    from audit.services import record

    gone = make_user(role=Role.PRACTITIONER)
    record(request=None, action="search", actor=gone)
    call_command("flush", "--no-input", stdout=io.StringIO())

    newcomer = make_user(role=Role.PRACTITIONER)
    assert newcomer.pk > gone.pk
    # The old user's lookup is not the newcomer's (the hourly limit counts by id).
    since = timezone.now() - timedelta(hours=1)
    assert lookups_since(user_id=newcomer.pk, since=since, limit=60) == 0


def test_ruff_bans_the_audit_model_outside_the_audit_app(tmp_path):
    snippet = "from audit.models import AuditEvent\n\nAuditEvent.objects.create()\n"
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--stdin-filename", "children/views.py", "-"],
        input=snippet,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 1
    assert "TID251" in result.stdout and "audit.services.record" in result.stdout


def test_a_childs_names_keys_and_postcode_stay_out_of_the_change_history():
    from audit.models import ChangeRecord
    from tests.factories import make_child

    make_child(given_names="Zainab", family_name="Okonkwo-Reid")
    history = json.dumps(
        [
            [record.object_repr, record.changes]
            for record in ChangeRecord.objects.filter(content_type__app_label="children")
        ]
    ).lower()
    assert "name" in history  # the records are there
    for secret in ("zainab", "okonkwo", "okonkworeid", "sw1a", "1 test street"):
        assert secret not in history, secret
