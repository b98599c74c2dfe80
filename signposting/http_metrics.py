"""The HTTP figures of this process for Prometheus (served at /metrics by signposting.metrics):
requests and their durations by URL pattern name, method and status, never the path (it may
hold a child's public id). Counted by signposting.middleware.RequestIdMiddleware from the same
figures as the request's log line, so a request is timed and named once."""

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "signposting_http_requests",
    "HTTP requests answered by this process, by URL name, method and status",
    ["view", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "signposting_http_request_duration_seconds",
    "Time to answer an HTTP request in this process, by URL name and method",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe(*, view: str | None, method: str | None, status: int, seconds: float) -> None:
    """One answered request: two dictionary updates, no query."""
    view = view or "unmatched"
    method = method if method in _METHODS else "other"
    REQUEST_SECONDS.labels(view, method).observe(seconds)
    REQUESTS.labels(view, method, str(status)).inc()
