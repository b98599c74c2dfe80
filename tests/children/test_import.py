"""Importing records (children.imports, `manage.py import_records`): all or nothing, idempotent."""

import csv
import io
import json
import logging
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import Organisation, Role
from audit.models import Action
from children import imports
from children.identifiers import is_valid_public_id
from children.imports import COLUMNS, MAX_LINE_BYTES, import_rows, parse_bytes, parse_file
from children.matching import phonetic
from children.models import Address, Child, Involvement, Name, NameKind, SourceRecord
from children.retention import retention_ends_on
from children.search import find_children
from tests.audit.helpers import events, last_event
from tests.factories import make_area, make_partner, make_user

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "import_example.csv"
TODAY = timezone.localdate()
CAMDEN, WESTMINSTER = "E09000007", "E09000033"
# 9434765919 and 2020-01-01 in Arabic-Indic digits, which a regular expression's \d matches.
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x660 + n) for n in range(10)))
ARABIC_INDIC_NHS_NUMBER = "9434765919".translate(ARABIC_INDIC)
ARABIC_INDIC_DATE = "2020-01-01".translate(ARABIC_INDIC)


@pytest.fixture
def areas():
    return {
        CAMDEN: make_area(code=CAMDEN, name="Camden"),
        WESTMINSTER: make_area(code=WESTMINSTER, name="Westminster"),
    }


def ago(**delta: int) -> str:
    return (TODAY - relativedelta(**delta)).isoformat()


# Other children than C1 are other children: names, a date of birth and an address of their
# own (the import holds a child_ref that looks like another one of the same file).
_SYLLABLES = [
    "ba",
    "ko",
    "ri",
    "mu",
    "sel",
    "dan",
    "vor",
    "lin",
    "pe",
    "tu",
    "gar",
    "mis",
    "no",
    "ha",
    "zel",
    "qua",
    "ru",
    "fen",
    "do",
    "ly",
]


_POSTCODE_AREAS = [
    "AL",
    "BA",
    "BD",
    "BH",
    "BN",
    "BS",
    "CB",
    "CF",
    "CM",
    "CT",
    "DE",
    "DN",
    "EX",
    "GL",
    "HP",
    "IP",
    "LE",
    "LN",
    "NR",
    "OX",
]


