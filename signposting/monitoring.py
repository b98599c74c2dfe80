"""Error monitoring with Sentry: on only when SENTRY_DSN is set, and sending no child data.

What would carry a child's details is never collected: request bodies, cookies, local
variables, personal data of the user (`send_default_pii=False`). What is collected passes
through `before_send` and `before_breadcrumb`: the request is cut down to its method (its
URL and query string may hold a public id), and every message, exception value and
breadcrumb is redacted (signposting.redaction). Each event is tagged with the request id
that the user was shown (or the command that failed); its transaction is the URL pattern.
"""

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

from signposting.logs import REQUEST_LOGGER, current_context
from signposting.redaction import redact

# The parts of an event that hold only the SDK's, the runtime's and the code's own facts.
_KEPT_AS_THEY_ARE = {"contexts", "sdk", "modules", "platform", "level", "timestamp", "release"}


def start_error_monitoring(*, dsn: str, environment: str, **options: Any) -> None:
    """Starts the SDK (from settings, when SENTRY_DSN is set). `options` are for tests (a
    transport of their own)."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(transaction_style="url")],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        # Errors only: no performance traces (their spans would name SQL and URLs).
        traces_sample_rate=None,
        **options,
    )
    # A failed request's own line (logged as an error) would repeat its exception's event.
    ignore_logger(REQUEST_LOGGER)


def before_send(event: Event, hint: Hint) -> Event | None:
    """Every event, as it leaves: no request but its method, every string redacted."""
    request = event.get("request") or {}
    event["request"] = {"method": request["method"]} if "method" in request else {}
    event.pop("user", None)
    context = current_context()
    tags = event.setdefault("tags", {})
    for key in ("request_id", "command"):
        if context.get(key):
            tags[key] = context[key]
    for key, value in list(event.items()):
        if key not in _KEPT_AS_THEY_ARE and key != "request":
            event[key] = _redacted(value)
    return event


def before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb | None:
    """Every breadcrumb (log lines, SQL statements, outgoing calls) as it is recorded."""
    return _redacted(crumb)


def _redacted(value: Any) -> Any:
    """The value with every string in it redacted, and no local variables (`vars`)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items() if key != "vars"}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value
