"""Prometheus metrics at /metrics: the HTTP figures of this process, and the service's own
figures read from the database at scrape time (the same from every instance).

The HTTP figures and the audit append time (audit.services) are counted in the process that
served the request: each gunicorn worker keeps its own (prometheus_client's multiprocess
mode is off), so scrape each instance and read them as samples of it. The service's figures
are counts over a window (the last hour, the last day: the `window` label), not counters
since start, so they need no shared state. docs/operations/monitoring.md says what to alert on.

Only a request with the scrape token (`Authorization: Bearer <METRICS_TOKEN>`) or from an
address in METRICS_ALLOWED_IPS is answered; any other gets the ordinary 404.
"""

import hmac
import ipaddress
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from accounts.outbox import outbox_figures
from audit import partitions
from audit.checkpoints import checkpoint_latest, checkpoint_read
from audit.models import Action
from audit.partitions import Month
from audit.selectors import trail_figures, unsealed_figures
from signposting.client_ip import client_ip
from signposting.db_router import replica_configured, replica_status, synchronous_standbys

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The lookups a user makes, and what the lookup views record instead of one.
LOOKUP_ACTIONS = frozenset(
    {
        Action.SEARCH,
        Action.RECORD_VIEW,
        Action.RECORD_PRINT,
        Action.RESULTS_VIEW,
        Action.ACCESS_DENIED,
        Action.RATE_LIMITED,
        Action.REASON_MISSING,
    }
)


# --- Who may scrape ------------------------------------------------------------------------


def scrape_allowed(*, request: HttpRequest) -> bool:
    """The scrape token, or an allow-listed address. Neither configured: nobody (off)."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return True
    networks = _allowed_networks(settings.METRICS_ALLOWED_IPS)
    if not networks:
        return False
    address = client_ip(request)
    if not address:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)


def _allowed_networks(
    entries: list[str] | tuple[str, ...],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


# --- The service's own figures ---------------------------------------------------------------


class ServiceCollector(Collector):
    """Reads the figures from the database (and the checkpoint directory) when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "signposting_service_figures_up",
            "1 if the service's own figures below could be read at this scrape, else 0",
        )
        try:
            families = list(_service_families(now=timezone.now()))
        except Exception:
            logger.exception("Metrics: the service's figures could not be read")
            families = None
        up.add_metric([], 0 if families is None else 1)
        yield up
        yield from families or ()
        # Asked of other servers, or of the primary with other privileges: a failure here
        # leaves the figures above as they are.
        try:
            replication = list(_replication_families())
        except Exception:
            logger.exception("Metrics: the replication figures could not be read")
            replication = []
        yield from replication