def other_child(ref: str) -> dict[str, str]:
    """The details of child_ref `ref` when it is not C1: distinct names for every ref (made
    of syllables), a date of birth and an address of its own. Refs whose names differ by one
    syllable, and so look alike, live in different postcode areas."""
    digits = "".join(char for char in ref if char.isdigit())
    n = int(digits) if digits else sum(ord(char) * 31**i for i, char in enumerate(ref)) % 8_000
    place = [n // 20**i % 20 for i in range(3)]
    syllable = [_SYLLABLES[p] for p in place]
    area = _POSTCODE_AREAS[sum(place) % 20]
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return {
        "given_names": (syllable[2] + syllable[0] + "a").capitalize(),
        "family_name": (syllable[0] + syllable[1] + syllable[2] + "son").capitalize(),
        "date_of_birth": ago(years=1 + n % 16, days=(n * 7) % 300),
        "address_line_1": f"{n} Example Road",
        "postcode": f"{area}{1 + n % 9} {n % 10}{letters[n % 20]}{letters[n // 20 % 20]}",
    }


def make_row(**values: str) -> dict[str, str]:
    """A valid row: child C1's involvement I1 with Camden's social care, open, not lead. Another
    child_ref is another child (other_child), unless the caller says otherwise."""
    row = {
        "child_ref": "C1",
        "nhs_number": "",
        "given_names": "Aoife",
        "family_name": "Byrne",
        "other_names": "",
        "date_of_birth": ago(years=6),
        "sex": "female",
        "address_line_1": "1 Example Road",
        "postcode": "NW1 8NP",
        "local_authority": CAMDEN,
        "address_since": ago(years=2),
        "involvement_ref": "I1",
        "service": "social_care",
        "organisation": "Camden",
        "practitioner_name": "Grace Adeyemi",
        "practitioner_job_title": "Social worker",
        "practitioner_phone": "020 7946 0101",
        "practitioner_email": "grace@camden.example.org",
        "started_on": ago(months=6),
        "ended_on": "",
        "lead_professional": "no",
    }
    ref = values.get("child_ref", "C1")
    if ref != "C1" and not values.get("nhs_number"):  # an NHS number says which child
        row.update(other_child(str(ref)))
    row.update(values)
    return row


def csv_bytes(rows: list[dict[str, str]], *, header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def import_csv(rows, *, source: str = "lcs", dry_run: bool = False, **options):
    return import_rows(
        rows=parse_bytes(csv_bytes(rows), format="csv"), source=source, dry_run=dry_run, **options
    )


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_records", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def register_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Child, Name, Address, Involvement, SourceRecord)
    }


def messages(report) -> list[str]:
    return [str(error) for error in report.errors]


def assert_every_child_has_an_involvement():
    assert not Child.objects.filter(involvements__isnull=True).exists()


def child_of(ref: str, source: str = "lcs") -> Child:
    return SourceRecord.objects.get(source=source, source_ref=ref).child


# --- The example file and the command ----------------------------------------------------


def test_example_file_imports_then_a_second_run_changes_nothing():
    call_command("load_local_authorities", stdout=io.StringIO())
    first = run(str(EXAMPLE), "--source", "lcs")
    assert "Children: 13 created, 0 updated, 0 unchanged." in first
    assert "Involvements: 30 created, 0 updated, 0 unchanged." in first
    assert_every_child_has_an_involvement()
    assert Child.objects.count() == 13
    assert all(
        is_valid_public_id(public_id)
        for public_id in Child.objects.values_list("public_id", flat=True)
    )

    moved = child_of("LCS-1003")
    addresses = list(moved.addresses.order_by("moved_in_on"))
    assert [a.local_authority.ons_code for a in addresses] == [CAMDEN, WESTMINSTER]
    assert addresses[0].moved_out_on == addresses[1].moved_in_on == date(2023, 2, 10)
    assert addresses[1].moved_out_on is None
    named = child_of("LCS-1002")
    assert set(named.names.values_list("kind", "given_names", "family_name")) == {
        (NameKind.CURRENT, "Eilidh Anne", "Murray"),
        (NameKind.PREVIOUS, "Eilidh Anne", "Smith"),
        (NameKind.PREVIOUS, "Eilidh", "Byrne"),
    }
    assert child_of("LCS-1001").nhs_number == "9990000042"  # spaces normalised
    assert child_of("LCS-1004").involvements.filter(service__sensitive=True).count() == 1

    second = run(str(EXAMPLE), "--source", "lcs")
    assert "Children: 0 created, 0 updated, 13 unchanged." in second
    assert "Involvements: 0 created, 0 updated, 30 unchanged." in second


def test_command_dry_run_writes_nothing_and_says_so():
    call_command("load_local_authorities", stdout=io.StringIO())
    out = run(str(EXAMPLE), "--source", "lcs", "--dry-run")
    assert "Dry run" in out
    assert "Children: 13 created, 0 updated, 0 unchanged." in out
    assert register_counts() == dict.fromkeys(register_counts(), 0)
    assert not Organisation.objects.filter(kind=Organisation.Kind.PARTNER_AGENCY).exists()
    assert last_event().outcome == "dry_run"


def test_command_refuses_a_bad_file_with_row_numbered_errors_and_no_traceback(areas, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        csv_bytes([make_row(), make_row(involvement_ref="I2", date_of_birth="14/03/2016")])
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="File refused: 1 problem"):
        call_command(
            "import_records", str(path), "--source", "lcs", stdout=io.StringIO(), stderr=err
        )
    assert "Row 3: date_of_birth: Enter a real date in the format YYYY-MM-DD." in err.getvalue()
    assert not Child.objects.exists()


def test_command_reports_a_missing_file_without_a_traceback(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run(str(tmp_path / "missing.csv"), "--source", "lcs")


def test_command_needs_a_source(tmp_path):
    with pytest.raises(CommandError, match="--source"):
        run(str(EXAMPLE))


def test_command_reads_json(areas, tmp_path):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([make_row(), make_row(involvement_ref="I2", service="education")]))
    out = run(str(path), "--source", "lcs")
    assert "Children: 1 created" in out
    assert "Involvements: 2 created" in out


# --- Errors: every bad row, with its spreadsheet row number --------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"given_names": ""}, "given_names: Is missing: this column must have a value."),
        ({"postcode": "  "}, "postcode: Is missing"),
        (
            {"date_of_birth": "14/03/2016"},
            "date_of_birth: Enter a real date in the format YYYY-MM-DD.",
        ),
        (
            {"date_of_birth": "2016-02-30"},
            "date_of_birth: Enter a real date in the format YYYY-MM-DD.",
        ),
        ({"started_on": "yesterday"}, "started_on: Enter a real date"),
        (
            {"date_of_birth": (TODAY + timedelta(days=1)).isoformat()},
            "date_of_birth: The date of birth is in the future.",
        ),
        ({"date_of_birth": ago(years=18)}, "date_of_birth: The child is 18 or over"),
        ({"date_of_birth": ago(years=40)}, "date_of_birth: The child is 18 or over"),
        ({"postcode": "NOT A POSTCODE"}, "postcode: Enter a real UK postcode, like SW1A 1AA"),
        ({"nhs_number": "9434765918"}, "nhs_number: Enter a valid 10-digit NHS number"),
        ({"nhs_number": "12345"}, "nhs_number: Enter a valid 10-digit NHS number"),
        ({"nhs_number": ARABIC_INDIC_NHS_NUMBER}, "nhs_number: Enter a valid 10-digit NHS number"),
        ({"date_of_birth": ARABIC_INDIC_DATE}, "date_of_birth: Enter a real date"),
        (
            {"service": "socialcare"},
            "service: 'socialcare' is not a service code: use one of camhs,",
        ),
        (
            {"local_authority": "E09999999"},
            "local_authority: No local authority has the ONS code 'E09999999'",
        ),
        (
            {"local_authority": "Camden"},
            "local_authority: No local authority has the ONS code 'Camden'",
        ),
        (
            {"started_on": ago(months=1), "ended_on": ago(months=2)},
            "ended_on: The end date must be on or after the start date.",
        ),
        (
            {"started_on": (TODAY + timedelta(days=3)).isoformat()},
            "started_on: The date is in the future.",
        ),
        (
            {"ended_on": (TODAY + timedelta(days=3)).isoformat()},
            "ended_on: The date is in the future.",
        ),
        (
            {"address_since": (TODAY + timedelta(days=3)).isoformat()},
            "address_since: The date is in the future.",
        ),
        ({"sex": "f"}, "sex: Enter female, male, other or unknown."),
        ({"lead_professional": "maybe"}, "lead_professional: Enter yes or no."),
        ({"practitioner_email": "grace at camden"}, "practitioner_email: Enter an e-mail address"),
        ({"other_names": "Aoife Byrne"}, "other_names: Write each name as 'family, given'"),
        ({"given_names": "A" * 201}, "given_names: Is too long: at most 200 characters, not 201."),
        ({"address_line_1": "x" * 5_000}, "address_line_1: Is too long: at most 200 characters"),
        (
            {"practitioner_phone": "0" * 41},
            "practitioner_phone: Is too long: at most 40 characters",
        ),
        ({"child_ref": "r" * 101}, "child_ref: Is too long: at most 100 characters"),
        ({"family_name": "By\x00rne"}, "family_name: Contains a NUL character"),
    ],
)
def test_a_bad_value_refuses_the_file_naming_row_and_column(areas, values, expected):
    report = import_csv([make_row(), make_row(involvement_ref="I2", **values)])
    assert report.refused
    assert len(report.errors) == 1
    assert messages(report)[0].startswith(f"Row 3: {expected}")
    assert register_counts() == dict.fromkeys(register_counts(), 0)


