"""The hourly lookup limit holds under truly concurrent requests of one user: counting and
appending are serialised per user inside the lookup's transaction (children.ratelimit)."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test import Client

from accounts.models import Role
from tests.factories import make_area, make_child, make_user

LIMIT = 5
REQUESTS = 24


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's write lock serialises whole transactions already; the race is PostgreSQL's",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_searches_of_one_user_get_exactly_the_limit(settings):
    settings.LOOKUPS_PER_HOUR = LIMIT
    area = make_area()
    make_child(area=area, family_name="Okafor")
    user = make_user(role=Role.DATA_MANAGER, organisation=area)
    clients = []
    for _ in range(REQUESTS):
        client = Client()
        client.force_login(user)
        clients.append(client)
    barrier = threading.Barrier(REQUESTS)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def search(client: Client) -> None:
        try:
            barrier.wait()
            response = client.post(
                "/search/",
                {"family_name": "Okafor", "dob_day": "2", "dob_month": "3", "dob_year": "2015"},
            )
            statuses.append(response.status_code)
        except BaseException as error:  # reported below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=search, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert Counter(statuses) == {200: LIMIT, 429: REQUESTS - LIMIT}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_the_count_refuses_to_run_outside_the_lookups_transaction():
    from children.ratelimit import NotInLookupTransaction, lookup_allowed

    # In autocommit the lock would be released at once, and the count would race again.
    with pytest.raises(NotInLookupTransaction):
        lookup_allowed(user=make_user())