def _service_families(*, now: datetime) -> Iterator[GaugeMetricFamily]:
    figures = trail_figures(now=now)
    windows = ("1h", "24h")

    lookups = GaugeMetricFamily(
        "signposting_lookups",
        "Lookups recorded in the audit trail over the window, by action and outcome",
        labels=["action", "outcome", "window"],
    )
    events = GaugeMetricFamily(
        "signposting_audit_events",
        "Other audit events over the window (sign-ins, lockouts, imports...), by action and "
        "outcome",
        labels=["action", "outcome", "window"],
    )
    rate_limited = GaugeMetricFamily(
        "signposting_rate_limited_lookups",
        "Lookups refused by the rate limit (LOOKUPS_PER_HOUR) over the window",
        labels=["window"],
    )
    import_rows = GaugeMetricFamily(
        "signposting_import_rows",
        "Rows in the files imported over the window, by the import's outcome",
        labels=["outcome", "window"],
    )
    refused = dict.fromkeys(windows, 0)
    for count in figures.events:
        family = lookups if count.action in LOOKUP_ACTIONS else events
        for window, value in zip(windows, (count.last_hour, count.last_day), strict=True):
            family.add_metric([count.action, count.outcome, window], value)
            if count.action == Action.RATE_LIMITED:
                refused[window] += value
        if count.action == Action.RECORD_IMPORT:
            for window, rows in zip(
                windows, (count.results_last_hour, count.results_last_day), strict=True
            ):
                import_rows.add_metric([count.outcome, window], rows)
    for window in windows:
        rate_limited.add_metric([window], refused[window])
    yield from (lookups, events, rate_limited, import_rows)

    purged = GaugeMetricFamily(
        "signposting_records_purged",
        "Children's records purged at the end of their retention over the window",
        labels=["window"],
    )
    purged.add_metric(["1h"], figures.purged_last_hour)
    purged.add_metric(["24h"], figures.purged_last_day)
    yield purged

    flags = GaugeMetricFamily(
        "signposting_flags",
        "Misuse flags by rule: open (no outcome yet) and decided, all time",
        labels=["rule", "state"],
    )
    raised = GaugeMetricFamily(
        "signposting_flags_raised",
        "Misuse flags raised over the window, by rule",
        labels=["rule", "window"],
    )
    for flag in figures.flags:
        flags.add_metric([flag.rule, "open"], flag.open)
        flags.add_metric([flag.rule, "decided"], flag.decided)
        raised.add_metric([flag.rule, "1h"], flag.raised_last_hour)
        raised.add_metric([flag.rule, "24h"], flag.raised_last_day)
    yield from (flags, raised)

    head_sequence = GaugeMetricFamily(
        "signposting_audit_head_sequence", "The chain position of the audit chain's newest seal"
    )
    head_age = GaugeMetricFamily(
        "signposting_audit_head_age_seconds",
        "Seconds since the event of the audit chain's newest seal occurred",
    )
    if figures.head_sequence is not None and figures.head_occurred_at is not None:
        head_sequence.add_metric([], figures.head_sequence)
        head_age.add_metric([], (now - figures.head_occurred_at).total_seconds())
    yield from (head_sequence, head_age)

    yield from _unsealed_families(now=now)
    yield from _partition_families(now=now)
    yield from _checkpoint_families(now=now)

    locked = GaugeMetricFamily(
        "signposting_locked_out",
        "Usernames and addresses locked out by failed sign-ins (django-axes) right now",
    )
    locked.add_metric([], _locked_out(now=now))
    yield locked

    yield from _outbox_families(now=now)


def _replication_families() -> Iterator[GaugeMetricFamily]:
    """The read replica (DATABASE_REPLICA_URL), when there is one: whether it answers and how
    far behind the primary it is. And, on PostgreSQL, the synchronous standbys the primary
    has now: none after a failover, until one is attached again
    (docs/operations/database-cluster.md)."""
    if replica_configured():
        status = replica_status()
        up = GaugeMetricFamily(
            "signposting_replica_up", "1 if the read replica answered at this scrape, else 0"
        )
        up.add_metric([], 1 if status.up else 0)
        yield up
        if status.up:
            standby = GaugeMetricFamily(
                "signposting_replica_is_standby",
                "1 if the read replica is a standby in recovery; 0 if it is a primary "
                "(promoted, or the URL names the primary)",
            )
            standby.add_metric([], 1 if status.in_recovery else 0)
            yield standby
        if status.lag_seconds is not None:
            lag = GaugeMetricFamily(
                "signposting_replica_lag_seconds",
                "Seconds the read replica is behind the primary (0 when it has replayed all "
                "it received)",
            )
            lag.add_metric([], status.lag_seconds)
            yield lag
    standbys = synchronous_standbys()
    if standbys is not None:
        family = GaugeMetricFamily(
            "signposting_database_synchronous_standbys",
            "Synchronous standbys streaming from the primary now (a commit waits for one)",
        )
        family.add_metric([], standbys)
        yield family