def test_every_bad_row_is_reported_not_just_the_first(areas):
    rows = [
        make_row(),
        make_row(involvement_ref="I2", date_of_birth="bad"),
        make_row(involvement_ref="I3"),
        make_row(involvement_ref="I4", postcode="nope", service="nope"),
    ]
    report = import_csv(rows)
    assert messages(report) == [
        "Row 3: date_of_birth: Enter a real date in the format YYYY-MM-DD.",
        "Row 5: postcode: Enter a real UK postcode, like SW1A 1AA",
        f"Row 5: service: 'nope' is not a service code: use one of {', '.join(_services())}.",
    ]


def _services() -> list[str]:
    from children.models import Service

    return sorted(Service.objects.values_list("code", flat=True))


def test_the_day_a_child_turns_18_they_are_refused_and_the_day_before_accepted(areas):
    today = date(2026, 3, 1)
    turns_18_today = make_row(date_of_birth="2008-03-01")
    assert import_csv([turns_18_today], today=today, dry_run=True).refused
    still_17 = make_row(
        date_of_birth="2008-03-02", started_on="2026-01-01", address_since="2020-01-01"
    )
    assert not import_csv([still_17], today=today, dry_run=True).refused


def test_duplicate_involvement_ref_in_one_file(areas):
    report = import_csv([make_row(), make_row(child_ref="C2")])
    assert messages(report) == [
        "Row 3: involvement_ref: Row 2 has the same involvement_ref: each involvement must "
        "appear once."
    ]


@pytest.mark.parametrize(
    ("column", "first", "second"),
    [
        ("date_of_birth", ago(years=6), ago(years=7)),
        ("nhs_number", "9434765919", "9990000042"),
        ("sex", "female", "unknown"),
        ("family_name", "Byrne", "Burn"),
    ],
)
def test_rows_about_one_child_must_agree(areas, column, first, second):
    report = import_csv(
        [make_row(**{column: first}), make_row(involvement_ref="I2", **{column: second})]
    )
    assert messages(report) == [
        f"Row 3: {column}: Differs from row 2, which has the same child_ref: rows about one "
        "child must agree."
    ]


def test_an_nhs_number_on_one_row_only_is_not_a_disagreement(areas):
    report = import_csv([make_row(), make_row(involvement_ref="I2", nhs_number="943 476 5919")])
    assert not report.refused
    assert child_of("C1").nhs_number == "9434765919"


def test_rows_about_one_child_give_one_address_per_address_since(areas):
    report = import_csv([make_row(), make_row(involvement_ref="I2", postcode="NW5 2HB")])
    assert messages(report) == [
        "Row 3: postcode: Row 2 gives a different address for the same child_ref and address_since."
    ]


def test_one_nhs_number_for_two_child_refs_is_refused(areas):
    report = import_csv(
        [
            make_row(nhs_number="9434765919"),
            make_row(child_ref="C2", involvement_ref="I2", nhs_number="9434765919"),
        ]
    )
    assert messages(report) == [
        "Row 3: nhs_number: Row 2 gives the same NHS number for a different child_ref."
    ]


