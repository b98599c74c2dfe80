"""audit.services.record: what an event holds, and that it commits with the caller or not at all."""

import pytest
from django.db import connection, transaction
from django.test import RequestFactory

from accounts.models import Role
from audit import chain
from audit.models import GENESIS_HASH, Action
from audit.services import record
from tests.audit.helpers import events, events_after, head_sequence, seal, seal_head_position, seals
from tests.factories import make_area, make_user

pytestmark = pytest.mark.django_db


def signed_in_request(user, **extra):
    request = RequestFactory().get("/", **extra)
    request.user = user
    request.request_id = "req-0123456789"
    return request


def test_event_keeps_the_actor_as_values_at_the_time():
    area = make_area(code="E09000033", name="Westminster")
    user = make_user(role=Role.PRACTITIONER, organisation=area, email="sam@example.org")
    event = record(
        request=signed_in_request(user, REMOTE_ADDR="192.0.2.10"),
        action=Action.SEARCH,
        children=["7KQ-4M2-PX9", "AAA-BBB-CC1"],
        criteria={"family_name": "Smith", "date_of_birth": "2015-03-02"},
        result_count=2,
    )
    assert event.actor_id == user.pk
    assert event.actor_username == "sam@example.org"
    assert event.actor_role == "practitioner"
    assert event.actor_organisation == "Westminster"
    assert event.actor_organisation_code == "E09000033"
    assert event.children == ["7KQ-4M2-PX9", "AAA-BBB-CC1"]
    assert event.criteria == {"family_name": "Smith", "date_of_birth": "2015-03-02"}
    assert event.result_count == 2
    assert event.client_ip == "192.0.2.10"
    assert event.request_id == "req-0123456789"
    assert sorted(event.child_links.values_list("child_public_id", flat=True)) == [
        "7KQ-4M2-PX9",
        "AAA-BBB-CC1",
    ]


