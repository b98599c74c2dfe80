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

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Organisation
from accounts.services import partner_agency_get_or_create
from audit.models import Action
from audit.services import record
from children.identifiers import outward_code
from children.imports.check import _RowChecker
from children.imports.collect import _collect
from children.imports.hold import _hold, _write_held
from children.imports.match import _match
from children.imports.parse import NUMBERS_AS_TEXT, parse_bytes, parse_data, parse_file
from children.imports.plan import _Plan, _plan
from children.imports.register import _chunks, _not_managed_by, _Register, _within
from children.imports.rows import (
    _COLUMN_ORDER,
    BATCH_SIZE,
    COLUMNS,
    IMPORT_LOCK_KEY,
    MAX_CODE_LENGTH,
    MAX_LENGTHS,
    MAX_LINE_BYTES,
    OPTIONAL_COLUMNS,
    QUERY_CHUNK,
    REQUIRED_COLUMNS,
    SEXES,
    SOURCE_NAME,
    YES_NO,
    Counts,
    HeldGroup,
    ImportReport,
    Outcome,
    ParsedFile,
    RowError,
    SourceRow,
)
from children.imports.write import _insert, _write_children, _write_involvements
from children.matching import name_keys
from children.models import Address, Name, NameKind, Service
from children.services import names_follow_address

__all__ = [
    "BATCH_SIZE",
    "COLUMNS",
    "IMPORT_LOCK_KEY",
    "MAX_CODE_LENGTH",
    "MAX_LENGTHS",
    "MAX_LINE_BYTES",
    "NUMBERS_AS_TEXT",
    "OPTIONAL_COLUMNS",
    "QUERY_CHUNK",
    "REQUIRED_COLUMNS",
    "SEXES",
    "SOURCE_NAME",
    "YES_NO",
    "Counts",
    "HeldGroup",
    "ImportReport",
    "Outcome",
    "ParsedFile",
    "RowError",
    "SourceRow",
    "import_rows",
    "parse_bytes",
    "parse_data",
    "parse_file",
]


logger = logging.getLogger(__name__)


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


# --- Writing (the rest is in children.imports.write) -------------------------------------
# _write stays in this module: it calls _write_involvements from here, where a test
# replaces it to make an import fail part way (tests/children/test_import.py).


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