def test_two_open_lead_professionals_for_one_child_in_a_file(areas):
    rows = [
        make_row(lead_professional="yes"),
        make_row(involvement_ref="I2", lead_professional="YES"),
    ]
    report = import_csv(rows)
    assert [(e.row, e.field) for e in report.errors] == [(3, "lead_professional")]
    # A closed lead-professional involvement is no conflict.
    rows[0]["ended_on"] = ago(months=1)
    assert not import_csv(rows).refused


def test_a_ten_megabyte_line_is_reported_without_reading_it_into_memory(areas, tmp_path):
    path = tmp_path / "long.csv"
    good = csv_bytes([make_row()])
    with path.open("wb") as handle:
        handle.write(good)
        handle.write(b"C2," + b"x" * (10 * 1024 * 1024) + b"\n")
        handle.write(csv_bytes([make_row(child_ref="C3", involvement_ref="I3")]).split(b"\n", 1)[1])
    tracemalloc.start()
    parsed = parse_file(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
    report = import_rows(rows=parsed, source="lcs")
    assert messages(report) == [
        f"Row 3: The row is longer than {MAX_LINE_BYTES:,} characters, so it was not read."
    ]
    assert report.rows == 3


def test_a_field_larger_than_the_csv_limit_is_a_row_error(areas):
    # A quoted value spanning many lines, each under the line limit.
    chunk = "y" * 60_000
    data = csv_bytes([make_row()]) + f'C2,"{chunk}\n{chunk}\n{chunk}",x\n'.encode()
    report = import_rows(rows=parse_bytes(data, format="csv"), source="lcs")
    assert report.refused
    assert messages(report)[0].startswith("Row 3: The row could not be read as CSV")


def test_bytes_that_are_not_utf8_are_reported_by_row(areas):
    data = csv_bytes([make_row(), make_row(involvement_ref="I2"), make_row(involvement_ref="I3")])
    lines = data.split(b"\n")
    lines[2] = lines[2].replace(b"Byrne", b"B\xe9rne")  # Latin-1, as Excel's plain CSV writes
    report = import_rows(rows=parse_bytes(b"\n".join(lines), format="csv"), source="lcs")
    assert messages(report) == [
        "Row 3: The row has characters that are not UTF-8 text: save the file as 'CSV UTF-8' "
        "and try again."
    ]


def test_utf8_text_and_a_byte_order_mark_are_fine(areas):
    data = b"\xef\xbb\xbf" + csv_bytes([make_row(given_names="Zoë", family_name="Ó Súilleabháin")])
    assert not import_rows(rows=parse_bytes(data, format="csv"), source="lcs").refused
    assert Name.objects.get().family_name == "Ó Súilleabháin"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty."),
        (b"\n\n", "The first row must be the header row, naming the columns."),
        (b"a,b\n1,2\n", "The first row must be the header row, naming the columns; the"),
        (",".join(COLUMNS).encode() + b"\n", "The file has a header row but no records."),
        (",".join(COLUMNS).encode() + b"\n,,,,\n\n", "The file has a header row but no records."),
    ],
)
def test_an_empty_file_or_header_alone_is_one_clear_error(areas, data, expected):
    report = import_rows(rows=parse_bytes(data, format="csv"), source="lcs")
    assert len(report.errors) == 1
    assert messages(report)[0].startswith(expected)
    assert last_event().outcome == "refused"


def test_a_missing_required_column_is_one_error_not_one_per_row(areas):
    header = [column for column in COLUMNS if column not in ("postcode", "sex")]
    rows = [
        {k: v for k, v in make_row(involvement_ref=f"I{n}").items() if k in header}
        for n in range(5)
    ]
    report = import_rows(
        rows=parse_bytes(csv_bytes(rows, header=header), format="csv"), source="lcs"
    )
    assert len(report.errors) == 1
    assert messages(report)[0].startswith(
        "The header row is missing required columns: sex, postcode."
    )


def test_optional_columns_may_be_left_out(areas):
    header = [column for column in COLUMNS if column not in imports.OPTIONAL_COLUMNS]
    rows = [{k: v for k, v in make_row().items() if k in header}]
    report = import_rows(
        rows=parse_bytes(csv_bytes(rows, header=header), format="csv"), source="lcs"
    )
    assert not report.refused
    assert Involvement.objects.get().lead_professional is False


def test_extra_columns_are_ignored_and_headers_are_matched_loosely(areas):
    header = [f" {column.upper()} " for column in COLUMNS] + ["case_status"]
    rows = [{f" {k.upper()} ": v for k, v in make_row().items()} | {"case_status": "x" * 300}]
    report = import_rows(
        rows=parse_bytes(csv_bytes(rows, header=header), format="csv"), source="lcs"
    )
    assert not report.refused
    assert report.children.created == 1


