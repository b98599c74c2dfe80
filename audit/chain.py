"""The hash chain: one canonical serialisation of an event, for the sealer and the verifier.

Events are chained after they commit (audit.sealer): each seal gives one event its
position in the chain and links it to the seal before it,

    hash = SHA-256(prev_hash || "|position|" || canonical content)            (version 1)
    hash = SHA-256(prev_hash || "|position#number|" || canonical content)     (version 2)

Version 1 is for an event whose number (AuditEvent.sequence) is its position: every event
of a trail written before sealing moved after commit (the number was then the position),
and every event on SQLite, which seals as it appends. Version 2 covers the number of any
other event, so the number, which flags, notices and the auditors' pages cite, cannot be
changed either. The format is chosen by the values themselves, so changing a number
changes the bytes hashed, whichever way round (docs/decisions/0010).
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Fields covered by the hash, besides the position, the number and prev_hash. Changing
# this list (or the serialisation) breaks every existing chain: add a new chain version
# instead.
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
    """The canonical bytes of an event's content (everything but its number and place)."""
    values = {name: fields[name] for name in HASHED_FIELDS}
    values["occurred_at"] = timestamp(values["occurred_at"])
    values["client_ip"] = values["client_ip"] or None
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def link(*, prev_hash: str, position: int, number: int, content: bytes) -> str:
    """The hash of the seal at `position` of the event numbered `number` (see above)."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    if number == position:
        digest.update(b"|%d|" % position)
    else:
        digest.update(b"|%d#%d|" % (position, number))
    digest.update(content)
    return digest.hexdigest()
