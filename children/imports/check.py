"""Checking rows (pure Python): rows of text become typed rows, or problems by row and column."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from children.identifiers import (
    normalise_nhs_number,
    normalise_postcode,
    validate_nhs_number,
    validate_postcode,
)
from children.imports.rows import (
    COLUMNS,
    MAX_CODE_LENGTH,
    MAX_LENGTHS,
    OPTIONAL_COLUMNS,
    SEXES,
    YES_NO,
    RowError,
    SourceRow,
)
from children.involvement_rules import lead_professional_gaps

# (column, most characters, required) for the row checker's first pass.
_TEXT_COLUMNS = tuple(
    (column, MAX_LENGTHS.get(column, MAX_CODE_LENGTH), column not in OPTIONAL_COLUMNS)
    for column in COLUMNS
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only, unlike \d
_email = EmailValidator()


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