def test_a_row_with_fewer_values_than_columns_is_missing_the_rest(areas):
    data = csv_bytes([make_row()]).rstrip(b"\n").rsplit(b",", 3)[0] + b"\n"
    report = import_rows(rows=parse_bytes(data, format="csv"), source="lcs")
    assert messages(report) == ["Row 2: started_on: Is missing: this column must have a value."]


def test_a_row_with_more_values_than_columns_is_refused(areas):
    data = csv_bytes([make_row()]).rstrip(b"\n") + b",surplus\n"
    report = import_rows(rows=parse_bytes(data, format="csv"), source="lcs")
    assert messages(report)[0].startswith("Row 2: The row has 22 values but the header has 21")


def test_blank_lines_are_skipped_but_still_counted_as_rows(areas):
    data = (
        csv_bytes([make_row()])
        + b"\n"
        + csv_bytes([make_row(involvement_ref="I2", date_of_birth="x")]).split(b"\n", 1)[1]
    )
    report = import_rows(rows=parse_bytes(data, format="csv"), source="lcs")
    assert messages(report) == ["Row 4: date_of_birth: Enter a real date in the format YYYY-MM-DD."]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{}", "The file must be a JSON list of objects, one per involvement, not an object."),
        (b'"rows"', "The file must be a JSON list of objects, one per involvement, not text."),
        (b"[]", "The file has no records."),
        (b"[1, 2", "The file is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "The file is not valid JSON"),
        (b'[{"child_ref": "\xff"}]', "Line 1 has bytes that are not UTF-8 text"),
        (b"[" + b"1" * 5000 + b"]", "The file is not valid JSON"),
    ],
)
def test_json_that_is_not_a_list_of_objects_is_refused(areas, content, expected):
    report = import_rows(rows=parse_bytes(content, format="json"), source="lcs")
    assert report.refused
    assert messages(report)[0].startswith(expected)


def test_json_items_are_numbered_from_one_and_values_must_be_text(areas):
    rows = [
        make_row(),
        "not an object",
        make_row(involvement_ref="I3") | {"given_names": ["Aoife"], "postcode": {"a": 1}},
        make_row(involvement_ref="I4") | {"sex": True},
    ]
    report = import_rows(rows=rows, source="lcs")
    assert messages(report) == [
        "Row 2: Must be a JSON object, not text.",
        "Row 3: given_names: Must be text, not a list.",
        "Row 3: postcode: Must be text, not an object.",
        "Row 4: sex: Must be text, not true or false.",
    ]


def test_json_numbers_are_taken_as_text_for_ids_and_the_nhs_number_and_true_means_yes(areas):
    row = make_row() | {"nhs_number": 9434765919, "lead_professional": True, "child_ref": 17}
    report = import_rows(rows=[row], source="lcs")
    assert not report.refused
    assert Child.objects.get().nhs_number == "9434765919"
    assert SourceRecord.objects.get().source_ref == "17"
    assert Involvement.objects.get().lead_professional is True


def test_a_phone_number_or_name_sent_as_a_json_number_is_refused(areas):
    # 2079460101 is 020 7946 0101 with its leading zero lost: no one could ring it.
    row = make_row() | {"practitioner_phone": 2079460101, "family_name": 42}
    report = import_rows(rows=[row], source="lcs")
    assert messages(report) == [
        "Row 1: family_name: Must be text, not a number.",
        "Row 1: practitioner_phone: Must be text, not a number.",
    ]


def test_json_text_that_no_database_can_store_is_refused(areas):
    report = import_rows(rows=[make_row() | {"given_names": "Ao\ud800ife"}], source="lcs")
    assert messages(report) == [
        "Row 1: given_names: Contains characters that are not valid Unicode text."
    ]


def test_json_null_is_empty(areas):
    report = import_rows(rows=[make_row() | {"ended_on": None, "given_names": None}], source="lcs")
    assert messages(report) == ["Row 1: given_names: Is missing: this column must have a value."]


@pytest.mark.parametrize("source", ["no spaces please", "", "x" * 101, "\ud800", "-lcs"])
def test_a_bad_source_name_is_refused_and_audited(areas, source):
    report = import_csv([make_row()], source=source)
    assert messages(report)[0].startswith("The source name must be")
    assert not Child.objects.exists()
    assert last_event().outcome == "refused"


# --- Writing: create, update, unchanged ----------------------------------------------------