def test_client_ip_follows_the_trusted_proxy_rule(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = signed_in_request(
        make_user(), REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.66"
    )
    assert record(request=request, action=Action.SEARCH).client_ip == "192.0.2.10"


def test_events_chain_one_after_another():
    start = head_sequence()
    seal()
    head = seal_head_position()
    first = record(request=None, action=Action.SEARCH)
    second = record(request=None, action=Action.RECORD_VIEW, children=["7KQ-4M2-PX9"])
    assert start < first.sequence < second.sequence
    seal()
    first_seal, second_seal = (seals().get(event=event) for event in (first, second))
    assert (first_seal.position, second_seal.position) == (head + 1, head + 2)
    assert second_seal.prev_hash == first_seal.hash
    if head == 0:
        assert first_seal.prev_hash == GENESIS_HASH
    stored = events().get(sequence=second.sequence)
    content = chain.body({name: getattr(stored, name) for name in chain.HASHED_FIELDS})
    assert chain.link(
        prev_hash=first_seal.hash,
        position=second_seal.position,
        number=second.sequence,
        content=content,
    ) == (second_seal.hash)


def test_an_event_rolls_back_with_its_callers_transaction_leaving_no_gap_in_the_chain():
    start = head_sequence()
    seal()
    head = seal_head_position()
    with pytest.raises(RuntimeError), transaction.atomic():
        record(request=None, action=Action.SEARCH)
        raise RuntimeError("the read failed")
    assert head_sequence() == start
    assert not events_after(start).exists()
    # Its number may be used up (PostgreSQL's sequence), its place in the chain is not.
    event = record(request=None, action=Action.SEARCH)
    assert event.sequence > start
    seal()
    assert seals().get(event=event).position == head + 1


def test_nul_bytes_and_huge_values_are_made_safe_for_both_databases():
    event = record(
        request=None,
        action=Action.SEARCH,
        criteria={"family_name": "Sm\x00ith", "notes": "x" * 100_000, "n": 3, "flag": None},
        reason_text="\x00" + "y" * 10_000,
    )
    event.refresh_from_db()
    assert event.criteria["family_name"] == "Smith"
    assert len(event.criteria["notes"]) == 500
    assert event.criteria["n"] == 3
    assert len(event.reason_text) == 2_000


def test_anonymous_events_have_no_actor():
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    event = record(request=request, action=Action.ACCESS_DENIED, outcome="denied")
    assert (event.actor_id, event.actor_username, event.actor_role) == (None, "", "")


def test_a_platform_operator_is_recorded_as_operator():
    event = record(request=signed_in_request(make_user(superuser=True)), action=Action.SEARCH)
    assert event.actor_role == "operator"


def test_sign_in_sign_out_and_failures_are_recorded(client):
    user = make_user(email="sam@example.org")
    start = head_sequence()
    client.post("/accounts/login/", {"username": "sam@example.org", "password": "wrong-password"})
    client.post("/accounts/login/", {"username": "nobody@example.org", "password": "hunter2-xx"})
    client.post(
        "/accounts/login/", {"username": "sam@example.org", "password": "a-long-test-password-42"}
    )
    client.post("/accounts/logout/")
    new = list(events_after(start))
    assert [e.action for e in new] == ["sign_in_failed", "sign_in_failed", "sign_in", "sign_out"]
    known, unknown, signed_in, signed_out = new
    assert known.actor_id is None
    assert known.detail == {
        "target_account_exists": True,
        "target_user_id": user.pk,
        "target_username": "sam@example.org",
    }
    # A string typed as a username may be a password: unknown ones are not kept.
    assert unknown.detail == {"target_account_exists": False}
    assert "nobody" not in str(unknown.__dict__)
    assert signed_in.actor_id == signed_out.actor_id == user.pk


def test_a_lockout_is_recorded(client):
    make_user(email="sam@example.org")
    start = head_sequence()
    for _ in range(5):
        client.post("/accounts/login/", {"username": "sam@example.org", "password": "wrong-pass"})
    actions = list(events_after(start).values_list("action", flat=True))
    assert actions.count("sign_in_failed") == 5
    # django-axes announces the lockout while handling the fifth failure.
    assert actions.count("lockout") == 1
    assert "lockout" in actions[-2:]
    lockout = events_after(start).filter(action="lockout").get()
    assert lockout.detail["target_username"] == "sam@example.org"
    assert lockout.outcome == "denied"


def test_the_lookup_count_the_index_and_the_list_of_lookups_agree():
    from audit import selectors
    from audit.models import AuditEvent  # noqa: TID251 (reads the index definition)

    index = next(i for i in AuditEvent._meta.indexes if i.name == "audit_lookups_by_actor")
    in_index = set(dict(index.condition.children)["action__in"])
    assert in_index == {str(action) for action in selectors.LOOKUPS}
    for action in selectors.LOOKUPS:
        assert f"'{action}'" in selectors._LOOKUPS_SQL


class _Statements:
    """Each statement Django sends, with whether a transaction was open around it."""

    def __init__(self):
        self.seen: list[tuple[str, bool]] = []

    def __call__(self, execute, sql, params, many, context):
        self.seen.append((sql.split("(")[0].strip(), connection.in_atomic_block))
        return execute(sql, params, many, context)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite numbers and seals in several statements"
)
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_an_event_with_no_signed_in_actor_is_one_statement_of_its_own():
    from audit.models import AuditEventChild, UnsealedEvent  # noqa: TID251 (its rows checked)

    statements = _Statements()
    with connection.execute_wrapper(statements):
        event = record(request=None, action=Action.SEARCH, children=["7KQ-4M2-PX9"])
    assert statements.seen == [("SELECT * FROM audit_append", False)]
    # Committed at once, with its child link and its place in the sealer's queue.
    connection.close()  # a new session sees only what committed
    assert AuditEventChild.objects.filter(event_id=event.id).count() == 1
    assert UnsealedEvent.objects.filter(event_id=event.id).exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_signed_in_actors_event_commits_with_its_lookup_time_rules():
    user = make_user(role=Role.PRACTITIONER, organisation=make_area())
    statements = _Statements()
    with connection.execute_wrapper(statements):
        record(request=signed_in_request(user), action=Action.SEARCH, children=["7KQ-4M2-PX9"])
    # The rules read before the append and write after it, in the same transaction.
    appends = [
        in_transaction
        for sql, in_transaction in statements.seen
        if "audit_append" in sql or "audit_auditevent" in sql
    ]
    assert appends and all(appends)
    assert sum(in_transaction for _, in_transaction in statements.seen) > 1
