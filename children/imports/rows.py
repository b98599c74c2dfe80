"""The import's format and results: its columns and limits, the rows as text, the report."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from accounts.models import Organisation
from children.models import Address, Involvement, Name, Sex, SourceRecord

COLUMNS = (
    "child_ref",
    "nhs_number",
    "given_names",
    "family_name",
    "other_names",
    "date_of_birth",
    "sex",
    "address_line_1",
    "postcode",
    "local_authority",
    "address_since",
    "involvement_ref",
    "service",
    "organisation",
    "practitioner_name",
    "practitioner_job_title",
    "practitioner_phone",
    "practitioner_email",
    "started_on",
    "ended_on",
    "lead_professional",
)
OPTIONAL_COLUMNS = frozenset(
    {
        "nhs_number",
        "other_names",
        "practitioner_name",
        "practitioner_job_title",
        "practitioner_phone",
        "practitioner_email",
        "ended_on",
        "lead_professional",
    }
)
REQUIRED_COLUMNS = tuple(column for column in COLUMNS if column not in OPTIONAL_COLUMNS)
_COLUMN_ORDER = {column: index for index, column in enumerate(COLUMNS)}


def _max_length(model: Any, name: str) -> int:
    return model._meta.get_field(name).max_length


# Free-text columns and the most characters each may hold (the model's max_length).
MAX_LENGTHS = {
    "child_ref": _max_length(SourceRecord, "source_ref"),
    "given_names": _max_length(Name, "given_names"),
    "family_name": _max_length(Name, "family_name"),
    "other_names": 2_000,
    "address_line_1": _max_length(Address, "line_1"),
    "involvement_ref": _max_length(Involvement, "source_id"),
    "organisation": _max_length(Organisation, "name"),
    "practitioner_name": _max_length(Involvement, "practitioner_name"),
    "practitioner_job_title": _max_length(Involvement, "practitioner_job_title"),
    "practitioner_phone": _max_length(Involvement, "practitioner_phone"),
    "practitioner_email": _max_length(Involvement, "practitioner_email"),
}
# Longer than any valid code, date or number: such values are simply invalid.
MAX_CODE_LENGTH = 64
# A CSV line longer than this is reported, not read: no valid row comes close,
# and it keeps a broken or hostile file from filling memory.
MAX_LINE_BYTES = 100_000
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
SEXES = frozenset(Sex.values)
YES_NO = frozenset({"yes", "no"})
# How many keys go in one IN (...) query, and how many rows in one bulk INSERT.
QUERY_CHUNK = 2_000
BATCH_SIZE = 2_000
# pg_advisory_xact_lock key that serialises imports ("import" in hex).
IMPORT_LOCK_KEY = 0x696D706F7274


class Outcome(StrEnum):
    COMMITTED = "committed"
    DRY_RUN = "dry_run"
    REFUSED = "refused"


@dataclass(frozen=True)
class RowError:
    """One problem: a row number (None for the whole file), the column, and what to do."""

    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if self.field:
            return f"Row {self.row}: {self.field}: {self.message}"
        return f"Row {self.row}: {self.message}"


@dataclass(frozen=True)
class SourceRow:
    """One row as text, with problems already found while reading it."""

    number: int
    values: Mapping[str, str]
    problems: tuple[RowError, ...] = ()


@dataclass(frozen=True)
class ParsedFile:
    rows: list[SourceRow]
    sha256: str
    format: str
    errors: tuple[RowError, ...] = ()  # about the whole file (empty, bad header, not JSON...)


@dataclass(frozen=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


@dataclass(frozen=True)
class HeldGroup:
    """A new child_ref's rows held for review: they look like a child on the register."""

    rows: tuple[int, ...]
    child_ref: str

    def __str__(self) -> str:
        if len(self.rows) == 1:
            return (
                f"Row {self.rows[0]} (child_ref {self.child_ref}) waits for review: "
                "a child like this is already on the register."
            )
        numbers = ", ".join(str(number) for number in self.rows)
        return (
            f"Rows {numbers} (child_ref {self.child_ref}) wait for review: "
            "a child like this is already on the register."
        )


@dataclass(frozen=True)
class ImportReport:
    source: str
    file_sha256: str
    rows: int
    outcome: Outcome
    dry_run: bool = False
    children: Counts = Counts()
    involvements: Counts = Counts()
    errors: tuple[RowError, ...] = ()
    held: tuple[HeldGroup, ...] = ()

    @property
    def refused(self) -> bool:
        return self.outcome == Outcome.REFUSED

    def lines(self) -> list[str]:
        """The report as a data manager reads it."""
        if self.refused:
            problems = "problem" if len(self.errors) == 1 else "problems"
            return [
                f"The file was refused and nothing was imported: {len(self.errors)} {problems}.",
                *(str(error) for error in self.errors),
            ]
        heading = (
            "Dry run: the file is valid; nothing was written."
            if self.outcome == Outcome.DRY_RUN
            else "Imported."
        )
        lines = [
            heading,
            f"Source: {self.source}. Rows: {self.rows}. SHA-256: {self.file_sha256}",
            f"Children: {self.children}.",
            f"Involvements: {self.involvements}.",
        ]
        if self.held:
            children = "child" if len(self.held) == 1 else "children"
            verb = "would be held" if self.outcome == Outcome.DRY_RUN else "held"
            lines.append(
                f"Held for review: {len(self.held)} {children} ({verb}, not imported; a data "
                "manager decides whether each is a child already on the register)."
            )
            lines.extend(str(group) for group in self.held)
        return lines

    def audit_detail(self) -> dict[str, Any]:
        """Counts and the file's hash: nothing about any child."""
        return {
            "source": self.source,
            "file_sha256": self.file_sha256,
            "rows": self.rows,
            "dry_run": self.dry_run,
            "errors": len(self.errors),
            "children_created": self.children.created,
            "children_updated": self.children.updated,
            "children_unchanged": self.children.unchanged,
            "involvements_created": self.involvements.created,
            "involvements_updated": self.involvements.updated,
            "involvements_unchanged": self.involvements.unchanged,
            "held": len(self.held),
        }
