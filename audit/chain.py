"""The hash chain: one canonical serialisation of an event, for the writer and the verifier."""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Fields covered by the hash, besides sequence and prev_hash. Changing this
# list (or the serialisation) breaks every existing chain: add a new chain
# version instead.
HASHED_FIELDS = (
    "occurred_at",
    "action",
    "actor_id",
    "actor_username",
    "actor_name",
    "actor_role",
    "actor_organisation",
    "actor_organisation_code",
    "children",
    "criteria",
    "reason_code",
    "reason_text",
    "outcome",
    "result_count",
    "detail",
    "client_ip",
    "request_id",
)


def timestamp(value: datetime) -> str:
    """UTC, microseconds: exactly what both databases give back."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def body(fields: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an event's content (everything but its place in the chain)."""
    values = {name: fields[name] for name in HASHED_FIELDS}
    values["occurred_at"] = timestamp(values["occurred_at"])
    values["client_ip"] = values["client_ip"] or None
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def link(*, prev_hash: str, sequence: int, content: bytes) -> str:
    """hash = SHA-256(prev_hash || sequence || canonical content)."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"|%d|" % sequence)
    digest.update(content)
    return digest.hexdigest()
