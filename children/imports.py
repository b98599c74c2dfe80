"""Imports children and their involvements from a source system (CSV or JSON, DESIGN.md format).

Used by `manage.py import_records` and by the feed API. The whole input is
read and checked first, in plain Python, with the few lookups it needs loaded
in bulk; if anything is wrong nothing is written and the report lists every
problem by row number. Otherwise everything is written in one transaction with
bulk inserts and updates. Every import (refused ones and dry runs included) is
one audit event holding counts and the file's hash, never child data.

Rules the format leaves open:
- `other_names` are stored as previous names: the format cannot tell an alias
  from a former name, and search looks at every kind alike. Names are only
  ever added: when a row's current name differs from the register's, the old
  current name is kept as a previous name, so searches by it still find the child.
- Addresses: a row whose `address_since` is later than the current address's
  start, at a different address, is a move: the current address is closed on
  that date (`moved_out_on` = the new `address_since`) and the new one becomes
  current. The same date with a different address corrects the current address.
  An earlier date adds a past address, closed when the next address held
  starts, unless the register already knows where the child lived then (an
  address starting that day, or the same place held over that day or starting
  next). Rows giving the same place with a later date describe the same stay.
- A child known to this source (`child_ref`) is updated from the file; a new
  `child_ref` whose NHS number is already on the register is attached to that
  child (refused if the dates of birth differ). Sex `unknown` never overwrites
  a known sex; an empty NHS number never removes one.
- A new `child_ref` (no link to this source, no NHS number on the register) that
  looks like a child already on the register (children.duplicates: born the
  same day or its day/month swap, with a name alike) is held, not created: its
  rows wait as a HeldRow for a data manager to decide, and the rest of the file
  is imported. Importing held rows again updates the same HeldRow.
- An involvement the register holds for another child is refused, not moved.
- Optional columns (`nhs_number`, `other_names`, `practitioner_*`, `ended_on`,
  `lead_professional`) may be left out of the file; an empty
  `lead_professional` means no. Dates may not be in the future.
- Counts: a child is "updated" when its own details, names, addresses or source
  links change; an involvement when any of its columns does. Confirming an
  involvement (confirmed_at) and recomputing retention are not changes.
"""

import csv
import hashlib
import io
import json
import logging
import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Lookup, OuterRef, Q, Subquery
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Organisation
from accounts.services import partner_agency_get_or_create
from audit.models import Action
from audit.services import record
from children.identifiers import (
    new_public_id,
    normalise_nhs_number,
    normalise_postcode,
    outward_code,
    validate_nhs_number,
    validate_postcode,
)
from children.involvement_rules import lead_professional_gaps
from children.matching import name_keys
from children.models import (
    Address,
    Child,
    HeldRow,
    Involvement,
    Name,
    NameKind,
    Service,
    Sex,
    SourceRecord,
)
from children.retention import retention_ends_on
from children.services import names_follow_address

logger = logging.getLogger(__name__)

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
# (column, most characters, required) for the row checker's first pass.
_TEXT_COLUMNS = tuple(
    (column, MAX_LENGTHS.get(column, MAX_CODE_LENGTH), column not in OPTIONAL_COLUMNS)
    for column in COLUMNS
)
YES_NO = frozenset({"yes", "no"})
# How many keys go in one IN (...) query, and how many rows in one bulk INSERT.
QUERY_CHUNK = 2_000
BATCH_SIZE = 2_000
# pg_advisory_xact_lock key that serialises imports ("import" in hex).
IMPORT_LOCK_KEY = 0x696D706F7274

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only, unlike \d
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_email = EmailValidator()
_UTF8_BOM = b"\xef\xbb\xbf"


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


# --- Reading files -----------------------------------------------------------------------


def parse_file(path: Path | str) -> ParsedFile:
    """Reads a CSV or JSON import file (by its extension, else by its first character).

    Raises OSError if the file cannot be read; every problem with its content
    is in the result instead.
    """
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
        handle.seek(0)
        start = handle.read(1024).removeprefix(_UTF8_BOM).lstrip()
        handle.seek(0)
        suffix = path.suffix.lower()
        is_json = suffix == ".json" or (suffix != ".csv" and start[:1] in (b"[", b"{"))
        if is_json:
            return parse_bytes(handle.read(), format="json")
        return _parse_csv(handle, sha256=digest.hexdigest())


def parse_bytes(data: bytes, *, format: str) -> ParsedFile:
    """Reads an import held in memory (a request body, say): format is "csv" or "json"."""
    if format not in ("csv", "json"):
        raise ValueError(f"format must be 'csv' or 'json', not {format!r}")
    sha256 = hashlib.sha256(data).hexdigest()
    if format == "csv":
        return _parse_csv(io.BytesIO(data), sha256=sha256)
    if not data.strip():
        return _file_error("The file is empty.", sha256=sha256, format="json")
    try:
        text = data.removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return _file_error(
            f"Line {line} has bytes that are not UTF-8 text: save the file as UTF-8.",
            sha256=sha256,
            format="json",
        )
    try:
        content = json.loads(text)
    except RecursionError:
        return _file_error(
            "The file is not valid JSON: it is nested too deeply.", sha256=sha256, format="json"
        )
    except json.JSONDecodeError as error:
        return _file_error(
            f"The file is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}.",
            sha256=sha256,
            format="json",
        )
    except ValueError:  # a number with thousands of digits
        return _file_error(
            "The file is not valid JSON: a number in it is far too long.",
            sha256=sha256,
            format="json",
        )
    return parse_data(content, sha256=sha256)


def parse_data(content: Any, *, sha256: str | None = None) -> ParsedFile:
    """Reads decoded JSON: a list of objects with the import's keys. Items are numbered from 1."""
    if sha256 is None:
        sha256 = hashlib.sha256(_canonical_json(content)).hexdigest()
    if not isinstance(content, list | tuple):
        kind = _json_kind(content)
        return _file_error(
            f"The file must be a JSON list of objects, one per involvement, not {kind}.",
            sha256=sha256,
            format="json",
        )
    if not content:
        return _file_error("The file has no records.", sha256=sha256, format="json")
    rows = []
    for number, item in enumerate(content, start=1):
        if not isinstance(item, Mapping):
            problem = RowError(number, "", f"Must be a JSON object, not {_json_kind(item)}.")
            rows.append(SourceRow(number=number, values={}, problems=(problem,)))
            continue
        values: dict[str, str] = {}
        problems = []
        for key, value in item.items():
            column = key.strip().lower() if isinstance(key, str) else None
            if column not in _COLUMN_ORDER:
                continue  # extra keys are allowed and ignored
            text, problem = _json_text(column, value)
            if problem:
                problems.append(RowError(number, column, problem))
            else:
                values[column] = text
        rows.append(SourceRow(number=number, values=values, problems=tuple(problems)))
    return ParsedFile(rows=rows, sha256=sha256, format="json")


# JSON numbers taken as text: the source systems' ids, and the NHS number (docs/api/openapi.json).
NUMBERS_AS_TEXT = frozenset({"child_ref", "involvement_ref", "nhs_number"})


def _json_text(column: str, value: Any) -> tuple[str, str]:
    """(text, "") or ("", problem): numbers are taken as text for ids and the NHS number,
    yes/no may be true/false."""
    if value is None:
        return "", ""
    if isinstance(value, str):
        if _SURROGATE.search(value):  # "\ud800" in JSON: no database can store it
            return "", "Contains characters that are not valid Unicode text."
        return value, ""
    if isinstance(value, bool):
        if column == "lead_professional":
            return ("yes" if value else "no"), ""
        return "", "Must be text, not true or false."
    if isinstance(value, int | float) and column not in NUMBERS_AS_TEXT:
        # A name, code, date or phone number sent as a JSON number has lost its meaning
        # (and a phone number its leading zero).
        return "", "Must be text, not a number."
    if isinstance(value, int):
        if abs(value) >= 10**40:
            return "", "Is not a valid value (the number is far too long)."
        return str(value), ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return "", "Is not a valid value."
        return (str(int(value)) if value.is_integer() and abs(value) < 1e18 else repr(value)), ""
    return "", f"Must be text, not {_json_kind(value)}."


