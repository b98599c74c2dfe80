"""What the request log line costs (issue 17, part 1): the line itself, beside a bare
json.dumps of the same fields written to the same stream, and a whole request (/healthz
through Django's handler and every middleware) with the line and with its logger off.

    .venv/bin/python bench/log_line.py [--requests 2000]

Both write to an in-memory stream: the cost measured is building the line, not the disk.
"""

import argparse
import io
import json
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signposting.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

import django

django.setup()

from django.test import Client  # noqa: E402

from signposting.logs import REQUEST_LOGGER, JsonFormatter, log_context, request_line  # noqa: E402

FIELDS = {
    "request_id": "3e9e5697063f4488a1d196ee350bee9f",
    "user_id": 12,
    "role": "practitioner",
    "url_name": "children:record",
    "method": "POST",
    "status": 200,
    "duration_ms": 12.3,
}


def per_call(function, number: int) -> float:
    """The best of three runs, in microseconds a call."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(number):
            function()
        best = min(best, time.perf_counter() - started)
    return best / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    requests = parser.parse_args().requests

    stream = io.StringIO()
    handlers = logging.getLogger().handlers
    handler = next(h for h in handlers if isinstance(h.formatter, JsonFormatter))
    handler.setStream(stream)

    def line() -> None:
        with log_context(request_id=FIELDS["request_id"]):
            request_line(**FIELDS)

    def bare() -> None:
        stream.write(json.dumps(FIELDS) + "\n")

    ours, reference = per_call(line, 20_000), per_call(bare, 20_000)
    print(f"request line:      {ours:7.1f} µs   bare json.dumps: {reference:5.1f} µs")

    client = Client()
    client.get("/healthz")  # connect, warm up
    logger = logging.getLogger(REQUEST_LOGGER)
    # Turn about, five times each, the best of each kept: the machine's noise is larger
    # than the difference.
    with_line = without_line = float("inf")
    for _ in range(5):
        with_line = min(with_line, per_call(lambda: client.get("/healthz"), requests))
        logger.disabled = True
        without_line = min(without_line, per_call(lambda: client.get("/healthz"), requests))
        logger.disabled = False
    print(
        f"/healthz request: {with_line:7.1f} µs with the line, {without_line:7.1f} µs without: "
        f"{with_line - without_line:+.1f} µs ({with_line / without_line - 1:+.1%})"
    )


if __name__ == "__main__":
    main()
