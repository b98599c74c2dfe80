"""Importing records, property-based: whatever arrives, no traceback and no partial write.

Either the whole input commits (and then importing it again changes nothing) or the
register is exactly as it was; every import is one audit event either way.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from children.imports import COLUMNS, Outcome, import_rows, parse_bytes
from children.models import Address, Child, Involvement, Name, SourceRecord
from tests.audit.helpers import events
from tests.factories import make_area

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
AREAS = ("E09000007", "E09000033")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def areas():
    return [make_area(code=code) for code in AREAS]


def register_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Child, Name, Address, Involvement, SourceRecord)
    }


def iso(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


# Values that are mostly right, with the edges that matter: a few refs so that rows and
# examples collide, dates around "today" and the 18th birthday, valid and invalid codes.
refs = st.sampled_from(["C1", "C2", "C3", "c1", " C1 ", "C4"])
involvement_refs = st.sampled_from(["I1", "I2", "I3", "I4", "I5", "I6", "i1"])
nhs_numbers = st.sampled_from(["", "9434765919", "943 476 5919", "9990000042", "9434765918"])
day_counts = st.integers(min_value=-40, max_value=20 * 366)
dates = st.one_of(day_counts.map(iso), st.sampled_from(["", "2020-02-30", "01/02/2020"]))
birth_dates = st.one_of(
    st.integers(min_value=0, max_value=17 * 366).map(iso),
    st.sampled_from([iso(18 * 365 + 4), iso(18 * 365 + 5), iso(-1), "1999-12-31"]),
)
valid_values = {
    "child_ref": refs,
    "nhs_number": nhs_numbers,
    "given_names": st.sampled_from(["Aoife", "Eilidh Anne", "Zoë", "Ana-María", ""]),
    "family_name": st.sampled_from(["Byrne", "Smith", "Ó Súilleabháin", "Nowak"]),
    "other_names": st.sampled_from(["", "Byrne, Aoife", "Smith, Eilidh; Nowak, Ana", "Smith"]),
    "date_of_birth": birth_dates,
    "sex": st.sampled_from(["female", "male", "other", "unknown", "Female", "f"]),
    "address_line_1": st.sampled_from(["1 Example Road", "42 Specimen Gardens", "Flat 3, 2 Mews"]),
    "postcode": st.sampled_from(["NW1 8NP", "sw1p4df", "W2 5EH", "NOPE"]),
    "local_authority": st.sampled_from([*AREAS, "E09999999"]),
    "address_since": dates,
    "involvement_ref": involvement_refs,
    "service": st.sampled_from(["social_care", "education", "sexual_health", "gp", "unknown"]),
    "organisation": st.sampled_from(["Example School", "example  school", "Camden", "A Clinic"]),
    "practitioner_name": st.sampled_from(["", "Grace Adeyemi"]),
    "practitioner_job_title": st.sampled_from(["", "Social worker"]),
    "practitioner_phone": st.sampled_from(["", "020 7946 0101"]),
    "practitioner_email": st.sampled_from(["", "grace@example.org", "not an email"]),
    "started_on": dates,
    "ended_on": st.one_of(st.just(""), dates),
    "lead_professional": st.sampled_from(["no", "yes", "", "YES", "maybe"]),
}
big_text = st.builds(
    lambda character, length: character * length,
    st.characters(),
    st.integers(min_value=0, max_value=300_000),
)
any_text = st.one_of(
    st.text(max_size=40), big_text, st.sampled_from(["\x00", "a\x00b", "\ud800", "\r\n", '"'])
)
json_values = st.one_of(
    any_text,
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def rows(draw, *, junk: st.SearchStrategy) -> dict:
    """A row whose every value is plausible, with some replaced by junk, dropped or added."""
    row = {column: draw(strategy) for column, strategy in valid_values.items()}
    for column in draw(st.lists(st.sampled_from(COLUMNS), max_size=4, unique=True)):
        if draw(st.booleans()):
            del row[column]
        else:
            row[column] = draw(junk)
    row.update(draw(st.dictionaries(st.text(max_size=10), junk, max_size=2)))
    return row


def assert_imported_or_untouched(report, before: dict[str, int], recorded: int) -> None:
    assert events().count() == recorded + 1  # every import is audited, refused ones too
    event(f"outcome: {report.outcome}")  # see --hypothesis-show-statistics
    if report.refused:
        assert report.errors
        assert register_counts() == before
        return
    assert report.outcome == Outcome.COMMITTED
    assert not Child.objects.filter(involvements__isnull=True).exists()
    assert not Child.objects.filter(names__isnull=True).exists()
    assert not Child.objects.filter(addresses__isnull=True).exists()
    after = register_counts()
    assert after["Child"] == before["Child"] + report.children.created
    assert after["Involvement"] == before["Involvement"] + report.involvements.created
    involvements = report.involvements
    held = sum(len(group.rows) for group in report.held)  # rows waiting for review
    assert (
        involvements.created + involvements.updated + involvements.unchanged + held == report.rows
    )


@st.composite
def plausible_files(draw) -> list[dict]:
    """Files a source system might really send: rows about one child agree, dates are in
    order, and now and then a child moves or two children clash (NHS number, lead)."""
    child_refs = draw(
        st.lists(st.sampled_from(["C1", "C2", "C3", "C4"]), min_size=1, max_size=3, unique=True)
    )
    children = {}
    for ref in child_refs:
        born = draw(st.integers(min_value=0, max_value=17 * 365))
        children[ref] = {
            "child_ref": ref,
            "nhs_number": draw(st.sampled_from(["", "", "9434765919", "9990000042", "9990000077"])),
            "given_names": draw(st.sampled_from(["Aoife", "Eilidh Anne", "Zoë"])),
            "family_name": draw(st.sampled_from(["Byrne", "Smith", "Ó Súilleabháin"])),
            "other_names": draw(st.sampled_from(["", "Byrne, Aoife", "Smith, Eilidh; Nowak, Ana"])),
            "date_of_birth": iso(born),
            "sex": draw(st.sampled_from(["female", "male", "other", "unknown"])),
            "address_line_1": draw(st.sampled_from(["1 Example Road", "42 Specimen Gardens"])),
            "postcode": draw(st.sampled_from(["NW1 8NP", "sw1p4df"])),
            "local_authority": draw(st.sampled_from(AREAS)),
            "address_since": iso(draw(st.integers(min_value=0, max_value=born))),
        }
    content = []
    for ref in draw(
        st.lists(
            st.sampled_from(["I1", "I2", "I3", "I4", "I5", "I6"]),
            min_size=1,
            max_size=6,
            unique=True,
        )
    ):
        started = draw(st.integers(min_value=0, max_value=3000))
        row = dict(children[draw(st.sampled_from(child_refs))])
        if draw(st.integers(min_value=0, max_value=4)) == 0:  # a move
            row |= {
                "address_line_1": "9 Moved Close",
                "local_authority": draw(st.sampled_from(AREAS)),
                "address_since": iso(draw(st.integers(min_value=0, max_value=100))),
            }
        row |= {
            "involvement_ref": ref,
            "service": draw(st.sampled_from(["social_care", "education", "sexual_health", "gp"])),
            "organisation": draw(st.sampled_from(["Example School", "EXAMPLE school", "A Clinic"])),
            "practitioner_name": draw(st.sampled_from(["", "Grace Adeyemi", "Sam Okoro"])),
            "started_on": iso(started),
            "ended_on": draw(st.sampled_from(["", iso(max(started - 30, 0))])),
            "lead_professional": draw(st.sampled_from(["no", "no", "yes"])),
        }
        content.append(row)
    return content


def import_checked(content: list[dict], *, source: str):
    """Imports after a dry run, checks both, and checks that a repeat changes nothing."""
    before, recorded = register_counts(), events().count()
    dry = import_rows(rows=content, source=source, dry_run=True)
    assert register_counts() == before
    report = import_rows(rows=content, source=source)
    assert_imported_or_untouched(report, before, recorded + 1)
    assert dry.refused == report.refused
    if not report.refused:
        assert (dry.children, dry.involvements, dry.held) == (
            report.children,
            report.involvements,
            report.held,
        )
        again = import_rows(rows=content, source=source)
        assert (again.children.created, again.children.updated) == (0, 0)
        assert (again.involvements.created, again.involvements.updated) == (0, 0)
    return report


@FUZZ
@given(
    first=plausible_files(),
    second=plausible_files(),
    sources=st.sampled_from([("a", "a"), ("a", "b")]),
)
def test_plausible_files_commit_whole_alike_their_dry_run_and_are_idempotent(
    areas, first, second, sources
):
    # Each example starts from the same register: its writes are rolled back at the end.
    with transaction.atomic():
        import_checked(first, source=sources[0])
        import_checked(second, source=sources[1])  # updates, moves, attaches by NHS number
        transaction.set_rollback(True)


@FUZZ
@given(content=st.lists(rows(junk=json_values), max_size=6))
def test_json_rows_commit_whole_or_not_at_all_and_again_change_nothing(areas, content):
    before, recorded = register_counts(), events().count()
    report = import_rows(rows=content, source="fuzz")
    assert_imported_or_untouched(report, before, recorded)
    if not report.refused:
        again = import_rows(rows=content, source="fuzz")
        assert (again.children.created, again.children.updated) == (0, 0)
        assert (again.involvements.created, again.involvements.updated) == (0, 0)


@FUZZ
@given(content=st.lists(rows(junk=any_text), min_size=1, max_size=6))
def test_csv_rows_commit_whole_or_not_at_all(areas, content):
    out = io.StringIO()
    header = list(dict.fromkeys(key for row in content for key in row))
    csv.DictWriter(out, fieldnames=header, restval="").writeheader()
    csv.DictWriter(out, fieldnames=header, restval="").writerows(content)
    data = out.getvalue().encode("utf-8", "surrogatepass")
    before, recorded = register_counts(), events().count()
    dry = import_rows(rows=parse_bytes(data, format="csv"), source="fuzz", dry_run=True)
    assert register_counts() == before
    report = import_rows(rows=parse_bytes(data, format="csv"), source="fuzz")
    assert events().count() == recorded + 2
    assert_imported_or_untouched(report, before, recorded + 1)
    assert dry.refused == report.refused
    if not report.refused:
        assert (dry.children, dry.involvements, dry.held) == (
            report.children,
            report.involvements,
            report.held,
        )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(max_size=2_000), as_json=st.booleans())
def test_any_bytes_are_reported_never_a_traceback(areas, data, as_json):
    before, recorded = register_counts(), events().count()
    report = import_rows(rows=parse_bytes(data, format="json" if as_json else "csv"), source="fuzz")
    assert report.refused
    assert all(str(error) for error in report.errors)
    assert register_counts() == before
    assert events().count() == recorded + 1


@FUZZ
@given(content=st.recursive(json_values, lambda inner: st.lists(inner, max_size=3), max_leaves=8))
def test_any_json_document_is_reported_never_a_traceback(areas, content):
    before, recorded = register_counts(), events().count()
    report = import_rows(rows=content, source="fuzz")
    assert report.refused
    assert register_counts() == before
    assert events().count() == recorded + 1