def test_new_children_get_names_address_involvements_and_retention(areas):
    rows = [
        make_row(other_names="Smith, Aoife; Byrne , Aoife Mary ;", nhs_number="943 476 5919"),
        make_row(
            involvement_ref="I2",
            service="education",
            organisation="Example Primary School",
            started_on=ago(years=2),
            ended_on=ago(months=3),
        ),
        make_row(
            child_ref="C2",
            involvement_ref="I3",
            given_names="Jayden",
            date_of_birth=ago(years=3),
            sex="male",
            lead_professional="yes",
        ),
    ]
    report = import_csv(rows)
    assert (report.children.created, report.involvements.created) == (2, 3)
    child = child_of("C1")
    assert child.nhs_number == "9434765919"
    assert set(child.names.values_list("kind", "given_names", "family_name")) == {
        ("current", "Aoife", "Byrne"),
        ("previous", "Aoife", "Smith"),
        ("previous", "Aoife Mary", "Byrne"),
    }
    address = child.addresses.get()
    assert (address.postcode, address.local_authority.ons_code, address.moved_out_on) == (
        "NW1 8NP",
        CAMDEN,
        None,
    )
    involvement = child.involvements.get(source_id="I2")
    assert involvement.source == "lcs"
    assert involvement.organisation.kind == Organisation.Kind.PARTNER_AGENCY
    assert involvement.organisation.local_authority == areas[CAMDEN]
    assert child.involvements.get(source_id="I1").organisation == areas[CAMDEN]
    assert child.retention_ends_on == retention_ends_on(
        date_of_birth=child.date_of_birth,
        involvement_periods=child.involvements.values_list("started_on", "ended_on"),
    )
    assert child_of("C2").involvements.get().lead_professional
    assert_every_child_has_an_involvement()


def test_files_larger_than_one_query_chunk(areas):
    rows = [
        make_row(child_ref=f"C{n // 2}", involvement_ref=f"I{n}", address_since=ago(years=2))
        for n in range(2 * imports.QUERY_CHUNK + 10)
    ]
    first = import_rows(rows=rows, source="lcs")
    assert (first.children.created, first.involvements.created) == (
        imports.QUERY_CHUNK + 5,
        len(rows),
    )
    again = import_rows(rows=rows, source="lcs")
    assert (again.children.unchanged, again.involvements.unchanged) == (
        imports.QUERY_CHUNK + 5,
        len(rows),
    )
    assert_every_child_has_an_involvement()


def test_a_second_run_changes_nothing_but_confirms_every_involvement(areas):
    rows = [
        make_row(),
        make_row(involvement_ref="I2"),
        make_row(child_ref="C2", involvement_ref="I3"),
    ]
    import_csv(rows)
    before = register_counts()
    Involvement.objects.update(confirmed_at=timezone.now() - timedelta(days=30))
    report = import_csv(rows)
    assert (report.children.created, report.children.updated, report.children.unchanged) == (
        0,
        0,
        2,
    )
    assert (
        report.involvements.created,
        report.involvements.updated,
        report.involvements.unchanged,
    ) == (0, 0, 3)
    assert register_counts() == before
    assert not Involvement.objects.filter(
        confirmed_at__lt=timezone.now() - timedelta(days=1)
    ).exists()


def test_a_changed_involvement_is_updated_and_the_child_unchanged(areas):
    import_csv([make_row()])
    report = import_csv([make_row(practitioner_name="Sam Okoro", ended_on=ago(days=1))])
    assert (report.children.unchanged, report.involvements.updated) == (1, 1)
    involvement = Involvement.objects.get()
    assert (involvement.practitioner_name, involvement.ended_on) == (
        "Sam Okoro",
        TODAY - timedelta(days=1),
    )
    child = Child.objects.get()
    assert child.retention_ends_on == retention_ends_on(
        date_of_birth=child.date_of_birth,
        involvement_periods=[(involvement.started_on, involvement.ended_on)],
    )


def test_a_new_name_keeps_the_old_one_as_previous(areas):
    import_csv([make_row()])
    report = import_csv([make_row(family_name="Byrne-Okafor")])
    assert report.children.updated == 1
    assert set(Name.objects.values_list("kind", "family_name")) == {
        ("current", "Byrne-Okafor"),
        ("previous", "Byrne"),
    }
    # Changing back reuses the previous name rather than repeating it.
    import_csv([make_row()])
    assert set(Name.objects.values_list("kind", "family_name")) == {
        ("current", "Byrne"),
        ("previous", "Byrne-Okafor"),
    }
    assert import_csv([make_row()]).children.unchanged == 1


def test_a_newer_address_since_is_a_move_to_another_area(areas):
    import_csv([make_row()])
    moved_on = ago(months=1)
    report = import_csv(
        [
            make_row(
                address_line_1="42 Specimen Gardens",
                postcode="sw1p4df",
                local_authority=WESTMINSTER,
                address_since=moved_on,
            )
        ]
    )
    assert report.children.updated == 1
    old, new = Address.objects.order_by("moved_in_on")
    assert old.moved_out_on.isoformat() == moved_on
    assert (new.postcode, new.local_authority.ons_code, new.moved_out_on) == (
        "SW1P 4DF",
        WESTMINSTER,
        None,
    )
    # The source still sending the old address later is not a move back.
    assert import_csv([make_row()]).children.unchanged == 1


def test_the_same_address_since_with_another_address_corrects_it(areas):
    import_csv([make_row()])
    report = import_csv([make_row(address_line_1="1 Example Road, Flat 2")])
    assert report.children.updated == 1
    assert list(Address.objects.values_list("line_1", "moved_out_on")) == [
        ("1 Example Road, Flat 2", None)
    ]


