"""The auditors' reports and exports with a read replica (audit.oversight.report_reads, ADR
0009): the report's own audit event is written and committed on the primary before the
report is read from the replica; a replica that is down changes nothing the auditor sees;
lookups and sign-in never read from it."""

import logging
from datetime import date

import pytest
from django.db import transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from audit.models import Action
from audit.oversight import report_reads
from audit.services import record
from signposting import db_router
from tests.audit.helpers import last_event
from tests.factories import PASSWORD, make_area, make_child, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    """A child looked at, by a practitioner, and an auditor signed in."""
    area = make_area()
    practitioner = make_user(role=Role.PRACTITIONER, organisation=area)
    child = make_child(area=area)
    request = RequestFactory().get("/")
    request.user = practitioner
    record(request=request, action=Action.SEARCH, children=[child], result_count=1)
    record(request=request, action=Action.RECORD_VIEW, children=[child], reason_code="assessment")
    client = Client()
    client.force_login(make_user(role=Role.AUDITOR, organisation=area))
    return {"client": client, "child": child.public_id, "practitioner": practitioner}


REPORTS = {
    # name: (address, the report's own event)
    "event list": (lambda s: "/audit/", Action.AUDIT_SEARCH),
    "event export": (lambda s: "/audit/export/", Action.AUDIT_EXPORT),
    "child access": (lambda s: f"/audit/children/{s['child']}/", Action.ACCESS_REPORT),
    "child access printed": (
        lambda s: f"/audit/children/{s['child']}/?format=print",
        Action.ACCESS_REPORT,
    ),
    "child access CSV": (
        lambda s: f"/audit/children/{s['child']}/?format=csv",
        Action.AUDIT_EXPORT,
    ),
    "user activity": (
        lambda s: f"/audit/users/{s['practitioner'].pk}/",
        Action.ACTIVITY_REPORT,
    ),
}


@pytest.mark.parametrize("report", REPORTS)
def test_the_reports_event_is_committed_on_the_primary_before_the_replica_is_read(
    report, replica, setting, monkeypatch
):
    address, action = REPORTS[report]
    at_the_read = {}
    read_on_replica = report_reads.read_on_replica

    def spy(read):
        # The moment the report is about to be read from the replica.
        at_the_read["event"] = last_event()
        at_the_read["transaction_open"] = db_router._in_primary_transaction()
        return read_on_replica(read)

    monkeypatch.setattr(report_reads, "read_on_replica", spy)
    with CaptureQueriesContext(replica) as on_replica:
        response = setting["client"].get(address(setting))

    assert response.status_code == 200
    event = at_the_read["event"]
    assert (event.action, event.detail.get("read_from")) == (action, "replica")
    # Committed already: no transaction of the application's is open on the primary (and
    # the event was written in a durable block, which commits or raises).
    assert at_the_read["transaction_open"] is False
    # It cannot know how many rows the read would find.
    assert event.result_count is None
    assert last_event() == event
    # The report itself was read from the replica.
    assert any("audit_auditevent" in query["sql"] for query in on_replica.captured_queries)


@pytest.mark.parametrize("report", REPORTS)
def test_with_the_replica_down_a_report_reads_and_records_as_on_one_server(
    report, unreachable_replica, setting, caplog
):
    caplog.set_level(logging.WARNING, logger="signposting.db_router")
    address, action = REPORTS[report]
    response = setting["client"].get(address(setting))
    assert response.status_code == 200
    event = last_event()
    assert event.action == action and "read_from" not in event.detail
    assert event.result_count is not None
    assert "reads go to the primary" in caplog.text


def test_a_report_read_from_the_replica_holds_what_was_committed_before_it(replica, setting):
    address = f"/audit/children/{setting['child']}/?format=csv"
    rows = setting["client"].get(address).content.decode().splitlines()[1:]
    actions = [row.split(",")[2] for row in rows]
    # Newest first: the export's own event, committed before the read (a real standby
    # shows it once it has replayed it), then the practitioner's view and search, and the
    # record's creation.
    assert actions == ["Audit export", "Record view", "Search", "Record created"]


def test_the_event_first_may_not_sit_inside_a_transaction(replica, setting):
    """Durable: were the report's event inside a longer transaction, it would not be
    committed before the read, and the read could outlive it."""
    request = RequestFactory().get("/")
    request.user = setting["practitioner"]
    setattr(request, report_reads._IN_STEPS, True)
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        report_reads.audited_read(request, read=lambda: [], event={"action": Action.ACCESS_REPORT})


def test_lookups_and_sign_in_never_read_from_the_replica(replica):
    area = make_area()
    make_child(
        area=area, given_names="Keira", family_name="Fitzgerald", date_of_birth=date(2016, 5, 4)
    )
    user = make_user(role=Role.PRACTITIONER, organisation=area)
    client = Client()
    with CaptureQueriesContext(replica) as on_replica:
        client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
        client.force_login(user)
        searched = client.post(
            "/search/",
            {
                "family_name": "Fitzgerald",
                "given_name": "Keira",
                "dob_day": "4",
                "dob_month": "5",
                "dob_year": "2016",
            },
        )
        assert searched.status_code == 200 and "Keira" in searched.content.decode()
        auditor = Client()
        auditor.force_login(make_user(role=Role.AUDITOR, organisation=area))
        # The auditor's search of the register is a lookup too.
        found = auditor.post(
            "/audit/children/",
            {
                "family_name": "Fitzgerald",
                "given_name": "Keira",
                "dob_day": "4",
                "dob_month": "5",
                "dob_year": "2016",
            },
        )
        assert found.status_code == 200
    assert on_replica.captured_queries == []