def _outbox_families(*, now: datetime) -> Iterator[GaugeMetricFamily]:
    figures = outbox_figures(now=now)
    messages = GaugeMetricFamily(
        "signposting_outbox_messages",
        "E-mails in the outbox by state: waiting to be sent, sent and given up (kept "
        "OUTBOX_KEEP_DAYS)",
        labels=["state"],
    )
    for state, count in figures.by_state.items():
        messages.add_metric([state], count)
    oldest = GaugeMetricFamily(
        "signposting_outbox_oldest_waiting_seconds",
        "Seconds the oldest e-mail waiting to be sent has waited (0 when none waits)",
    )
    oldest.add_metric([], figures.oldest_waiting_seconds)
    failed_tries = GaugeMetricFamily(
        "signposting_outbox_failed_tries",
        "Tries at sending an e-mail that failed, over the window",
        labels=["window"],
    )
    failed_tries.add_metric(["1h"], figures.failed_tries_last_hour)
    failed_tries.add_metric(["24h"], figures.failed_tries_last_day)
    yield from (messages, oldest, failed_tries)


def _unsealed_families(*, now: datetime) -> Iterator[GaugeMetricFamily]:
    """Events committed and waiting for the audit sealer (`seal_audit --follow`): an alarm
    once the oldest has waited past AUDIT_SEAL_DELAY_SECONDS (docs/operations/monitoring.md)."""
    figures = unsealed_figures()
    count = GaugeMetricFamily(
        "signposting_audit_unsealed_events",
        "Audit events committed and not yet sealed into the chain (counted up to 100,000)",
    )
    count.add_metric([], figures.count)
    oldest = GaugeMetricFamily(
        "signposting_audit_unsealed_oldest_seconds",
        "Seconds since the oldest audit event waiting for its seal occurred (0 when none waits)",
    )
    oldest.add_metric([], figures.oldest_seconds(now=now))
    yield from (count, oldest)


def _partition_families(*, now: datetime) -> Iterator[GaugeMetricFamily]:
    """PostgreSQL: how many months beyond this one have partitions of the audit trail (the
    sealer and nightly keep it at 3; below 1 next month's lookups would fail closed)."""
    if not partitions.partitioned():
        return
    have = set(partitions.months())
    month, ahead = Month.of(now), -1
    while month in have:
        ahead += 1
        month = month.next()
    gauge = GaugeMetricFamily(
        "signposting_audit_partition_months_ahead",
        "Months after this one with partitions of the audit trail (-1: not even this month)",
    )
    gauge.add_metric([], ahead)
    yield gauge


def _checkpoint_families(*, now: datetime) -> Iterator[GaugeMetricFamily]:
    """The newest checkpoint `manage.py nightly` wrote. It writes one only when the chain
    verified, so its age is the time since the chain last verified."""
    age = GaugeMetricFamily(
        "signposting_audit_checkpoint_age_seconds",
        "Seconds since the newest checkpoint, written only after the chain verified",
    )
    sequence = GaugeMetricFamily(
        "signposting_audit_checkpoint_sequence",
        'The audit chain\'s position (its "sequence") in the newest checkpoint',
    )
    path = checkpoint_latest(directory=settings.AUDIT_CHECKPOINT_DIR)
    if path is not None:
        try:
            taken_at = datetime.strptime(path.name, "checkpoint-%Y%m%dT%H%M%S.%fZ.json").replace(
                tzinfo=UTC
            )
        except ValueError:
            taken_at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        age.add_metric([], (now - taken_at).total_seconds())
        sequence.add_metric([], checkpoint_read(path=path).position)
    yield from (age, sequence)


def _locked_out(*, now: datetime) -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    if isinstance(cooloff, int | float):
        cooloff = timedelta(hours=cooloff)
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    if isinstance(cooloff, timedelta):
        attempts = attempts.filter(attempt_time__gte=now - cooloff)
    return attempts.count()


_SERVICE_REGISTRY = CollectorRegistry()
_SERVICE_REGISTRY.register(ServiceCollector())


def exposition() -> bytes:
    """This process's figures (HTTP, audit appends, the runtime's), then the service's."""
    return generate_latest(REGISTRY) + generate_latest(_SERVICE_REGISTRY)