def test_an_older_address_since_adds_a_past_address(areas):
    import_csv([make_row()])
    report = import_csv(
        [
            make_row(
                address_line_1="8 Placeholder Mews", postcode="NW5 2HB", address_since=ago(years=4)
            )
        ]
    )
    assert report.children.updated == 1
    past, current = Address.objects.order_by("moved_in_on")
    assert (past.line_1, past.moved_out_on) == ("8 Placeholder Mews", current.moved_in_on)
    assert current.moved_out_on is None
    assert (
        import_csv(
            [
                make_row(
                    address_line_1="8 Placeholder Mews",
                    postcode="NW5 2HB",
                    address_since=ago(years=4),
                )
            ]
        ).children.unchanged
        == 1
    )


def test_sex_unknown_does_not_overwrite_a_known_sex(areas):
    import_csv([make_row(sex="female")])
    assert import_csv([make_row(sex="unknown")]).children.unchanged == 1
    assert Child.objects.get().sex == "female"


def test_an_nhs_number_known_from_another_source_attaches_to_that_child(areas):
    import_csv([make_row(nhs_number="9434765919")], source="health")
    report = import_csv(
        [
            make_row(
                child_ref="EDU-9",
                involvement_ref="E1",
                service="education",
                organisation="Example School",
                nhs_number="9434765919",
            )
        ],
        source="education",
    )
    assert (report.children.created, report.children.updated) == (0, 1)
    assert Child.objects.count() == 1
    child = Child.objects.get()
    assert set(child.source_records.values_list("source", "source_ref")) == {
        ("health", "C1"),
        ("education", "EDU-9"),
    }
    assert child.involvements.count() == 2


def test_an_nhs_number_on_the_register_with_another_date_of_birth_is_refused(areas):
    import_csv([make_row(nhs_number="9434765919")], source="health")
    report = import_csv(
        [make_row(child_ref="X", nhs_number="9434765919", date_of_birth=ago(years=5))],
        source="education",
    )
    assert [(e.row, e.field) for e in report.errors] == [(2, "date_of_birth")]


def test_a_known_child_given_another_childs_nhs_number_is_refused(areas):
    import_csv(
        [
            make_row(nhs_number="9434765919"),
            make_row(
                child_ref="C2", involvement_ref="I2", nhs_number="9990000042", **other_child("C2")
            ),
        ]
    )
    report = import_csv([make_row(nhs_number="9990000042")])
    assert messages(report) == [
        "Row 2: nhs_number: Another child on the register has this NHS number: they may be the "
        "same child, and a data manager needs to merge the records first."
    ]


def test_two_child_refs_for_one_register_child_are_refused(areas):
    import_csv([make_row(nhs_number="9434765919")])
    report = import_csv(
        [make_row(), make_row(child_ref="C1-DUP", involvement_ref="I2", nhs_number="9434765919")]
    )
    assert [(e.row, e.field) for e in report.errors] == [(3, "child_ref")]


def test_an_involvement_held_for_another_child_is_refused_not_moved(areas):
    import_csv([make_row(), make_row(child_ref="C2", involvement_ref="I2")])
    report = import_csv([make_row(child_ref="C2", involvement_ref="I1")])
    assert [(e.row, e.field) for e in report.errors] == [(2, "involvement_ref")]
    assert child_of("C1").involvements.get().source_id == "I1"


def test_an_open_lead_professional_on_the_register_blocks_a_second(areas):
    import_csv([make_row(nhs_number="9434765919", lead_professional="yes")], source="health")
    row = make_row(child_ref="EDU", involvement_ref="E2", nhs_number="9434765919")
    report = import_csv([row | {"lead_professional": "yes"}], source="education")
    assert [(e.row, e.field) for e in report.errors] == [(2, "lead_professional")]
    assert not import_csv([row], source="education").refused


def test_the_lead_professional_can_move_between_involvements_in_one_file(areas):
    import_csv([make_row(lead_professional="yes"), make_row(involvement_ref="I2")])
    report = import_csv(
        [make_row(lead_professional="no"), make_row(involvement_ref="I2", lead_professional="yes")]
    )
    assert report.involvements.updated == 2
    assert Involvement.objects.get(lead_professional=True).source_id == "I2"


def test_organisations_are_matched_in_the_area_or_created_as_partner_agencies(areas):
    existing = make_partner(area=areas[CAMDEN], name="Camden Health Visiting")
    make_partner(area=areas[WESTMINSTER], name="Example School")
    rows = [
        make_row(organisation="camden  health visiting"),
        make_row(involvement_ref="I2", organisation="Example School"),
        make_row(involvement_ref="I3", organisation="EXAMPLE SCHOOL"),
    ]
    import_csv(rows)
    assert Involvement.objects.get(source_id="I1").organisation == existing
    created = Involvement.objects.get(source_id="I2").organisation
    assert (created.kind, created.local_authority, created.name) == (
        "partner_agency",
        areas[CAMDEN],
        "Example School",
    )
    assert Involvement.objects.get(source_id="I3").organisation == created


