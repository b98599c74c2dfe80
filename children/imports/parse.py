"""Reading files: CSV or JSON (a file, bytes or decoded JSON) into rows of text."""

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from children.imports.rows import (
    _COLUMN_ORDER,
    MAX_LINE_BYTES,
    REQUIRED_COLUMNS,
    ParsedFile,
    RowError,
    SourceRow,
)

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UTF8_BOM = b"\xef\xbb\xbf"


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