def _json_kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return "a value of another kind"


def _canonical_json(content: Any) -> bytes:
    try:
        return json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode(
            "utf-8", "surrogatepass"
        )
    except (TypeError, ValueError, RecursionError):
        return repr(content).encode("utf-8", "surrogatepass")


def _file_error(message: str, *, sha256: str, format: str) -> ParsedFile:
    return ParsedFile(rows=[], sha256=sha256, format=format, errors=(RowError(None, "", message),))


class _Lines:
    """A binary file's lines as text for the csv module, each read with a bounded buffer.

    A line that is too long or not UTF-8 is replaced by an empty line and noted
    in `problem`, which the caller clears before each record.
    """

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.problem = ""
        self.first = True

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self.handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        if self.first:
            raw = raw.removeprefix(_UTF8_BOM)
            self.first = False
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:  # skip the rest of the line without holding it
                rest = self.handle.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            self.problem = self.problem or (
                f"The row is longer than {MAX_LINE_BYTES:,} characters, so it was not read."
            )
            return "\n"
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.problem = self.problem or (
                "The row has characters that are not UTF-8 text: save the file as "
                "'CSV UTF-8' and try again."
            )
            return "\n"


def _parse_csv(handle: BinaryIO, *, sha256: str) -> ParsedFile:
    lines = _Lines(handle)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return _file_error("The file is empty.", sha256=sha256, format="csv")
    except csv.Error as error:
        return _file_error(
            f"The header row could not be read: {error}.", sha256=sha256, format="csv"
        )
    if lines.problem:
        return _file_error(f"Header row: {lines.problem}", sha256=sha256, format="csv")
    names = [name.strip().lower() for name in header]
    if not any(names):
        return _file_error(
            "The first row must be the header row, naming the columns.", sha256=sha256, format="csv"
        )
    repeated = sorted({name for name in names if name in _COLUMN_ORDER and names.count(name) > 1})
    if repeated:
        return _file_error(
            f"The header row names these columns more than once: {', '.join(repeated)}.",
            sha256=sha256,
            format="csv",
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if len(missing) == len(REQUIRED_COLUMNS):
        return _file_error(
            "The first row must be the header row, naming the columns; the required columns "
            f"are {', '.join(REQUIRED_COLUMNS)}.",
            sha256=sha256,
            format="csv",
        )
    if missing:
        return _file_error(
            f"The header row is missing required columns: {', '.join(missing)}.",
            sha256=sha256,
            format="csv",
        )
    positions = [(index, name) for index, name in enumerate(names) if name in _COLUMN_ORDER]
    width = len(names)
    rows: list[SourceRow] = []
    number = 1  # the header is row 1, as in a spreadsheet
    while True:
        lines.problem = ""
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            number += 1
            problem = RowError(number, "", f"The row could not be read as CSV: {error}.")
            rows.append(SourceRow(number=number, values={}, problems=(problem,)))
            continue
        number += 1
        if lines.problem:
            problem = RowError(number, "", lines.problem)
            rows.append(SourceRow(number=number, values={}, problems=(problem,)))
            continue
        if not any(value.strip() for value in values):
            continue  # a blank line, or a spreadsheet's row of empty cells
        if len(values) > width and any(value.strip() for value in values[width:]):
            problem = RowError(
                number,
                "",
                f"The row has {len(values)} values but the header has {width} columns: "
                "a value with a comma in it needs double quotes around it.",
            )
            rows.append(SourceRow(number=number, values={}, problems=(problem,)))
            continue
        row_values = {name: values[index] for index, name in positions if index < len(values)}
        rows.append(SourceRow(number=number, values=row_values))
    if not rows:
        return _file_error("The file has a header row but no records.", sha256=sha256, format="csv")
    return ParsedFile(rows=rows, sha256=sha256, format="csv")


# --- Checking rows (pure Python) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AddressIn:
    line_1: str
    postcode: str
    local_authority_id: int
    since: date

    @property
    def details(self) -> tuple[str, str, int]:
        return (self.line_1, self.postcode, self.local_authority_id)


@dataclass(slots=True)
class _Row:
    number: int
    child_ref: str
    nhs_number: str | None
    given_names: str
    family_name: str
    other_names: tuple[tuple[str, str], ...]  # (given, family)
    date_of_birth: date
    sex: str
    address: _AddressIn
    involvement_ref: str
    service_id: int
    organisation: str
    practitioner_name: str
    practitioner_job_title: str
    practitioner_phone: str
    practitioner_email: str
    started_on: date
    ended_on: date | None
    lead_professional: bool

    @property
    def is_open_lead(self) -> bool:
        return self.lead_professional and self.ended_on is None


class _RowChecker:
    """Turns rows of text into typed rows, collecting every problem it finds."""

    def __init__(
        self,
        *,
        today: date,
        services: Mapping[str, int],
        local_authorities: Mapping[str, int],
        errors: list[RowError],
    ):
        self.today = today
        # Born on or before this day: 18 or over today.
        self.adult_born_by = today - relativedelta(years=18)
        self.services = services
        self.local_authorities = local_authorities
        self.errors = errors
        self.involvement_rows: dict[str, int] = {}
        # Values repeat across rows (dates, postcodes, practitioners): check each once.
        self._dates: dict[str, date | None] = {}
        self._postcodes: dict[str, tuple[str | None, str]] = {}
        self._emails: set[str] = set()

    def check(self, source_row: SourceRow) -> _Row | None:
        n = source_row.number
        errors_before = len(self.errors)
        skip: frozenset[str] | set[str] = frozenset()
        if source_row.problems:
            self.errors.extend(source_row.problems)
            if any(not problem.field for problem in source_row.problems):
                return None  # the row itself could not be read
            skip = {problem.field for problem in source_row.problems}
        values = source_row.values
        tidy: dict[str, str | None] = {}
        for column, limit, required in _TEXT_COLUMNS:
            raw = values.get(column)
            if column in skip:
                tidy[column] = None
                continue
            if raw:
                if "\x00" in raw:
                    self._error(n, column, "Contains a NUL character (a zero byte); remove it.")
                    tidy[column] = None
                    continue
                raw = " ".join(raw.split())  # one space between words, none around them
                if len(raw) > limit:
                    if column in MAX_LENGTHS:
                        self._error(
                            n,
                            column,
                            f"Is too long: at most {limit:,} characters, not {len(raw):,}.",
                        )
                        tidy[column] = None
                        continue
                    raw = raw[:limit]  # a code or date that long is simply wrong: said below
            if not raw and required:
                self._error(n, column, "Is missing: this column must have a value.")
                tidy[column] = None
                continue
            tidy[column] = raw or ""
        text = tidy.__getitem__
        child_ref = text("child_ref")
        given_names = text("given_names")
        family_name = text("family_name")
        nhs_number = self._nhs_number(n, text("nhs_number"))
        other_names = self._other_names(n, text("other_names"))
        date_of_birth = self._date_of_birth(n, text("date_of_birth"))
        sex = self._choice(n, "sex", text("sex"), SEXES, "Enter female, male, other or unknown.")
        line_1 = text("address_line_1")
        postcode = self._postcode(n, text("postcode"))
        local_authority_id = self._local_authority(n, text("local_authority"))
        address_since = self._past_date(n, "address_since", text("address_since"))
        involvement_ref = text("involvement_ref")
        service_id = self._service(n, text("service"))
        organisation = text("organisation")
        practitioner_name = text("practitioner_name")
        practitioner_job_title = text("practitioner_job_title")
        practitioner_phone = text("practitioner_phone")
        practitioner_email = self._email(n, text("practitioner_email"))
        started_on = self._past_date(n, "started_on", text("started_on"))
        ended_on = self._past_date(n, "ended_on", text("ended_on"))
        lead = text("lead_professional") or "no"
        lead = self._choice(n, "lead_professional", lead, YES_NO, "Enter yes or no.")
        if started_on and ended_on and ended_on < started_on:
            self._error(n, "ended_on", "The end date must be on or after the start date.")
        if lead == "yes":
            gaps = lead_professional_gaps(
                name=practitioner_name, phone=practitioner_phone, email=practitioner_email or ""
            )
            for column, message in gaps.items():
                self._error(n, column, f"{message}.")
        if involvement_ref:
            first = self.involvement_rows.setdefault(involvement_ref, n)
            if first != n:
                self._error(
                    n,
                    "involvement_ref",
                    f"Row {first} has the same involvement_ref: each involvement must appear once.",
                )
        if len(self.errors) > errors_before:
            return None
        return _Row(
            number=n,
            child_ref=child_ref,
            nhs_number=nhs_number or None,
            given_names=given_names,
            family_name=family_name,
            other_names=other_names,
            date_of_birth=date_of_birth,
            sex=sex,
            address=_AddressIn(
                line_1=line_1,
                postcode=postcode,
                local_authority_id=local_authority_id,
                since=address_since,
            ),
            involvement_ref=involvement_ref,
            service_id=service_id,
            organisation=organisation,
            practitioner_name=practitioner_name,
            practitioner_job_title=practitioner_job_title,
            practitioner_phone=practitioner_phone,
            practitioner_email=practitioner_email,
            started_on=started_on,
            ended_on=ended_on or None,
            lead_professional=lead == "yes",
        )

    def _error(self, row: int, column: str, message: str) -> None:
        self.errors.append(RowError(row, column, message))

    def _date(self, row: int, column: str, value: str | None) -> date | None:
        if not value:
            return None
        if value not in self._dates:
            parsed = None
            if _DATE.fullmatch(value):
                try:
                    parsed = date.fromisoformat(value)
                except ValueError:
                    parsed = None
            self._dates[value] = parsed
        parsed = self._dates[value]
        if parsed is None:
            self._error(row, column, "Enter a real date in the format YYYY-MM-DD.")
        return parsed

    def _past_date(self, row: int, column: str, value: str | None) -> date | None:
        parsed = self._date(row, column, value)
        if parsed and parsed > self.today:
            self._error(row, column, "The date is in the future.")
            return None
        return parsed

    def _date_of_birth(self, row: int, value: str | None) -> date | None:
        parsed = self._date(row, "date_of_birth", value)
        if parsed is None:
            return None
        if parsed > self.today:
            self._error(row, "date_of_birth", "The date of birth is in the future.")
            return None
        if parsed <= self.adult_born_by:
            self._error(
                row,
                "date_of_birth",
                "The child is 18 or over: the register holds only children under 18.",
            )
            return None
        return parsed

    def _choice(
        self, row: int, column: str, value: str | None, allowed: frozenset[str], message: str
    ) -> str | None:
        if value is None:
            return None
        value = value.lower()
        if value not in allowed:
            self._error(row, column, message)
            return None
        return value

    def _nhs_number(self, row: int, value: str | None) -> str | None:
        if not value:
            return value
        number = normalise_nhs_number(value)
        try:
            if not number.isascii():  # other scripts' digits pass the validator's \d
                raise ValidationError("Enter a valid 10-digit NHS number")
            validate_nhs_number(number)
        except ValidationError as error:
            self._error(row, "nhs_number", error.messages[0])
            return None
        return number

    def _postcode(self, row: int, value: str | None) -> str | None:
        if value is None:
            return None
        if value not in self._postcodes:
            try:
                validate_postcode(value)
                self._postcodes[value] = (normalise_postcode(value), "")
            except ValidationError as error:
                self._postcodes[value] = (None, error.messages[0])
        postcode, problem = self._postcodes[value]
        if problem:
            self._error(row, "postcode", problem)
        return postcode

    def _local_authority(self, row: int, value: str | None) -> int | None:
        if value is None:
            return None
        found = self.local_authorities.get(value.upper())
        if found is None:
            self._error(
                row,
                "local_authority",
                f"No local authority has the ONS code {_quoted(value)}: use the code of the "
                "authority the address is in, like E09000033.",
            )
        return found

    def _service(self, row: int, value: str | None) -> int | None:
        if value is None:
            return None
        found = self.services.get(value.lower())
        if found is None:
            self._error(
                row,
                "service",
                f"{_quoted(value)} is not a service code: use one of "
                f"{', '.join(sorted(self.services))}.",
            )
        return found

    def _email(self, row: int, value: str | None) -> str | None:
        if not value or value in self._emails:
            return value
        try:
            _email(value)
            self._emails.add(value)
        except ValidationError:
            self._error(row, "practitioner_email", "Enter an e-mail address like name@example.org.")
            return None
        return value

    def _other_names(self, row: int, value: str | None) -> tuple[tuple[str, str], ...] | None:
        if not value:
            return () if value == "" else None
        names: dict[tuple[str, str], None] = {}
        limit = MAX_LENGTHS["given_names"]
        for part in value.split(";"):
            if not part.strip():
                continue
            family, comma, given = part.partition(",")
            family, given = family.strip(), given.strip()
            if not comma or not family or not given:
                self._error(
                    row,
                    "other_names",
                    "Write each name as 'family, given', separated by ';', like "
                    "'Byrne, Aoife; Smith, Eilidh Anne'.",
                )
                return None
            if len(family) > limit or len(given) > limit:
                self._error(row, "other_names", f"A name is too long: at most {limit} characters.")
                return None
            names[(given, family)] = None
        return tuple(names)


def _quoted(value: str) -> str:
    return f"'{value[:40]}'" if value else "''"


@dataclass(slots=True)
class _ChildIn:
    """What the file says about one child_ref."""

    first: _Row
    nhs_number: str | None
    other_names: dict[tuple[str, str], None]
    addresses: dict[date, tuple[_AddressIn, int]]  # address_since -> (address, row)
    rows: list[_Row]
    open_lead_row: int | None
    # Filled in against the register (pk None: a child this import creates):
    child: "_HeldChild | None" = None
    attach: bool = False
    # The register's child with this NHS number, when the import's area may not manage it
    # (children.access): the rows wait for the area's data managers instead.
    held_for: int | None = None


def _collect(rows: Iterable[_Row], errors: list[RowError]) -> dict[str, _ChildIn]:
    """Groups rows by child_ref, refusing rows that disagree about the child."""
    children: dict[str, _ChildIn] = {}
    nhs_refs: dict[str, tuple[str, int]] = {}

    def claim_nhs(row: _Row) -> bool:
        ref, first = nhs_refs.setdefault(row.nhs_number, (row.child_ref, row.number))
        if ref != row.child_ref:
            errors.append(
                RowError(
                    row.number,
                    "nhs_number",
                    f"Row {first} gives the same NHS number for a different child_ref.",
                )
            )
            return False
        return True

    for row in rows:
        child = children.get(row.child_ref)
        if child is None:
            if row.nhs_number and not claim_nhs(row):
                continue
            children[row.child_ref] = _ChildIn(
                first=row,
                nhs_number=row.nhs_number,
                other_names=dict.fromkeys(row.other_names),
                addresses={row.address.since: (row.address, row.number)},
                rows=[row],
                open_lead_row=row.number if row.is_open_lead else None,
            )
            continue
        first = child.first
        disagreements = [
            column
            for column, theirs, ours in (
                ("date_of_birth", first.date_of_birth, row.date_of_birth),
                ("sex", first.sex, row.sex),
                ("given_names", first.given_names, row.given_names),
                ("family_name", first.family_name, row.family_name),
            )
            if theirs != ours
        ]
        if row.nhs_number and child.nhs_number and row.nhs_number != child.nhs_number:
            disagreements.insert(0, "nhs_number")
        for column in disagreements:
            errors.append(
                RowError(
                    row.number,
                    column,
                    f"Differs from row {first.number}, which has the same child_ref: "
                    "rows about one child must agree.",
                )
            )
        held = child.addresses.get(row.address.since)
        if held and held[0] != row.address:
            column = next(
                name
                for name, theirs, ours in (
                    ("address_line_1", held[0].line_1, row.address.line_1),
                    ("postcode", held[0].postcode, row.address.postcode),
                    ("local_authority", held[0].local_authority_id, row.address.local_authority_id),
                )
                if theirs != ours
            )
            errors.append(
                RowError(
                    row.number,
                    column,
                    f"Row {held[1]} gives a different address for the same child_ref and "
                    "address_since.",
                )
            )
            disagreements.append(column)
        if row.is_open_lead and child.open_lead_row is not None:
            errors.append(
                RowError(
                    row.number,
                    "lead_professional",
                    f"Row {child.open_lead_row} already makes an open involvement with this child "
                    "the lead professional: a child has one lead professional at a time.",
                )
            )
            disagreements.append("lead_professional")
        if row.nhs_number and not child.nhs_number and not claim_nhs(row):
            disagreements.append("nhs_number")
        if disagreements:
            continue
        child.nhs_number = child.nhs_number or row.nhs_number
        child.other_names.update(dict.fromkeys(row.other_names))
        child.addresses.setdefault(row.address.since, (row.address, row.number))
        child.rows.append(row)
        if row.is_open_lead:
            child.open_lead_row = row.number
    return children


# --- Importing ---------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


def import_rows(
    *,
    rows: ParsedFile | Iterable[Mapping[str, Any]],
    source: str,
    dry_run: bool = False,
    request: HttpRequest | None = None,
    today: date | None = None,
    accept_as_new: Collection[str] = (),
    area: Organisation | None = None,
) -> ImportReport:
    """Imports rows from a source system: all of them in one transaction, or none.

    `rows` is a parse_file/parse_bytes result, or decoded JSON (a list of
    objects, numbered from 1). A dry run checks everything and counts what
    would change, and writes nothing. New child_refs that look like a child on
    the register are held for review (HeldRow), except those in `accept_as_new`
    (a data manager has decided they are a different child). With `area` (the
    feed API: the token's local authority), rows whose NHS number belongs to a
    record the area may not manage (children.access: another area's, or shielded
    by another authority) are held for the area's data managers too, and answered
    like any held row, so the caller learns nothing about children outside its
    area. The import is audited whatever happens; AuditWriteError propagates (and
    nothing is imported) if it cannot be.
    """
    if isinstance(rows, Iterator):
        rows = list(rows)
    parsed = rows if isinstance(rows, ParsedFile) else parse_data(rows)
    source = source.strip() if isinstance(source, str) else ""
    today = today or timezone.localdate()
    errors = list(parsed.errors)
    if not SOURCE_NAME.fullmatch(source):
        # Reported and audited as given, in printable ASCII.
        source = source[:100].encode("ascii", "backslashreplace").decode("ascii")
        errors.insert(
            0,
            RowError(
                None,
                "",
                "The source name must be 1 to 100 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit.",
            ),
        )
    base = {
        "source": source,
        "file_sha256": parsed.sha256,
        "rows": len(parsed.rows),
        "dry_run": dry_run,
    }
    try:
        with transaction.atomic():
            if not dry_run and connection.vendor == "postgresql":
                # Imports (and the feed) queue here, so two never race for the same refs.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
            children, involvements, held = _import(
                parsed=parsed,
                source=source,
                dry_run=dry_run,
                today=today,
                errors=errors,
                accept_as_new=frozenset(accept_as_new),
                area=area,
            )
            report = ImportReport(
                **base,
                outcome=Outcome.DRY_RUN if dry_run else Outcome.COMMITTED,
                children=children,
                involvements=involvements,
                held=held,
            )
            _audit(report=report, request=request)
    except _Refused as refused:
        report = ImportReport(**base, outcome=Outcome.REFUSED, errors=_sorted(refused.errors))
        with transaction.atomic():  # the import wrote nothing; the refusal is still recorded
            _audit(report=report, request=request)
    except IntegrityError:
        logger.warning("Import from source %s hit a concurrent change; nothing written", source)
        problem = RowError(
            None,
            "",
            "The register changed while the file was being imported (another import or an "
            "edit), so nothing was imported. Run the import again.",
        )
        report = ImportReport(**base, outcome=Outcome.REFUSED, errors=(problem,))
        with transaction.atomic():
            _audit(report=report, request=request)
    return report


def _audit(*, report: ImportReport, request: HttpRequest | None) -> None:
    record(
        request=request,
        action=Action.RECORD_IMPORT,
        outcome=report.outcome.value,
        result_count=report.rows,
        detail=report.audit_detail(),
    )
    # The source name and counts only: log lines never carry child data.
    logger.info(
        "Import from source %s: %s, %d rows, %d problems, children %s, involvements %s, %d held",
        report.source,
        report.outcome.value,
        report.rows,
        len(report.errors),
        report.children,
        report.involvements,
        len(report.held),
    )


def _sorted(errors: list[RowError]) -> tuple[RowError, ...]:
    return tuple(
        sorted(
            dict.fromkeys(errors),
            key=lambda error: (
                error.row is not None,
                error.row or 0,
                _COLUMN_ORDER.get(error.field, -1),
            ),
        )
    )


def _import(
    *,
    parsed: ParsedFile,
    source: str,
    dry_run: bool,
    today: date,
    errors: list[RowError],
    accept_as_new: frozenset[str],
    area: Organisation | None,
) -> tuple[Counts, Counts, tuple[HeldGroup, ...]]:
    checker = _RowChecker(
        today=today,
        services=dict(Service.objects.values_list("code", "pk")),
        local_authorities=dict(
            Organisation.objects.filter(kind=Organisation.Kind.LOCAL_AUTHORITY).values_list(
                "ons_code", "pk"
            )
        ),
        errors=errors,
    )
    checked = [row for row in map(checker.check, parsed.rows) if row is not None]
    children = _collect(checked, errors)
    if errors:
        raise _Refused(errors)
    register = _Register.load(children=children, source=source)
    if area is not None:
        register.not_managed = _not_managed_by(area, set(register.nhs_children.values()))
    _match(children=children, register=register, source=source, errors=errors)
    if errors:
        raise _Refused(errors)
    held = _hold(children=children, source=source, accept_as_new=accept_as_new)
    plan = _plan(children=children, register=register)
    if not dry_run:
        now = timezone.now()
        _write(plan=plan, source=source, now=now)
        _write_held(held=held, parsed=parsed, source=source, now=now)
    groups = tuple(
        HeldGroup(rows=tuple(row.number for row in held_in.incoming.rows), child_ref=ref)
        for ref, held_in in held.held.items()
    )
    return plan.child_counts, plan.involvement_counts, groups


def _chunks(items: list) -> Iterator[list]:
    size = QUERY_CHUNK * (10 if connection.vendor == "postgresql" else 1)
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _AnyOf(Lookup):
    """`column = ANY(%s)` with the values as one array parameter (PostgreSQL).

    Not registered as a lookup: _within builds it. psycopg parses a query with
    thousands of IN (...) placeholders slowly, and `IN (SELECT unnest(...))`
    leaves the planner guessing the row count, which after a big import with
    stale statistics meant a nested loop taking minutes.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, list(self.rhs)]


def _within(field_name: str, values: list) -> Q:
    """`field IN values`, as one array parameter on PostgreSQL."""
    if connection.vendor == "postgresql":
        return Q(_AnyOf(F(field_name), values))
    return Q(**{f"{field_name}__in": values})


# What the register holds, as light records (model instances cost ten times more to build).


@dataclass(slots=True)
class _HeldChild:
    pk: int | None
    nhs_number: str | None
    date_of_birth: date
    sex: str
    retention_ends_on: date


@dataclass(slots=True)
class _HeldName:
    pk: int
    kind: str
    given_names: str
    family_name: str


@dataclass(slots=True)
class _HeldAddress:
    pk: int | None
    line_1: str
    postcode: str
    local_authority_id: int
    moved_in_on: date
    moved_out_on: date | None

    @property
    def details(self) -> tuple[str, str, int]:
        return (self.line_1, self.postcode, self.local_authority_id)


# Compared to see whether an involvement changed; confirmed_at is deliberately not here.
_INVOLVEMENT_FIELDS = (
    "service_id",
    "organisation_id",
    "practitioner_name",
    "practitioner_job_title",
    "practitioner_phone",
    "practitioner_email",
    "started_on",
    "ended_on",
    "lead_professional",
)


@dataclass
class _Register:
    """What the register already holds about the file's children and involvements."""

    ref_children: dict[str, int]  # child_ref -> child id (this source)
    nhs_children: dict[str, int]  # NHS number -> child id
    # involvement_ref -> (id, child id, *_INVOLVEMENT_FIELDS), for this source
    involvements: dict[str, tuple]
    children: dict[int, _HeldChild] = field(default_factory=dict)
    # Ids of the NHS numbers' holders that the importing area may not manage.
    not_managed: set[int] = field(default_factory=set)
    names: dict[int, list[_HeldName]] = field(default_factory=dict)
    addresses: dict[int, list[_HeldAddress]] = field(default_factory=dict)
    # child id -> [(involvement id, started_on, ended_on, lead_professional, source, source_id)]
    periods: dict[int, list[tuple]] = field(default_factory=dict)

    @classmethod
    def load(cls, *, children: Mapping[str, _ChildIn], source: str) -> "_Register":
        numbers = [child.nhs_number for child in children.values() if child.nhs_number]
        involvement_refs = [row.involvement_ref for c in children.values() for row in c.rows]
        ref_children: dict[str, int] = {}
        for chunk in _chunks(list(children)):
            ref_children.update(
                SourceRecord.objects.filter(
                    _within("source_ref", chunk), source=source
                ).values_list("source_ref", "child_id")
            )
        nhs_children: dict[str, int] = {}
        for chunk in _chunks(numbers):
            nhs_children.update(
                Child.objects.filter(_within("nhs_number", chunk)).values_list("nhs_number", "pk")
            )
        involvements: dict[str, tuple] = {}
        for chunk in _chunks(involvement_refs):
            held = Involvement.objects.filter(_within("source_id", chunk), source=source)
            for ref, *values in held.order_by().values_list(
                "source_id", "pk", "child_id", *_INVOLVEMENT_FIELDS
            ):
                involvements[ref] = tuple(values)
        return cls(ref_children=ref_children, nhs_children=nhs_children, involvements=involvements)

    def load_children(self, child_ids: list[int]) -> None:
        for chunk in _chunks(child_ids):
            for pk, *values in Child.objects.filter(_within("pk", chunk)).values_list(
                "pk", "nhs_number", "date_of_birth", "sex", "retention_ends_on"
            ):
                self.children[pk] = _HeldChild(pk, *values)
            for child_id, *values in (
                Name.objects.filter(_within("child_id", chunk))
                .order_by("pk")
                .values_list("child_id", "pk", "kind", "given_names", "family_name")
            ):
                self.names.setdefault(child_id, []).append(_HeldName(*values))
            for child_id, *values in (
                Address.objects.filter(_within("child_id", chunk))
                .order_by("pk")
                .values_list(
                    "child_id",
                    "pk",
                    "line_1",
                    "postcode",
                    "local_authority_id",
                    "moved_in_on",
                    "moved_out_on",
                )
            ):
                self.addresses.setdefault(child_id, []).append(_HeldAddress(*values))
            for child_id, *values in (
                Involvement.objects.filter(_within("child_id", chunk))
                .order_by()
                .values_list(
                    "child_id",
                    "pk",
                    "started_on",
                    "ended_on",
                    "lead_professional",
                    "source",
                    "source_id",
                )
            ):
                self.periods.setdefault(child_id, []).append(tuple(values))


def _not_managed_by(area: Organisation, child_ids: set[int]) -> set[int]:
    """Which of these children the area may not manage (children.access)."""
    from children.access import children_managed_by

    managed: set[int] = set()
    for chunk in _chunks(sorted(child_ids)):
        managed.update(
            children_managed_by(area=area).filter(_within("pk", chunk)).values_list("pk", flat=True)
        )
    return child_ids - managed


def _match(
    *, children: Mapping[str, _ChildIn], register: _Register, source: str, errors: list[RowError]
) -> None:
    """Finds each child_ref's child on the register and refuses what would break its rules."""
    child_rows: dict[int, int] = {}
    matched: dict[str, int] = {}
    for ref, incoming in children.items():
        row = incoming.first.number
        known = register.ref_children.get(ref)
        holder = register.nhs_children.get(incoming.nhs_number) if incoming.nhs_number else None
        if holder is not None and holder != known and holder in register.not_managed:
            # Another area's record (or one shielded by another authority): not this
            # import's to match or to refuse. Its data managers decide (held rows).
            incoming.held_for = holder
            continue
        if known is not None and holder is not None and holder != known:
            errors.append(
                RowError(
                    row,
                    "nhs_number",
                    "Another child on the register has this NHS number: they may be the same "
                    "child, and a data manager needs to merge the records first.",
                )
            )
            continue
        child_id = known if known is not None else holder
        if child_id is not None:
            first = child_rows.setdefault(child_id, row)
            if first != row:
                errors.append(
                    RowError(
                        row,
                        "child_ref",
                        f"This is the same child on the register as row {first} (by NHS "
                        "number), under a different child_ref.",
                    )
                )
                continue
            incoming.attach = known is None
        matched[ref] = child_id
    register.load_children(list(child_rows))
    for ref, child_id in matched.items():
        incoming = children[ref]
        if child_id is not None:
            incoming.child = register.children[child_id]
            _check_against_register(
                incoming=incoming, register=register, source=source, errors=errors
            )
        for row in incoming.rows:
            held = register.involvements.get(row.involvement_ref)
            if held is not None and held[1] != child_id:
                errors.append(
                    RowError(
                        row.number,
                        "involvement_ref",
                        "The register holds this involvement for a different child: a data "
                        "manager needs to correct it before it can be imported.",
                    )
                )


def _check_against_register(
    *, incoming: _ChildIn, register: _Register, source: str, errors: list[RowError]
) -> None:
    child = incoming.child
    if incoming.attach and child.date_of_birth != incoming.first.date_of_birth:
        errors.append(
            RowError(
                incoming.first.number,
                "date_of_birth",
                "A child on the register has this NHS number but a different date of birth: "
                "check both records.",
            )
        )
    if incoming.open_lead_row is None:
        return
    file_refs = {row.involvement_ref for row in incoming.rows}
    if any(
        lead and ended_on is None and not (held_source == source and held_ref in file_refs)
        for _, _, ended_on, lead, held_source, held_ref in register.periods.get(child.pk, ())
    ):
        errors.append(
            RowError(
                incoming.open_lead_row,
                "lead_professional",
                "The child already has an open lead professional in another record: close "
                "that involvement first, or send no.",
            )
        )


@dataclass(slots=True)
class _HeldIn:
    incoming: _ChildIn
    candidates: list[int]  # ids of the children on the register it looks like, best first
    # A child_ref earlier in the same file that this one is probably the same child as.
    same_as_ref: str | None = None


@dataclass
class _Holding:
    held: dict[str, _HeldIn] = field(default_factory=dict)  # child_ref -> its rows, held
    pending: dict[str, int] = field(default_factory=dict)  # child_ref -> unresolved HeldRow id


# The columns that describe the child rather than one involvement: when held rows are
# sent again, the newest rows' values of these apply to the rows kept from before.
_CHILD_COLUMNS = ("given_names", "family_name", "date_of_birth", "sex")


def _hold(*, children: dict[str, _ChildIn], source: str, accept_as_new: frozenset[str]) -> _Holding:
    """Takes out of `children` the new child_refs that must wait for a data manager: those
    that look like a child on the register, and those already waiting."""
    from children.probable_duplicates import probable_duplicate_ids, within

    holding = _Holding()
    for ref, incoming in list(children.items()):
        if incoming.held_for is not None:
            holding.held[ref] = _HeldIn(incoming=incoming, candidates=[incoming.held_for])
            del children[ref]
    new = {
        ref: incoming
        for ref, incoming in children.items()
        if incoming.child is None and ref not in accept_as_new
    }
    if holding.held:
        for chunk in _chunks(list(holding.held)):
            holding.pending.update(
                HeldRow.objects.filter(
                    _within("child_ref", chunk), source=source, resolved_at__isnull=True
                ).values_list("child_ref", "pk")
            )
    if not new:
        return holding
    for chunk in _chunks(list(new)):
        holding.pending.update(
            HeldRow.objects.filter(
                _within("child_ref", chunk), source=source, resolved_at__isnull=True
            ).values_list("child_ref", "pk")
        )
    people = {ref: _person(incoming) for ref, incoming in new.items()}
    found = probable_duplicate_ids(people)
    # New children of this file that are probably one listed before them in it: held too,
    # beside that child (or what that child was held for).
    same_as = within(people)
    for ref, incoming in new.items():
        earlier = same_as.get(ref)
        if ref in found or ref in holding.pending:
            holding.held[ref] = _HeldIn(incoming=incoming, candidates=found.get(ref, []))
        elif earlier is not None:
            before = holding.held.get(earlier)
            holding.held[ref] = _HeldIn(
                incoming=incoming,
                candidates=list(before.candidates) if before else [],
                same_as_ref=None if before else earlier,
            )
    for ref in holding.held:
        children.pop(ref, None)
    return holding


def _person(incoming: _ChildIn):
    from children.probable_duplicates import Person

    latest = max(incoming.rows, key=lambda row: (row.address.since, row.number))
    return Person(
        date_of_birth=incoming.first.date_of_birth,
        names=[(incoming.first.given_names, incoming.first.family_name), *incoming.other_names],
        postcode=latest.address.postcode or "",
        sex=incoming.first.sex or "",
        nhs_number=incoming.nhs_number or "",
    )


def _write_held(*, held: _Holding, parsed: ParsedFile, source: str, now: datetime) -> None:
    """Stores held rows as they were given; rows held before for the same child_ref are
    updated, not repeated."""
    if not held.held:
        return
    numbers = {row.number for held_in in held.held.values() for row in held_in.incoming.rows}
    values_of = {row.number: row.values for row in parsed.rows if row.number in numbers}
    ids = {child_id for held_in in held.held.values() for child_id in held_in.candidates}
    public_ids = dict(Child.objects.filter(pk__in=ids).values_list("pk", "public_id"))
    # Held beside a child of the same file, created by this import a moment ago.
    earlier = dict(
        SourceRecord.objects.filter(
            source=source,
            source_ref__in=[h.same_as_ref for h in held.held.values() if h.same_as_ref],
        ).values_list("source_ref", "child__public_id")
    )
    pending = HeldRow.objects.select_for_update().in_bulk(list(held.pending.values()))
    for ref, held_in in held.held.items():
        rows = [
            {column: str(values_of[row.number].get(column, "")) for column in COLUMNS}
            for row in held_in.incoming.rows
        ]
        latest = max(held_in.incoming.rows, key=lambda row: (row.address.since, row.number))
        values = {
            "local_authority_id": latest.address.local_authority_id,
            "candidates": [public_ids[pk] for pk in held_in.candidates if pk in public_ids]
            + ([earlier[held_in.same_as_ref]] if held_in.same_as_ref in earlier else []),
            "updated_at": now,
        }
        existing = pending.get(held.pending.get(ref))
        if existing is None:
            HeldRow.objects.create(
                source=source, child_ref=ref, rows=rows, created_at=now, **values
            )
            continue
        for name, value in values.items():
            setattr(existing, name, value)
        existing.rows = _merged_rows(existing.rows, rows)
        existing.save()


def _merged_rows(before: list[dict], rows: list[dict]) -> list[dict]:
    """The rows held before, with those for the same involvements replaced by the new ones
    and the child's own columns as the new rows give them."""
    newest = rows[0]
    refs = {row.get("involvement_ref") for row in rows}
    kept = []
    for row in before:
        if not isinstance(row, dict) or row.get("involvement_ref") in refs:
            continue
        row = {**row, **{column: newest.get(column, "") for column in _CHILD_COLUMNS}}
        if newest.get("nhs_number"):
            row["nhs_number"] = newest["nhs_number"]
        kept.append(row)
    return [*kept, *rows]


@dataclass
class _Plan:
    new_children: list[_ChildIn] = field(default_factory=list)
    changed_children: list[_HeldChild] = field(default_factory=list)
    retention_changed: list[_HeldChild] = field(default_factory=list)
    source_records: list[tuple[str, _ChildIn]] = field(default_factory=list)
    demoted_names: list[int] = field(default_factory=list)
    deleted_names: list[int] = field(default_factory=list)
    promoted_names: list[int] = field(default_factory=list)
    new_names: list[tuple[_ChildIn, str, str, str]] = field(default_factory=list)
    changed_addresses: list[_HeldAddress] = field(default_factory=list)
    # Existing children whose current address changes (names_follow_address after writing).
    readdressed: set[int] = field(default_factory=set)
    new_addresses: list[tuple[_ChildIn, _HeldAddress]] = field(default_factory=list)
    new_organisations: dict[tuple[int, str], str] = field(default_factory=dict)
    organisations: dict[tuple[int, str], int] = field(default_factory=dict)
    new_involvements: list[tuple[_ChildIn, _Row]] = field(default_factory=list)
    changed_involvements: list[tuple[int, _Row]] = field(default_factory=list)
    confirmed_involvements: list[int] = field(default_factory=list)
    child_counts: Counts = Counts()
    involvement_counts: Counts = Counts()


def _organisation_key(row: _Row) -> tuple[int, str]:
    return (row.address.local_authority_id, row.organisation.casefold())


def _plan(*, children: Mapping[str, _ChildIn], register: _Register) -> _Plan:
    """Works out every insert and update, without writing: a dry run stops here."""
    plan = _Plan()
    areas = sorted({row.address.local_authority_id for c in children.values() for row in c.rows})
    for chunk in _chunks(areas):
        organisations = Organisation.objects.filter(
            Q(pk__in=chunk) | Q(local_authority_id__in=chunk)
        ).order_by("pk")
        for pk, name, area in organisations.values_list("pk", "name", "local_authority_id"):
            plan.organisations.setdefault((area or pk, " ".join(name.split()).casefold()), pk)
    created = updated = unchanged = 0
    for ref, incoming in children.items():
        for row in incoming.rows:
            key = _organisation_key(row)
            if key not in plan.organisations:
                plan.new_organisations.setdefault(key, row.organisation)
        child = incoming.child
        periods = {}
        if child is None:
            created += 1
            child = incoming.child = _HeldChild(
                pk=None,
                nhs_number=incoming.nhs_number,
                date_of_birth=incoming.first.date_of_birth,
                sex=incoming.first.sex,
                retention_ends_on=date.min,
            )
            plan.new_children.append(incoming)
            plan.source_records.append((ref, incoming))
            _plan_names(incoming=incoming, held=[], plan=plan)
            _plan_addresses(incoming=incoming, held=[], plan=plan)
            details_changed = True
        else:
            changed = details_changed = _plan_child_details(incoming=incoming, child=child)
            if details_changed:
                plan.changed_children.append(child)
            if incoming.attach:
                plan.source_records.append((ref, incoming))
                changed = True
            names = register.names.get(child.pk, [])
            changed |= _plan_names(incoming=incoming, held=names, plan=plan)
            addresses = register.addresses.get(child.pk, [])
            changed |= _plan_addresses(incoming=incoming, held=addresses, plan=plan)
            if changed:
                updated += 1
            else:
                unchanged += 1
            periods = {
                pk: (started, ended)
                for pk, started, ended, *_ in register.periods.get(child.pk, ())
            }
        for row in incoming.rows:
            held = register.involvements.get(row.involvement_ref)
            periods[held[0] if held else ("new", row.number)] = (row.started_on, row.ended_on)
        retention = retention_ends_on(
            date_of_birth=child.date_of_birth, involvement_periods=periods.values()
        )
        if retention != child.retention_ends_on:
            child.retention_ends_on = retention
            if not details_changed:
                plan.retention_changed.append(child)
    plan.child_counts = Counts(created=created, updated=updated, unchanged=unchanged)
    _plan_involvements(children=children, register=register, plan=plan)
    return plan


def _plan_child_details(*, incoming: _ChildIn, child: _HeldChild) -> bool:
    changed = False
    if incoming.first.date_of_birth != child.date_of_birth:
        child.date_of_birth = incoming.first.date_of_birth
        changed = True
    if incoming.first.sex != child.sex and incoming.first.sex != Sex.UNKNOWN:
        child.sex = incoming.first.sex
        changed = True
    if incoming.nhs_number and incoming.nhs_number != child.nhs_number:
        child.nhs_number = incoming.nhs_number
        changed = True
    return changed


def _plan_names(*, incoming: _ChildIn, held: list[_HeldName], plan: _Plan) -> bool:
    given, family = incoming.first.given_names, incoming.first.family_name
    known = {(name.given_names, name.family_name) for name in held}
    current = next((name for name in held if name.kind == NameKind.CURRENT), None)
    changed = False
    if current is None or (current.given_names, current.family_name) != (given, family):
        previous = {
            (name.given_names, name.family_name): name
            for name in held
            if name.kind == NameKind.PREVIOUS
        }
        if current is not None:
            # The old current name stays findable, as a previous name.
            if (current.given_names, current.family_name) in previous:
                plan.deleted_names.append(current.pk)
            else:
                current.kind = NameKind.PREVIOUS
                plan.demoted_names.append(current.pk)
        # A name the child had before becomes current again rather than being repeated.
        former = previous.get((given, family))
        if former is not None:
            former.kind = NameKind.CURRENT
            plan.promoted_names.append(former.pk)
        else:
            plan.new_names.append((incoming, NameKind.CURRENT, given, family))
        known.add((given, family))
        changed = True
    for other in incoming.other_names:
        if other not in known:
            plan.new_names.append((incoming, NameKind.PREVIOUS, *other))
            known.add(other)
            changed = True
    return changed


def _plan_addresses(*, incoming: _ChildIn, held: list[_HeldAddress], plan: _Plan) -> bool:
    """Moves, corrections and past addresses: the rules in this module's docstring."""
    held = list(held)
    addresses: list[_AddressIn] = []
    for address in sorted((address for address, _ in incoming.addresses.values()), key=_since):
        if not addresses or addresses[-1].details != address.details:
            addresses.append(address)  # a later date at the same place is the same stay
    current = next((address for address in held if address.moved_out_on is None), None)
    boundary = current.moved_in_on if current else None
    changed = False
    dirty: list[_HeldAddress] = []

    def add(address: _AddressIn, moved_out_on: date | None) -> _HeldAddress:
        new = _HeldAddress(None, *address.details, address.since, moved_out_on)
        plan.new_addresses.append((incoming, new))
        held.append(new)
        return new

    for address in addresses:
        if current is None or address.since < boundary or address.details == current.details:
            continue
        if address.since == current.moved_in_on:  # a correction of the current address
            current.line_1, current.postcode, current.local_authority_id = address.details
        else:  # a move
            current.moved_out_on = address.since
        if current.pk is not None and not any(current is seen for seen in dirty):
            dirty.append(current)
            plan.changed_addresses.append(current)
            plan.readdressed.add(incoming.child.pk)
        if current.moved_out_on is not None:
            current = add(address, None)
        changed = True
    for address in reversed(addresses):
        if boundary is not None and address.since >= boundary:
            continue
        if any(
            held_address.moved_in_on == address.since
            or (
                held_address.details == address.details
                and held_address.moved_in_on <= address.since
                and (held_address.moved_out_on is None or address.since < held_address.moved_out_on)
            )
            for held_address in held
        ):
            continue  # the register knows where the child lived from that day
        following = min(
            (held_address for held_address in held if held_address.moved_in_on > address.since),
            key=_moved_in_on,
            default=None,
        )
        if following is not None and following.details == address.details:
            continue
        add(address, following.moved_in_on if following else None)
        changed = True
    return changed


def _since(address: _AddressIn) -> date:
    return address.since


def _moved_in_on(address: _HeldAddress) -> date:
    return address.moved_in_on


def _plan_involvements(
    *, children: Mapping[str, _ChildIn], register: _Register, plan: _Plan
) -> None:
    created = updated = unchanged = 0
    for incoming in children.values():
        for row in incoming.rows:
            held = register.involvements.get(row.involvement_ref)
            if held is None:
                plan.new_involvements.append((incoming, row))
                created += 1
                continue
            organisation_id = plan.organisations.get(_organisation_key(row))
            if held[2:] != _involvement_values(row, organisation_id):
                plan.changed_involvements.append((held[0], row))
                updated += 1
            else:
                plan.confirmed_involvements.append(held[0])
                unchanged += 1
    plan.involvement_counts = Counts(created=created, updated=updated, unchanged=unchanged)


def _involvement_values(row: _Row, organisation_id: int | None) -> tuple:
    """The row's values for _INVOLVEMENT_FIELDS, in that order."""
    return (
        row.service_id,
        organisation_id,
        row.practitioner_name,
        row.practitioner_job_title,
        row.practitioner_phone,
        row.practitioner_email,
        row.started_on,
        row.ended_on,
        row.lead_professional,
    )


# --- Writing -----------------------------------------------------------------------------
# Bulk statements only: bulk_create, bulk_update, update() and PostgreSQL's COPY send no
# model signals, so django-auditlog keeps no per-row change history of imported rows. That
# is deliberate: the import is audited as one RECORD_IMPORT event instead. (New partner
# agencies go through accounts.services and do get their history.)


# The order name_keys() gives them.
_NAME_KEYS = ("family_key", "given_key", "family_sound", "given_sound")


def _write(*, plan: _Plan, source: str, now: datetime) -> None:
    """Writes the plan in an order the register's one-current-of-each constraints accept."""
    areas = Organisation.objects.in_bulk({area for area, _ in plan.new_organisations})
    for key, name in plan.new_organisations.items():
        agency = partner_agency_get_or_create(name=name, local_authority=areas[key[0]])
        plan.organisations[key] = agency.pk
    _write_children(plan=plan, source=source, now=now)
    # Old names and addresses give way before new current ones arrive.
    for chunk in _chunks(plan.demoted_names):
        Name.objects.filter(_within("pk", chunk)).update(kind=NameKind.PREVIOUS)
    for chunk in _chunks(plan.deleted_names):
        Name.objects.filter(pk__in=chunk).delete()
    for chunk in _chunks(plan.promoted_names):
        Name.objects.filter(_within("pk", chunk)).update(kind=NameKind.CURRENT)
    _insert(
        Name,
        [
            "child_id",
            "kind",
            "given_names",
            "family_name",
            "date_of_birth",
            *_NAME_KEYS,
            "postcode",
            "outward_code",
        ],
        [
            (
                incoming.child.pk,
                kind,
                given,
                family,
                incoming.child.date_of_birth,
                *name_keys(given_names=given, family_name=family).values(),
                "",  # the current postcode follows (names_follow_address, below)
                "",
            )
            for incoming, kind, given, family in plan.new_names
        ],
    )
    Address.objects.bulk_update(
        [
            Address(
                pk=address.pk,
                line_1=address.line_1,
                postcode=address.postcode,
                outward_code=outward_code(address.postcode),
                local_authority_id=address.local_authority_id,
                moved_out_on=address.moved_out_on,
            )
            for address in plan.changed_addresses
        ],
        ["line_1", "postcode", "outward_code", "local_authority_id", "moved_out_on"],
        batch_size=BATCH_SIZE,
    )
    _insert(
        Address,
        [
            "child_id",
            "line_1",
            "postcode",
            "local_authority_id",
            "moved_in_on",
            "moved_out_on",
            "outward_code",
        ],
        [
            (
                incoming.child.pk,
                *address.details,
                address.moved_in_on,
                address.moved_out_on,
                outward_code(address.postcode),
            )
            for incoming, address in plan.new_addresses
        ],
    )
    # Names carry their child's current postcode too: new names and moved children.
    followed = plan.readdressed | {
        incoming.child.pk for incoming, *_ in plan.new_names if incoming.child.pk is not None
    }
    names_follow_address(child_ids=sorted(followed))
    _write_involvements(plan=plan, source=source, now=now)


def _write_children(*, plan: _Plan, source: str, now: datetime) -> None:
    new = [incoming.child for incoming in plan.new_children]
    ids = _insert(
        Child,
        [
            "public_id",
            "nhs_number",
            "date_of_birth",
            "sex",
            "shielded",
            "shielding_reason",
            "created_at",
            "updated_at",
            "retention_ends_on",
        ],
        [
            (
                public_id,
                child.nhs_number,
                child.date_of_birth,
                child.sex,
                False,
                "",
                now,
                now,
                child.retention_ends_on,
            )
            for child, public_id in zip(new, _unused_public_ids(len(new)), strict=True)
        ],
        returning_ids=True,
    )
    for child, pk in zip(new, ids, strict=True):
        child.pk = pk
    Child.objects.bulk_update(
        [
            Child(
                pk=child.pk,
                nhs_number=child.nhs_number,
                date_of_birth=child.date_of_birth,
                sex=child.sex,
                retention_ends_on=child.retention_ends_on,
                updated_at=now,
            )
            for child in plan.changed_children
        ],
        ["nhs_number", "date_of_birth", "sex", "retention_ends_on", "updated_at"],
        batch_size=BATCH_SIZE,
    )
    # Names carry their child's date of birth as a search key: keep them in step.
    for chunk in _chunks([child.pk for child in plan.changed_children]):
        Name.objects.filter(_within("child_id", chunk)).update(
            date_of_birth=Subquery(
                Child.objects.filter(pk=OuterRef("child_id")).values("date_of_birth")[:1]
            )
        )
    Child.objects.bulk_update(
        [
            Child(pk=child.pk, retention_ends_on=child.retention_ends_on)
            for child in plan.retention_changed
        ],
        ["retention_ends_on"],
        batch_size=BATCH_SIZE,
    )
    _insert(
        SourceRecord,
        ["source", "source_ref", "child_id"],
        [(source, ref, incoming.child.pk) for ref, incoming in plan.source_records],
    )


def _write_involvements(*, plan: _Plan, source: str, now: datetime) -> None:
    releasing, taking = [], []
    for pk, row in plan.changed_involvements:
        values = _involvement_values(row, plan.organisations[_organisation_key(row)])
        involvement = Involvement(
            pk=pk, confirmed_at=now, **dict(zip(_INVOLVEMENT_FIELDS, values, strict=True))
        )
        (taking if row.is_open_lead else releasing).append(involvement)
    # A child's open lead professional is unique: release the old one before taking it.
    fields = [*_INVOLVEMENT_FIELDS, "confirmed_at"]
    Involvement.objects.bulk_update(releasing, fields, batch_size=BATCH_SIZE)
    Involvement.objects.bulk_update(taking, fields, batch_size=BATCH_SIZE)
    for chunk in _chunks(plan.confirmed_involvements):
        Involvement.objects.filter(_within("pk", chunk)).update(confirmed_at=now)
    _insert(
        Involvement,
        ["child_id", *_INVOLVEMENT_FIELDS, "source", "source_id", "confirmed_at", "created_at"],
        [
            (
                incoming.child.pk,
                *_involvement_values(row, plan.organisations[_organisation_key(row)]),
                source,
                row.involvement_ref,
                now,
                now,
            )
            for incoming, row in plan.new_involvements
        ],
    )


def _insert(
    model: Any, fields: list[str], rows: list[tuple], *, returning_ids: bool = False
) -> list[int]:
    """Inserts rows of values for `fields` (attribute names); returns their ids if asked.

    PostgreSQL gets COPY, several times faster than INSERT for big imports, with ids
    taken from the table's sequence beforehand; other databases get bulk_create.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=BATCH_SIZE
        )
        return [instance.pk for instance in created] if returning_ids else []
    from psycopg import sql

    table = model._meta.db_table
    ids: list[int] = []
    columns = [model._meta.get_field(name).column for name in fields]
    with connection.cursor() as cursor:
        if returning_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
            columns.insert(0, model._meta.pk.column)
            rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    return ids


def _unused_public_ids(count: int) -> list[str]:
    chosen: set[str] = set()
    while len(chosen) < count:
        candidates = {new_public_id() for _ in range(count - len(chosen))} - chosen
        for chunk in _chunks(list(candidates)):
            candidates.difference_update(
                Child.objects.filter(_within("public_id", chunk)).values_list(
                    "public_id", flat=True
                )
            )
        chosen |= candidates
    return list(chosen)