def test_a_dry_run_counts_the_same_and_writes_nothing(areas):
    import_csv([make_row()])
    rows = [
        make_row(family_name="Murray"),
        make_row(involvement_ref="I2", family_name="Murray", organisation="New Org"),
        # Not like C1 (whose previous name is now Aoife Byrne): created, not held.
        make_row(child_ref="C2", involvement_ref="I3", given_names="Zofia", family_name="Nowak"),
    ]
    before = register_counts()
    dry = import_csv(rows, dry_run=True)
    assert register_counts() == before
    assert not Organisation.objects.filter(name="New Org").exists()
    real = import_csv(rows)
    assert (dry.children, dry.involvements) == (real.children, real.involvements)
    assert (real.children.created, real.children.updated, real.involvements.created) == (1, 1, 2)


def test_a_database_failure_part_way_writes_nothing(areas, monkeypatch):
    import_csv([make_row()])
    before = register_counts()

    def fail(**_):
        raise IntegrityError("simulated")

    monkeypatch.setattr(imports, "_write_involvements", fail)
    report = import_csv(
        [make_row(family_name="Murray"), make_row(child_ref="C2", involvement_ref="I2")]
    )
    assert report.refused
    assert messages(report)[0].startswith("The register changed while the file was being imported")
    assert register_counts() == before
    assert Name.objects.get().family_name == "Byrne"
    assert last_event().outcome == "refused"


# --- Audit and logs ----------------------------------------------------------------------


def test_every_import_is_one_audit_event_with_counts_and_no_child_data(areas, caplog):
    caplog.set_level(logging.DEBUG)
    rows = [make_row(nhs_number="9434765919", other_names="Smith, Aoife")]
    first_sequence = events().count()
    import_csv(rows, dry_run=True)
    report = import_csv(rows)
    import_csv([make_row(involvement_ref="I2", date_of_birth="nope")])
    recorded = list(events()[first_sequence:])
    assert [(e.action, e.outcome) for e in recorded] == [
        (Action.RECORD_IMPORT, "dry_run"),
        (Action.RECORD_IMPORT, "committed"),
        (Action.RECORD_IMPORT, "refused"),
    ]
    committed = recorded[1]
    assert committed.detail == {
        "source": "lcs",
        "file_sha256": report.file_sha256,
        "rows": 1,
        "dry_run": False,
        "errors": 0,
        "children_created": 1,
        "children_updated": 0,
        "children_unchanged": 0,
        "involvements_created": 1,
        "involvements_updated": 0,
        "involvements_unchanged": 0,
        "held": 0,
    }
    assert committed.children == []
    assert recorded[2].detail["errors"] == 1
    assert recorded[0].detail["dry_run"] is True
    trail = json.dumps([(e.detail, e.criteria, e.children, e.reason_text) for e in recorded])
    for secret in ("Aoife", "Byrne", "Smith", "9434765919", "NW1 8NP", "Example Road", "Grace"):
        assert secret not in trail
        assert secret not in caplog.text


def test_an_import_through_a_request_is_audited_as_its_user(areas):
    request = RequestFactory().post("/api/v1/involvements")
    request.user = make_user(role=Role.DATA_MANAGER, organisation=areas[CAMDEN])
    import_rows(rows=[make_row()], source="lcs", request=request)
    event = last_event()
    assert (event.action, event.outcome) == (Action.RECORD_IMPORT, "committed")
    assert event.actor_username == request.user.username


def test_the_file_hash_is_the_sha256_of_its_bytes(areas, tmp_path):
    import hashlib

    path = tmp_path / "file.csv"
    path.write_bytes(csv_bytes([make_row()]))
    report = import_rows(rows=parse_file(path), source="lcs")
    assert report.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


# --- Search keys --------------------------------------------------------------------------


def test_imported_names_and_addresses_carry_their_search_keys(areas):
    import_csv([make_row(other_names="O'Neill-Byrne, Aoife Mary")])
    child = child_of("C1")
    keys = {
        (n.kind, n.family_key, n.given_key, n.family_sound, n.date_of_birth)
        for n in child.names.all()
    }
    assert keys == {
        ("current", "byrne", "aoife", phonetic("byrne"), child.date_of_birth),
        ("previous", "oneillbyrne", "aoife", phonetic("oneillbyrne"), child.date_of_birth),
    }
    assert child.addresses.get().outward_code == "NW1"


def test_a_corrected_date_of_birth_moves_every_name_to_the_new_search_block(areas):
    import_csv([make_row(other_names="Smith, Aoife")])
    corrected = ago(years=5)
    import_csv([make_row(other_names="Smith, Aoife", date_of_birth=corrected)])
    child = child_of("C1")
    assert child.date_of_birth.isoformat() == corrected
    assert {name.date_of_birth.isoformat() for name in child.names.all()} == {corrected}
    assert find_children(
        family_name="Smith", given_name="Aoife", date_of_birth=child.date_of_birth
    ).child_ids == [child.pk]


def test_a_new_postcode_moves_the_address_to_the_new_outward_code(areas):
    import_csv([make_row()])
    import_csv([make_row(postcode="NW5 1TL")])
    assert child_of("C1").addresses.get().outward_code == "NW5"
