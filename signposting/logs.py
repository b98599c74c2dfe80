"""Structured logs: one JSON object a line, each carrying the request (or command run) it
belongs to, and none of a child's details (docs/operations/logging.md).

The request line itself (`signposting.requests`) is built by the request id middleware
from values that are safe by construction (ids, the URL pattern's name, the status); every
other line passes through `signposting.redaction`, and the request that Django attaches to
its own records is dropped, so that no path (`/children/7KQ-4M2-PX9/`) reaches the log.
"""

import logging
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from signposting.redaction import redact

REQUEST_LOGGER = "signposting.requests"
COMMAND_LOGGER = "signposting.commands"

# What every line logged while a request is served (or a command runs) carries: its id.
_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "signposting_log_context", default=MappingProxyType({})
)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Adds the fields to every log line written inside the block (nested blocks add theirs)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, Any]:
    return _context.get()


class ContextFilter(logging.Filter):
    """A handler's filter: adds the request id (or the command run's id) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


_FRAME_LINE = "  File "


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter: time, level, logger and message, then the context and
    extras. Django's own records carry the request object (its repr holds the path): it is
    dropped, and their message keeps its reason but not the path. Every line but the request
    line is redacted, its traceback included (but for the lines that name a file)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request", "server_time"])
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, *args: Any) -> None:
        # The time first, in UTC to the millisecond, as collectors parse it.
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, *args)

    def format(self, record: logging.LogRecord) -> str:
        if record.name == REQUEST_LOGGER:
            return super().format(record)
        request = record.__dict__.get("request")
        path = getattr(request, "path", None)
        message = record.getMessage()
        if path and path != "/":
            message = message.replace(path, "[path]")
        # A copy: the record may go on to other handlers, which must not see it changed.
        redacted = logging.makeLogRecord(record.__dict__)
        redacted.msg, redacted.args = redact(message), None
        if record.exc_info:
            redacted.exc_info, redacted.exc_text = None, _redacted_traceback(record.exc_info)
        elif record.exc_text:
            redacted.exc_text = redact(record.exc_text)
        return super().format(redacted)


def _redacted_traceback(exc_info: Any) -> str:
    lines = "".join(traceback.format_exception(*exc_info)).rstrip("\n").splitlines()
    return "\n".join(line if line.startswith(_FRAME_LINE) else redact(line) for line in lines)


def request_line(**fields: Any) -> None:
    """Logs the one line of a served request (signposting.middleware.RequestIdMiddleware).
    The record is made here, not by `logger.log`: that would walk the stack to find the
    caller's file and line, which this line does not carry, at a third of its cost."""
    level = logging.ERROR if fields["status"] >= 500 else logging.INFO
    if _request_logger.isEnabledFor(level):
        record = _request_logger.makeRecord(
            REQUEST_LOGGER, level, "", 0, "request", (), None, extra=fields
        )
        _request_logger.handle(record)


_request_logger = logging.getLogger(REQUEST_LOGGER)
