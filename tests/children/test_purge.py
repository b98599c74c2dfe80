"""purge_expired deletes records whose retention has ended, auditing each by public id only."""

import io
from datetime import date

import pytest
from django.core.management import call_command
from django.utils import timezone

from children.models import Address, Child, Involvement, Name
from children.services import children_purge_expired, involvement_close
from tests.audit.helpers import events, head_sequence
from tests.factories import make_child

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 25)


def ended_child(ended_on: date, **kwargs):
    child = make_child(started_on=date(2020, 1, 1), **kwargs)
    involvement_close(involvement=child.involvements.get(), ended_on=ended_on)
    child.refresh_from_db()
    return child


def test_a_record_12_months_past_its_last_involvement_is_purged_with_everything_under_it():
    due = ended_child(date(2025, 11, 24), given_names="Purgeable")
    kept = ended_child(date(2025, 11, 25))  # retention ends today: kept until tomorrow
    start = head_sequence()
    result = children_purge_expired(today=TODAY)
    assert result.public_ids == [due.public_id]
    assert not Child.objects.filter(pk=due.pk).exists()
    assert not Name.objects.filter(child_id=due.pk).exists()
    assert not Address.objects.filter(child_id=due.pk).exists()
    assert not Involvement.objects.filter(child_id=due.pk).exists()
    assert Child.objects.filter(pk=kept.pk).exists()
    purge = events().filter(sequence__gt=start).get()
    assert purge.action == "record_purge"
    assert purge.children == [due.public_id]
    assert purge.detail == {"retention_ended_on": "2026-11-24"}
    assert "Purgeable" not in str(purge.__dict__)


def test_an_open_involvement_does_not_keep_a_record_past_18_plus_12_months():
    born = date(2007, 11, 1)  # 18 on 2025-11-01; retention ends 2026-11-01
    child = make_child(date_of_birth=born, started_on=date(2020, 1, 1))
    assert child.retention_ends_on == date(2026, 11, 1)
    assert children_purge_expired(today=TODAY).public_ids == [child.public_id]


def test_a_child_in_services_is_kept():
    child = make_child(started_on=date(2020, 1, 1))
    assert children_purge_expired(today=TODAY).public_ids == []
    assert Child.objects.filter(pk=child.pk).exists()


def test_dry_run_counts_and_deletes_nothing():
    due = ended_child(date(2024, 1, 1))
    start = head_sequence()
    result = children_purge_expired(today=TODAY, dry_run=True)
    assert result.public_ids == [due.public_id]
    assert Child.objects.filter(pk=due.pk).exists()
    assert head_sequence() == start


def test_audit_history_of_a_purged_child_survives_by_public_id():
    due = ended_child(date(2024, 1, 1))
    children_purge_expired(today=TODAY)
    touching = events().filter(child_links__child_public_id=due.public_id)
    assert {e.action for e in touching} >= {"record_create", "record_purge"}


def test_purge_in_batches_audits_every_child():
    children = [ended_child(date(2024, 1, 1)) for _ in range(5)]
    start = head_sequence()
    result = children_purge_expired(today=TODAY, batch_size=2)
    assert sorted(result.public_ids) == sorted(c.public_id for c in children)
    assert events().filter(sequence__gt=start, action="record_purge").count() == 5


def test_the_command_reports_and_dry_runs(monkeypatch):
    ended_child(date(2024, 1, 1))
    monkeypatch.setattr(timezone, "localdate", lambda: TODAY)
    out = io.StringIO()
    call_command("purge_expired", "--dry-run", stdout=out)
    assert "Dry run: 1 child record(s) are due for deletion." in out.getvalue()
    assert Child.objects.count() == 1
    call_command("purge_expired", stdout=out)
    assert "Deleted 1 child record(s)" in out.getvalue()
    assert Child.objects.count() == 0


def test_rows_held_for_review_past_the_retention_period_are_purged_too():
    from datetime import datetime, time

    from audit.models import Action
    from children.models import HeldRow
    from tests.audit.helpers import last_event
    from tests.factories import make_area

    area = make_area()

    def held(ref: str, updated: date) -> HeldRow:
        when = timezone.make_aware(datetime.combine(updated, time(12)))
        return HeldRow.objects.create(
            source="lcs",
            child_ref=ref,
            local_authority=area,
            rows=[{"given_names": "Held", "family_name": "Child"}],
            updated_at=when,
        )

    old = held("C1", date(2025, 11, 24))
    recent = held("C2", date(2025, 11, 26))
    children_purge_expired(today=TODAY)
    assert not HeldRow.objects.filter(pk=old.pk).exists()
    assert HeldRow.objects.filter(pk=recent.pk).exists()
    event = last_event()
    assert (event.action, event.detail["held_rows"]) == (Action.RECORD_PURGE, 1)
    assert "Held" not in str(event.detail)
