"""/metrics: Prometheus's text format, only for the scrape token or an allow-listed address,
with the service's own figures read from the database at each scrape."""

import json
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import Role
from audit.checkpoints import checkpoint_write
from audit.models import Action, Flag, Rule
from audit.services import record
from audit.verify import Checkpoint
from children.services import children_purge_expired, involvement_close
from signposting import db_router
from tests.audit.helpers import seal
from tests.factories import make_area, make_child, make_user

pytestmark = pytest.mark.django_db

TOKEN = "a-scrape-token-of-some-length"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
DOB = date(2014, 6, 21)


@pytest.fixture(autouse=True)
def metrics_on(settings, tmp_path):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, by name and labels."""
    response = client.get("/metrics", **AUTH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def search(client, **criteria):
    data = {"dob_day": str(DOB.day), "dob_month": str(DOB.month), "dob_year": str(DOB.year)}
    data.update(criteria)
    return client.post("/search/", data)


@pytest.fixture
def practitioner(client):
    area = make_area(name="Northshire")
    make_child(area=area, family_name="Fitzgerald", date_of_birth=DOB)
    user = make_user(role=Role.PRACTITIONER, organisation=area)
    client.force_login(user)
    return user


def test_a_search_is_counted_by_action_and_outcome(client, practitioner):
    before = scrape(client)
    assert value(before, "signposting_service_figures_up") == 1
    assert search(client, family_name="Fitzgerald").status_code == 200
    after = scrape(client)
    for window in ("1h", "24h"):
        key = {"action": "search", "outcome": "allowed", "window": window}
        assert (
            value(after, "signposting_lookups", **key)
            == value(before, "signposting_lookups", **key) + 1
        )
    # The search's own append was timed, and its request counted by URL name.
    assert value(after, "signposting_audit_append_seconds_count") > value(
        before, "signposting_audit_append_seconds_count"
    )
    request = {"view": "children:search", "method": "POST", "status": "200"}
    assert (
        value(after, "signposting_http_requests_total", **request)
        == value(before, "signposting_http_requests_total", **request) + 1
    )
    # Once sealed, the chain's head is the newest event, seconds old.
    seal()
    after = scrape(client)
    assert value(after, "signposting_audit_head_sequence") >= 1
    assert 0 <= value(after, "signposting_audit_head_age_seconds") < 60


def test_a_rate_limited_lookup_is_counted(client, practitioner, settings):
    settings.LOOKUPS_PER_HOUR = 1
    search(client, family_name="Fitzgerald")
    assert search(client, family_name="Fitzgerald").status_code == 429
    samples = scrape(client)
    assert value(samples, "signposting_rate_limited_lookups", window="1h") == 1
    assert value(samples, "signposting_rate_limited_lookups", window="24h") == 1


def test_flags_are_counted_open_and_raised(client):
    Flag.objects.create(rule=Rule.OUT_OF_AREA, key="out_of_area:event:1")
    Flag.objects.create(
        rule=Rule.VOLUME, key="volume:user:1:x", raised_at=timezone.now() - timedelta(days=3)
    )
    samples = scrape(client)
    assert value(samples, "signposting_flags", rule="out_of_area", state="open") == 1
    assert value(samples, "signposting_flags", rule="volume", state="open") == 1
    assert value(samples, "signposting_flags_raised", rule="out_of_area", window="1h") == 1
    assert value(samples, "signposting_flags_raised", rule="volume", window="24h") == 0


def test_a_purge_is_counted(client):
    child = make_child(started_on=date(2020, 1, 1))
    involvement_close(involvement=child.involvements.get(), ended_on=date(2020, 6, 1))
    assert value(scrape(client), "signposting_records_purged", window="24h") == 0
    assert children_purge_expired(today=timezone.localdate()).public_ids == [child.public_id]
    samples = scrape(client)
    assert value(samples, "signposting_records_purged", window="1h") == 1
    assert value(samples, "signposting_records_purged", window="24h") == 1


def test_locked_out_usernames_are_counted(client):
    for failures, minutes_ago in ((5, 1), (2, 1), (5, 60 * 24)):
        AccessAttempt.objects.create(
            username=f"user{failures}-{minutes_ago}@example.org",
            ip_address="192.0.2.1",
            user_agent="test",
            attempt_time=timezone.now(),
            failures_since_start=failures,
            get_data="",
            post_data="",
            http_accept="",
            path_info="/accounts/sign-in/",
        )
        # attempt_time is auto_now_add: set it afterwards.
        AccessAttempt.objects.filter(username=f"user{failures}-{minutes_ago}@example.org").update(
            attempt_time=timezone.now() - timedelta(minutes=minutes_ago)
        )
    assert value(scrape(client), "signposting_locked_out") == 1


def test_the_newest_checkpoint_is_shown(client, settings):
    assert ("signposting_audit_checkpoint_age_seconds", ()) not in scrape(client)
    taken_at = datetime.now(tz=UTC) - timedelta(hours=2)
    path = checkpoint_write(
        directory=settings.AUDIT_CHECKPOINT_DIR,
        head=Checkpoint(position=41, hash="0" * 64),
        taken_at=taken_at,
    )
    assert json.loads(path.read_text())["sequence"] == 41
    samples = scrape(client)
    assert value(samples, "signposting_audit_checkpoint_sequence") == 41
    assert 7190 < value(samples, "signposting_audit_checkpoint_age_seconds") < 7300


def test_an_import_counts_its_rows_by_outcome(client):
    record(request=None, action=Action.RECORD_IMPORT, outcome="committed", result_count=12)
    record(request=None, action=Action.RECORD_IMPORT, outcome="refused", result_count=3)
    samples = scrape(client)
    assert value(samples, "signposting_import_rows", outcome="committed", window="24h") == 12
    assert value(samples, "signposting_import_rows", outcome="refused", window="1h") == 3


def test_the_outbox_is_counted_by_state_with_its_oldest_wait_and_failed_tries(client, settings):
    from accounts import outbox
    from accounts.models import OutboundEmail

    settings.EMAIL_ENABLED = True
    settings.SERVICE_URL = "https://find.example.gov.uk"
    admin = make_user(role=Role.LA_ADMIN)
    for n in range(3):
        outbox.email_queue(
            kind=OutboundEmail.Kind.VETTING_DUE, recipient=admin, personalisation={"n": n}
        )
    OutboundEmail.objects.filter(pk=OutboundEmail.objects.order_by("pk")[0].pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    settings.EMAIL_BACKEND = "tests.accounts.test_outbox.FailingBackend"
    settings.OUTBOX_MAX_ATTEMPTS = 1
    sent_one = OutboundEmail.objects.order_by("pk")[2]
    OutboundEmail.objects.filter(pk=sent_one.pk).update(state="sent")
    outbox.outbox_send_due(limit=1)  # the oldest fails for good (one try allowed)

    samples = scrape(client)

    assert value(samples, "signposting_outbox_messages", state="pending") == 1
    assert value(samples, "signposting_outbox_messages", state="sent") == 1
    assert value(samples, "signposting_outbox_messages", state="failed") == 1
    assert value(samples, "signposting_outbox_failed_tries", window="1h") == 1
    assert 0 < value(samples, "signposting_outbox_oldest_waiting_seconds") < 120


# --- Who may scrape ------------------------------------------------------------------------


# --- Replication (issue 18) ----------------------------------------------------------------


def test_without_a_replica_no_replica_figures_are_given(client):
    names = {name for name, _ in scrape(client)}
    assert not {name for name in names if name.startswith("signposting_replica_")}


def test_a_replica_that_answers_is_up_with_its_lag(client, replica, monkeypatch):
    samples = scrape(client)
    assert value(samples, "signposting_replica_up") == 1
    # The test database is a primary, not in recovery: no lag to give.
    assert value(samples, "signposting_replica_is_standby") == 0
    assert ("signposting_replica_lag_seconds", ()) not in samples

    behind = db_router.ReplicaStatus(up=True, in_recovery=True, lag_seconds=2.5)
    monkeypatch.setattr("signposting.metrics.replica_status", lambda: behind)
    samples = scrape(client)
    assert value(samples, "signposting_replica_is_standby") == 1
    assert value(samples, "signposting_replica_lag_seconds") == 2.5


def test_a_replica_that_cannot_be_reached_is_down_and_the_rest_is_read(client, unreachable_replica):
    samples = scrape(client)
    assert value(samples, "signposting_replica_up") == 0
    assert ("signposting_replica_lag_seconds", ()) not in samples
    assert value(samples, "signposting_service_figures_up") == 1


def test_the_primarys_synchronous_standbys_are_counted_on_postgresql(client):
    samples = scrape(client)
    if connection.vendor != "postgresql":
        assert ("signposting_database_synchronous_standbys", ()) not in samples
        return
    # The test server streams to no standby; the suite connects as a superuser, who may see.
    assert samples[("signposting_database_synchronous_standbys", ())] == 0


def test_without_the_token_it_is_not_found(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "header",
    ["Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "],
)
def test_a_wrong_token_is_not_found(client, header):
    assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 404


def test_with_the_token_a_post_is_still_not_found(client):
    assert client.post("/metrics", **AUTH).status_code == 404


def test_unset_the_endpoint_is_off_even_with_an_empty_bearer(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_an_allow_listed_address_may_scrape_without_the_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.0.2.7"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.8").status_code == 404


def test_behind_a_proxy_the_client_address_counts_not_the_proxys(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.5"]
    settings.TRUSTED_PROXY_COUNT = 1
    # The proxy (10.0.0.5) is allow-listed, the client it forwards for is not.
    response = client.get("/metrics", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 404


def test_a_signed_in_user_without_the_token_gets_not_found(client):
    client.force_login(make_user(role=Role.AUDITOR, organisation=make_area()))
    assert client.get("/metrics").status_code == 404


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite seals each audit event as it is recorded: nothing waits for a sealer",
)
def test_events_waiting_for_their_seal_are_counted_with_the_oldest_ones_age(client):
    seal()
    samples = scrape(client)
    assert value(samples, "signposting_audit_unsealed_events") == 0
    assert value(samples, "signposting_audit_unsealed_oldest_seconds") == 0
    with mock.patch.object(timezone, "now", return_value=timezone.now() - timedelta(minutes=2)):
        record(request=None, action="search")
    record(request=None, action="search")
    samples = scrape(client)
    assert value(samples, "signposting_audit_unsealed_events") == 2
    assert 119 < value(samples, "signposting_audit_unsealed_oldest_seconds") < 200
    seal()
    samples = scrape(client)
    assert value(samples, "signposting_audit_unsealed_events") == 0
    assert value(samples, "signposting_audit_unsealed_oldest_seconds") == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no partitions")
def test_the_months_of_audit_partitions_ahead_are_shown(client):
    from audit import partitions

    key = ("signposting_audit_partition_months_ahead", ())
    assert scrape(client)[key] >= 3
    partitions.detach_and_drop(partitions.Month.of(timezone.now()).next())  # rolled back
    assert scrape(client)[key] == 0
